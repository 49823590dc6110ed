/*
 * test_markup.c - is-xml, contains-xml, is-html and contains-html on
 * well-formed and broken markup, in prose and alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check_fixture.h"

static void test_is_xml(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - is-xml\n", NULL);
    fixture_expect(&f, "  <a x=\"1\"><b/>text &amp; more</a>\n", true,
                   "expected to be well-formed XML; found a well-formed "
                   "document");
    fixture_expect(&f, "<?xml version=\"1.0\"?><r><é>ü</é></r>", true, NULL);
    fixture_expect(&f, "<a><b></a>", false,
                   "expected to be well-formed XML; found mismatched tag at "
                   "line 1, column 9 in '<a><b></a>'");
    fixture_expect(&f, "<a x=1/>", false, NULL);
    fixture_expect(&f, "<a/><b/>", false, NULL); /* two roots */
    fixture_expect(&f, "Here: <a/>", false, NULL);
    fixture_expect(&f, "", false, NULL);
    fixture_expect(&f, "<a>&undefined;</a>", false, NULL);
    /* entity expansion is bounded: a billion laughs is refused */
    fixture_expect(&f,
                   "<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\">"
                   "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
                   "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
                   "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">"
                   "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
                   "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">"
                   "<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">]>"
                   "<l>&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;</l>",
                   false, NULL);
    fixture_teardown(&f);
}

static void test_contains_xml(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - contains-xml\n", NULL);
    fixture_expect(&f,
                   "Sure! <answer><city>Paris</city></answer> Hope it "
                   "helps.",
                   true,
                   "expected to contain well-formed XML; found an element at "
                   "offset 6 in '<answer><city>Paris</city></answer> Hope it "
                   "helps.'");
    fixture_expect(&f, "a < b and <broken><x></broken>", false,
                   "expected to contain well-formed XML; found no well-formed "
                   "element (2 tried) in 'a < b and <broken><x></broken>'");
    fixture_expect(&f, "```xml\n<a>1</a>\n```", true, NULL);
    fixture_teardown(&f);
    check_one("checks:\n  - not-contains-xml\n", NULL, "plain text", true,
              NULL);
}

static void test_is_html(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - is-html\n", NULL);
    fixture_expect(&f,
                   "<!DOCTYPE html><html><head><title>T</title></head><body>"
                   "<p class=x>one<p>two<br><img src=\"a.png\" alt=''>"
                   "<ul><li>a<li>b</ul><!-- note --></body></html>",
                   true, NULL);
    fixture_expect(&f, "<div><span>a</span></div>", true,
                   "expected to be well-formed HTML; found markup at offset "
                   "0: '<div><span>a</span></div>'");
    fixture_expect(&f, "<script>if (a < b && c > d) x();</script>", true, NULL);
    fixture_expect(&f, "<my-widget><svg><path d=\"M0\"/></svg></my-widget>",
                   true, NULL);
    fixture_expect(&f, "<div><span>a</div></span>", false,
                   "expected to be well-formed HTML; found </div> where "
                   "<span> (offset 5) is open at offset 12 in '<div><span>a"
                   "</div></span>'");
    fixture_expect(&f, "<div>open", false, NULL);
    fixture_expect(&f, "<div>a</div>", true, NULL);
    fixture_expect(&f, "<div>unclosed</div", false, NULL);
    fixture_expect(&f, "<section>x</section> trailing text", false, NULL);
    fixture_expect(&f, "<foo>x</foo>", false,
                   "expected to be well-formed HTML; found <foo>, which is no "
                   "HTML element at offset 0 in '<foo>x</foo>'");
    fixture_expect(&f, "<p>a</br>", false, NULL);
    fixture_expect(&f, "just text", false, NULL);
    fixture_teardown(&f);
}

static void test_contains_html(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - contains-html\n", NULL);
    fixture_expect(&f, "Use <b>bold</b> for emphasis.", true,
                   "expected to contain well-formed HTML; found markup at "
                   "offset 4: '<b>bold</b> for emphasis.'");
    fixture_expect(&f, "A line<br>break", true, NULL);
    fixture_expect(&f, "List<String> in Java, and 3 < 4", false,
                   "expected to contain well-formed HTML; found no HTML "
                   "element in 'List<String> in Java, and 3 < 4'");
    fixture_expect(&f, "a <div><span></div> b", false, NULL);
    fixture_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_xml),
        cmocka_unit_test(test_contains_xml),
        cmocka_unit_test(test_is_html),
        cmocka_unit_test(test_contains_html),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
