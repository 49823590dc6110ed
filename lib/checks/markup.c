/*
 * checks/markup.c - well-formed markup: `is-xml` and `contains-xml`
 * (through expat), `is-html` and `contains-html`.
 *
 * is-xml passes when the whole answer, less surrounding whitespace, is a
 * well-formed XML document (one root element, tags nested and closed,
 * attributes quoted, entities defined). contains-xml passes when some
 * element in the answer, from its start tag to the end of that element,
 * is one: "Here it is: <a><b/></a>. Hope it helps" passes (parsing stops
 * where that element closes, so what follows does not matter). Expat reads no
 * external entity and limits entity expansion, so a hostile answer cannot
 * make it fetch anything or blow up.
 *
 * HTML is not XML, and no library of this project parses it, so the HTML
 * checks hold markup to a structure check written here: tag names known to
 * HTML (or custom elements, with a '-'; anything inside <svg> and <math>),
 * attributes well formed, every element closed by its own end tag except
 * the void ones (<br>, <img>, ...) and those whose end tag HTML lets you
 * leave out (<li>, <p>, <td>, ...), which close when their parent does;
 * <script> and <style> bodies are skipped to their end tag. It is not an
 * HTML5 parser: it does not build the tree a browser would, and it accepts
 * <div/> as a closed element. is-html passes when the trimmed answer
 * starts with '<', ends with '>' and is such markup with at least one
 * element; contains-html when one element somewhere is.
 */
#include "checks/checks.h"

#include <expat.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CANDIDATES 64 /* start tags tried by the contains- checks */
#define MAX_DEPTH 512     /* open HTML elements */

static assay_status failed(assay_status st, assay_error *err)
{
    if (st == ASSAY_OK)
        return st;
    return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool is_alpha(char c)
{
    return (c | 32) >= 'a' && (c | 32) <= 'z';
}

static void trim(const char *s, size_t n, size_t *from, size_t *to)
{
    *from = 0;
    *to = n;
    while (*from < *to && is_space(s[*from]))
        (*from)++;
    while (*to > *from && is_space(s[*to - 1]))
        (*to)--;
}

/* ------------------------------------------------------------ XML */

typedef struct xml_result {
    bool ok;
    enum XML_Error code;
    unsigned long line, col;
} xml_result;

/* Counts open elements; with `stop_at_root`, stops when the root ends. */
typedef struct xml_depth {
    XML_Parser parser;
    long depth;
    bool stop_at_root;
    bool root_closed;
} xml_depth;

static void XMLCALL on_start(void *user, const XML_Char *name,
                             const XML_Char **attrs)
{
    (void)name;
    (void)attrs;
    ((xml_depth *)user)->depth++;
}

static void XMLCALL on_end(void *user, const XML_Char *name)
{
    (void)name;
    xml_depth *d = user;
    if (--d->depth == 0 && d->stop_at_root) {
        d->root_closed = true;
        XML_StopParser(d->parser, XML_FALSE);
    }
}

/*
 * Parses s[0, n) as a document. With `prefix_ok`, what follows the root
 * element does not matter: parsing stops when the root closes.
 */
static bool parse_xml(const char *s, size_t n, bool prefix_ok, xml_result *r)
{
    XML_Parser p = XML_ParserCreate("UTF-8");
    if (!p)
        return false;
    xml_depth d = {.parser = p, .stop_at_root = prefix_ok};
    XML_SetUserData(p, &d);
    XML_SetElementHandler(p, on_start, on_end);
    enum XML_Status st = XML_STATUS_OK;
    /* XML_Parse takes an int length: feed the text in pieces */
    size_t at = 0;
    do {
        size_t piece = n - at > (1u << 30) ? 1u << 30 : n - at;
        st = XML_Parse(p, s + at, (int)piece, at + piece == n);
        at += piece;
    } while (st == XML_STATUS_OK && at < n);
    r->code = XML_GetErrorCode(p);
    r->ok = st == XML_STATUS_OK || d.root_closed;
    r->line = (unsigned long)XML_GetCurrentLineNumber(p);
    r->col = (unsigned long)XML_GetCurrentColumnNumber(p);
    XML_ParserFree(p);
    return true;
}

static bool xml_name_start(const char *s, size_t n, size_t i)
{
    if (i + 1 >= n || s[i] != '<')
        return false;
    char c = s[i + 1];
    return is_alpha(c) || c == '_' || c == ':' || c == '?' ||
           (unsigned char)c >= 0x80;
}

static assay_status is_xml_run(void *state, const assay__check_input *in,
                               assay__check_finding *out, assay_error *err)
{
    (void)state;
    size_t from, to;
    trim(in->output, in->output_len, &from, &to);
    xml_result r;
    if (!parse_xml(in->output + from, to - from, false, &r))
        return failed(ASSAY_ERR_NOMEM, err);
    out->pass = r.ok;
    out->score = r.ok ? 1.0 : 0.0;
    assay_status st = assay__buf_puts(out->want, "be well-formed XML");
    if (st == ASSAY_OK && r.ok)
        st = assay__buf_puts(out->found, "a well-formed document");
    else if (st == ASSAY_OK)
        st = assay__buf_printf(out->found, "%s at line %lu, column %lu in ",
                               XML_ErrorString(r.code), r.line, r.col + 1);
    if (st == ASSAY_OK && !r.ok)
        st = assay__text_excerpt(out->found, in->output, in->output_len,
                                 ASSAY__CHECK_EXCERPT);
    return failed(st, err);
}

static assay_status contains_xml_run(void *state, const assay__check_input *in,
                                     assay__check_finding *out,
                                     assay_error *err)
{
    (void)state;
    const char *s = in->output;
    size_t n = in->output_len;
    size_t found = (size_t)-1;
    int tried = 0;
    for (size_t i = 0; i < n && tried < MAX_CANDIDATES && found == (size_t)-1;
         i++) {
        if (!xml_name_start(s, n, i))
            continue;
        tried++;
        xml_result r;
        if (!parse_xml(s + i, n - i, true, &r))
            return failed(ASSAY_ERR_NOMEM, err);
        if (r.ok)
            found = i;
    }
    out->pass = found != (size_t)-1;
    out->score = out->pass ? 1.0 : 0.0;
    assay_status st = assay__buf_puts(out->want, "contain well-formed XML");
    if (st == ASSAY_OK && out->pass)
        st = assay__buf_printf(out->found, "an element at offset %zu in ",
                               found);
    else if (st == ASSAY_OK)
        st = assay__buf_printf(out->found,
                               "no well-formed element (%d tried) in ", tried);
    if (st == ASSAY_OK)
        st = assay__text_excerpt(
            out->found, in->output + (out->pass ? found : 0),
            n - (out->pass ? found : 0), ASSAY__CHECK_EXCERPT);
    return failed(st, err);
}

const assay__check_family assay__checks_is_xml = {
    .name = "is-xml",
    .value_use = ASSAY__VALUE_NONE,
    .run = is_xml_run,
};

const assay__check_family assay__checks_contains_xml = {
    .name = "contains-xml",
    .value_use = ASSAY__VALUE_NONE,
    .run = contains_xml_run,
};

/* ------------------------------------------------------------ HTML */

/* The elements of the HTML Living Standard, and some obsolete ones. */
static const char *const html_elements[] = {
    "a",        "abbr",     "address", "area",     "article",  "aside",
    "audio",    "b",        "base",    "bdi",      "bdo",      "blockquote",
    "body",     "br",       "button",  "canvas",   "caption",  "center",
    "cite",     "code",     "col",     "colgroup", "data",     "datalist",
    "dd",       "del",      "details", "dfn",      "dialog",   "div",
    "dl",       "dt",       "em",      "embed",    "fieldset", "figcaption",
    "figure",   "font",     "footer",  "form",     "h1",       "h2",
    "h3",       "h4",       "h5",      "h6",       "head",     "header",
    "hgroup",   "hr",       "html",    "i",        "iframe",   "img",
    "input",    "ins",      "kbd",     "label",    "legend",   "li",
    "link",     "main",     "map",     "mark",     "math",     "menu",
    "meta",     "meter",    "nav",     "noscript", "object",   "ol",
    "optgroup", "option",   "output",  "p",        "param",    "picture",
    "pre",      "progress", "q",       "rb",       "rp",       "rt",
    "rtc",      "ruby",     "s",       "samp",     "script",   "search",
    "section",  "select",   "slot",    "small",    "source",   "span",
    "strike",   "strong",   "style",   "sub",      "summary",  "sup",
    "svg",      "table",    "tbody",   "td",       "template", "textarea",
    "tfoot",    "th",       "thead",   "time",     "title",    "tr",
    "track",    "tt",       "u",       "ul",       "var",      "video",
    "wbr",      NULL};

static const char *const void_elements[] = {
    "area", "base", "br",    "col",    "embed", "hr",  "img", "input",
    "link", "meta", "param", "source", "track", "wbr", NULL};

/* Elements whose end tag HTML lets an author leave out. */
static const char *const optional_end[] = {
    "li",  "p",     "dt",    "dd",    "option",   "optgroup", "tr", "td",
    "th",  "thead", "tbody", "tfoot", "colgroup", "caption",  "rb", "rt",
    "rtc", "rp",    "html",  "head",  "body",     NULL};

static bool name_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(name, *list))
            return true;
    return false;
}

typedef struct open_tag {
    char name[32];
    size_t at;
} open_tag;

typedef struct html_parse {
    const char *s;
    size_t n;
    open_tag stack[MAX_DEPTH];
    int depth;
    int foreign; /* depth inside <svg> or <math>, where any name goes */
    int elements;
    char why[160];
    size_t why_at;
} html_parse;

static bool fail(html_parse *p, size_t at, const char *why)
{
    snprintf(p->why, sizeof p->why, "%s", why);
    p->why_at = at;
    return false;
}

/* A tag name at s[i], lowercased into name; its end, or i on failure. */
static size_t read_name(const html_parse *p, size_t i, char *name)
{
    size_t k = 0, j = i;
    if (j >= p->n || !is_alpha(p->s[j]))
        return i;
    while (j < p->n &&
           (is_alpha(p->s[j]) || (p->s[j] >= '0' && p->s[j] <= '9') ||
            p->s[j] == '-' || p->s[j] == ':' || p->s[j] == '_')) {
        if (k + 1 >= 32)
            return i;
        char c = p->s[j++];
        name[k++] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    name[k] = '\0';
    return j;
}

static bool known_name(const html_parse *p, const char *name)
{
    return p->foreign > 0 || name_in(name, html_elements) ||
           strchr(name, '-') != NULL;
}

/* Attributes up to '>' or "/>"; sets *self_closing. Returns the end. */
static bool read_attributes(html_parse *p, size_t *i, bool *self_closing)
{
    size_t j = *i;
    *self_closing = false;
    for (;;) {
        while (j < p->n && is_space(p->s[j]))
            j++;
        if (j >= p->n)
            return fail(p, j, "a tag that never ends");
        if (p->s[j] == '>') {
            *i = j + 1;
            return true;
        }
        if (p->s[j] == '/' && j + 1 < p->n && p->s[j + 1] == '>') {
            *self_closing = true;
            *i = j + 2;
            return true;
        }
        size_t name = j;
        while (j < p->n && !is_space(p->s[j]) && p->s[j] != '>' &&
               p->s[j] != '/' && p->s[j] != '=' && p->s[j] != '"' &&
               p->s[j] != '\'' && p->s[j] != '<')
            j++;
        if (j == name)
            return fail(p, j, "a malformed attribute");
        while (j < p->n && is_space(p->s[j]))
            j++;
        if (j >= p->n || p->s[j] != '=')
            continue;
        j++;
        while (j < p->n && is_space(p->s[j]))
            j++;
        if (j < p->n && (p->s[j] == '"' || p->s[j] == '\'')) {
            char q = p->s[j++];
            while (j < p->n && p->s[j] != q)
                j++;
            if (j >= p->n)
                return fail(p, name, "an attribute value never closed");
            j++;
        } else {
            size_t v = j;
            while (j < p->n && !is_space(p->s[j]) && p->s[j] != '>' &&
                   p->s[j] != '"' && p->s[j] != '\'' && p->s[j] != '=' &&
                   p->s[j] != '<' && p->s[j] != '`')
                j++;
            if (j == v)
                return fail(p, name, "an attribute without a value after '='");
        }
    }
}

/* Skips a <script> or <style> body to its end tag; false when none. */
static bool skip_raw(html_parse *p, const char *name, size_t *i)
{
    size_t len = strlen(name);
    for (size_t j = *i; j + 2 + len <= p->n; j++) {
        if (p->s[j] != '<' || p->s[j + 1] != '/')
            continue;
        size_t k = 0;
        while (k < len && (p->s[j + 2 + k] | 32) == name[k])
            k++;
        if (k == len) {
            *i = j; /* the end tag is read as usual */
            return true;
        }
    }
    return fail(p, *i, "a <script> or <style> that never ends");
}

static bool push(html_parse *p, const char *name, size_t at)
{
    if (p->depth == MAX_DEPTH)
        return fail(p, at, "elements nested too deeply");
    open_tag *t = &p->stack[p->depth++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->at = at;
    p->foreign +=
        !strcmp(name, "svg") || !strcmp(name, "math") || p->foreign > 0;
    return true;
}

static void pop(html_parse *p)
{
    if (p->foreign > 0)
        p->foreign--;
    p->depth--;
}

/* An end tag: closes the open element of that name. */
static bool close_tag(html_parse *p, const char *name, size_t at)
{
    if (name_in(name, void_elements) && p->foreign == 0) {
        char why[96];
        snprintf(why, sizeof why, "an end tag </%s> for a void element", name);
        return fail(p, at, why);
    }
    while (p->depth > 0) {
        open_tag *top = &p->stack[p->depth - 1];
        if (!strcmp(top->name, name)) {
            pop(p);
            return true;
        }
        if (!name_in(top->name, optional_end) || p->foreign > 0)
            break;
        pop(p); /* </ul> closes an open <li> */
    }
    char why[160];
    if (p->depth > 0)
        snprintf(why, sizeof why, "</%s> where <%s> (offset %zu) is open", name,
                 p->stack[p->depth - 1].name, p->stack[p->depth - 1].at);
    else
        snprintf(why, sizeof why, "</%s> with no <%s> open", name, name);
    return fail(p, at, why);
}

/* A comment, doctype or processing instruction at s[i]: skips it. */
static bool skip_markup_declaration(html_parse *p, size_t *i)
{
    if (*i + 3 < p->n && !memcmp(p->s + *i, "<!--", 4)) {
        for (size_t j = *i + 4; j + 2 < p->n; j++)
            if (!memcmp(p->s + j, "-->", 3)) {
                *i = j + 3;
                return true;
            }
        return fail(p, *i, "a comment that never ends");
    }
    const char *gt = memchr(p->s + *i, '>', p->n - *i);
    if (!gt)
        return fail(p, *i, "a declaration that never ends");
    *i = (size_t)(gt - p->s) + 1;
    return true;
}

/*
 * Reads markup from s[*i]. With `one`, stops after the first complete
 * element (and fails if the text there is not one).
 */
static bool parse_html(html_parse *p, size_t *i, bool one)
{
    size_t j = *i;
    int base = p->depth;
    while (j < p->n) {
        if (p->s[j] != '<') {
            j++;
            continue;
        }
        size_t at = j;
        char name[32];
        if (j + 1 < p->n && (p->s[j + 1] == '!' || p->s[j + 1] == '?')) {
            if (!skip_markup_declaration(p, &j))
                return false;
            continue;
        }
        bool end = j + 1 < p->n && p->s[j + 1] == '/';
        size_t k = read_name(p, j + 1 + end, name);
        if (k == j + 1 + end) { /* "a < b" is text */
            j++;
            continue;
        }
        if (!known_name(p, name)) {
            char why[96];
            snprintf(why, sizeof why, "<%s%s>, which is no HTML element",
                     end ? "/" : "", name);
            return fail(p, at, why);
        }
        j = k;
        if (end) {
            while (j < p->n && is_space(p->s[j]))
                j++;
            if (j >= p->n || p->s[j] != '>')
                return fail(p, at, "a malformed end tag");
            j++;
            if (!close_tag(p, name, at))
                return false;
        } else {
            bool self_closing;
            if (!read_attributes(p, &j, &self_closing))
                return false;
            p->elements++;
            bool is_void = name_in(name, void_elements) && p->foreign == 0;
            if (!is_void && !self_closing) {
                if (!push(p, name, at))
                    return false;
                if ((!strcmp(name, "script") || !strcmp(name, "style")) &&
                    !skip_raw(p, name, &j))
                    return false;
            }
        }
        if (one && p->depth == base) {
            *i = j;
            return true;
        }
    }
    while (p->depth > base &&
           name_in(p->stack[p->depth - 1].name, optional_end))
        pop(p);
    if (p->depth > base) {
        char why[96];
        snprintf(why, sizeof why, "<%s> never closed",
                 p->stack[p->depth - 1].name);
        return fail(p, p->stack[p->depth - 1].at, why);
    }
    *i = j;
    return !one || p->elements > 0;
}

static assay_status html_finding(bool pass, size_t at, const html_parse *p,
                                 const char *want, const assay__check_input *in,
                                 assay__check_finding *out, assay_error *err)
{
    out->pass = pass;
    out->score = pass ? 1.0 : 0.0;
    assay_status st = assay__buf_puts(out->want, want);
    if (st == ASSAY_OK && pass)
        st = assay__buf_printf(out->found, "markup at offset %zu: ", at);
    else if (st == ASSAY_OK && p->why[0])
        st = assay__buf_printf(out->found, "%s at offset %zu in ", p->why,
                               p->why_at);
    else if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, "no HTML element in ");
    if (st == ASSAY_OK)
        st = assay__text_excerpt(out->found, in->output + at,
                                 in->output_len - at, ASSAY__CHECK_EXCERPT);
    return failed(st, err);
}

static assay_status is_html_run(void *state, const assay__check_input *in,
                                assay__check_finding *out, assay_error *err)
{
    (void)state;
    html_parse *p = calloc(1, sizeof *p);
    if (!p)
        return failed(ASSAY_ERR_NOMEM, err);
    size_t from, to;
    trim(in->output, in->output_len, &from, &to);
    p->s = in->output;
    p->n = to;
    bool pass = false;
    if (to > from && in->output[from] == '<' && in->output[to - 1] == '>') {
        size_t i = from;
        pass = parse_html(p, &i, false) && p->elements > 0;
    } else {
        fail(p, from, "text that does not start with '<' and end with '>'");
    }
    assay_status st = html_finding(pass, pass ? from : 0, p,
                                   "be well-formed HTML", in, out, err);
    free(p);
    return st;
}

static assay_status contains_html_run(void *state, const assay__check_input *in,
                                      assay__check_finding *out,
                                      assay_error *err)
{
    (void)state;
    html_parse *p = calloc(1, sizeof *p);
    if (!p)
        return failed(ASSAY_ERR_NOMEM, err);
    p->s = in->output;
    p->n = in->output_len;
    size_t found = (size_t)-1;
    int tried = 0;
    for (size_t i = 0;
         i + 1 < p->n && found == (size_t)-1 && tried < MAX_CANDIDATES; i++) {
        char name[32];
        if (p->s[i] != '<' || read_name(p, i + 1, name) == i + 1 ||
            (!name_in(name, html_elements) && !strchr(name, '-')))
            continue;
        tried++;
        p->depth = p->foreign = p->elements = 0;
        size_t j = i;
        if (parse_html(p, &j, true))
            found = i;
    }
    if (found == (size_t)-1 && !tried)
        p->why[0] = '\0';
    assay_status st =
        html_finding(found != (size_t)-1, found == (size_t)-1 ? 0 : found, p,
                     "contain well-formed HTML", in, out, err);
    free(p);
    return st;
}

const assay__check_family assay__checks_is_html = {
    .name = "is-html",
    .value_use = ASSAY__VALUE_NONE,
    .run = is_html_run,
};

const assay__check_family assay__checks_contains_html = {
    .name = "contains-html",
    .value_use = ASSAY__VALUE_NONE,
    .run = contains_html_run,
};
