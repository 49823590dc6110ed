/*
 * report/html.c - the report as one self-contained HTML page: the verdict
 * and gates, pass rates with their 95% intervals per target and prompt,
 * score distributions, latency histograms, the metrics, the comparison
 * with its transitions, and a table of every result (case, target,
 * prompt, answer, and each check's reason, which names what was expected)
 * with search, filters, sorting and pages.
 *
 * Self-contained: no network, no external file. The charts are inline SVG
 * drawn here; the one script is inline and small; the page's Content
 * Security Policy allows nothing else to load or run (its default is
 * 'none', and the style and the script are allowed by their SHA-256
 * hashes), so even text that slipped through escaping could not run.
 *
 * Model output is never markup: the summary parts are escaped as they are
 * written (assay__report_put_xml), and the results travel as JSON data in
 * a <script type="application/json"> block, where < > & are written as
 * \u003c \u003e \u0026 so that no "</script>" can end it early, and the
 * script puts them on the page with textContent only.
 *
 * Size: the record is streamed twice (score bins first, the rows after),
 * so memory holds the summary and the page's buffer, not the record. Each
 * answer is cut to a budget that shrinks as results grow (48 MiB over all
 * answers, from 4000 down to 300 bytes each), reasons to 1000 bytes; the
 * table shows 50 rows a page, so 100,000 results stay usable. The record
 * and the CSV report keep the full texts.
 */
#include "internal.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define SPILL_BYTES (256 * 1024)
#define SCORE_BINS 10
#define LATENCY_BINS 24
#define LISTED_TRANSITIONS 500
#define LISTED_FLAKY 50
#define ANSWERS_BUDGET ((size_t)48 << 20)
#define ANSWER_MIN 300
#define ANSWER_MAX 4000
#define REASON_BYTES 1000
#define NAME_BYTES 200
#define LABEL_CHARS 28

/* The latency histogram's buckets (stats.c): bucket i starts at
   0.01 ms * 1.01^i. */
#define LATENCY_LOWEST_MS 0.01
#define LATENCY_BASE 1.01

static const char style_text[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;"
    "padding:0 16px 48px;color:#1f2328;background:#fff}"
    "h1{font-size:22px;margin:20px 0 4px}h2{font-size:18px;margin:28px 0 8px;"
    "border-bottom:1px solid #d0d7de;padding-bottom:4px}"
    "h3{font-size:15px;margin:16px 0 6px}"
    ".verdict{display:inline-block;font-weight:700;padding:2px 10px;"
    "border-radius:4px;color:#fff}.verdict.pass{background:#1a7f37}"
    ".verdict.fail{background:#cf222e}.muted{color:#656d76}"
    "table{border-collapse:collapse;margin:6px 0}th,td{padding:4px 8px;"
    "border-bottom:1px solid #d8dee4;text-align:left;vertical-align:top}"
    "th{background:#f6f8fa}td.num,th.num{text-align:right;"
    "font-variant-numeric:tabular-nums}"
    "th[data-sort]{cursor:pointer;text-decoration:underline dotted}"
    "li.pass::marker,.ok{color:#1a7f37}li.fail::marker,.bad{color:#cf222e}"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}"
    ".chart{border:1px solid #d8dee4;border-radius:6px;padding:6px}"
    "svg text{font:11px system-ui,sans-serif;fill:#1f2328}"
    "svg .axis{stroke:#8c959f;stroke-width:1}"
    "svg .grid{stroke:#d8dee4;stroke-width:1}"
    "svg .bar{fill:#54aeff}svg .bar.errors{fill:#d4a72c}"
    "svg .ci{stroke:#0a3069;stroke-width:2}"
    "svg .p95{stroke:#cf222e;stroke-width:1.5;stroke-dasharray:4 3}"
    "svg .dot{fill:#0a3069}svg .dot.regressed{fill:#cf222e}"
    "svg .dot.improved{fill:#1a7f37}"
    ".controls{display:flex;flex-wrap:wrap;gap:8px;align-items:center;"
    "margin:8px 0}.controls input{min-width:260px;padding:4px}"
    "#cases table{width:100%;table-layout:fixed}"
    "#cases td{overflow-wrap:anywhere;white-space:pre-wrap}"
    "#cases col.w-case{width:11%}#cases col.w-target{width:9%}"
    "#cases col.w-prompt{width:8%}#cases col.w-outcome{width:6%}"
    "#cases col.w-score{width:6%}#cases col.w-latency{width:7%}"
    "#cases col.w-answer{width:25%}#cases col.w-checks{width:28%}"
    "tr.fail td.outcome{color:#cf222e;font-weight:600}"
    "tr.error td.outcome{color:#9a6700;font-weight:600}"
    "tr.pass td.outcome{color:#1a7f37}.cut{color:#656d76;font-style:italic}"
    "a.case-link{cursor:pointer;color:#0969da}";

/*
 * The page's script, in parts because C compilers need not take a longer
 * literal: it reads the rows, fills the filters, and shows a page
 * of the rows that match. Data only ever reaches the page as textContent.
 * A row is [case, target, prompt, repeat, outcome (0 pass, 1 fail,
 * 2 error), score, latency ms, answer, checks [[type, pass, score,
 * reason]], error, answer bytes when cut (0 when whole)].
 */
static const char *const script_parts[] = {
    "(() => {\n",
    "'use strict';\n",
    "const data = JSON.parse(document.getElementById('assay-data')",
    ".textContent);\n",
    "const rows = data.rows;\n",
    "const OUTCOME = ['pass', 'fail', 'error'];\n",
    "const PAGE = 50;\n",
    "const $ = (id) => document.getElementById(id);\n",
    "const search = $('case-search'), byTarget = $('case-target');\n",
    "const byPrompt = $('case-prompt'), byOutcome = $('case-outcome');\n",
    "const tbody = $('case-rows'), info = $('case-info');\n",
    "const prev = $('case-prev'), next = $('case-next');\n",
    "let shown = [], page = 0, sortColumn = '', sortUp = true;\n",
    "let haystack = null, timer = 0;\n",
    "const addOptions = (select, names) => names.forEach((name, i) => {\n",
    "  const option = document.createElement('option');\n",
    "  option.value = String(i);\n",
    "  option.textContent = name;\n",
    "  select.appendChild(option);\n",
    "});\n",
    "addOptions(byTarget, data.targets);\n",
    "addOptions(byPrompt, data.prompts);\n",
    "const textOf = (r) => [r[0], r[7] || '', r[9] || '']\n",
    "  .concat(r[8].map((c) => c[0] + ' ' + c[3])).join('\\n')",
    ".toLowerCase();\n",
    "const keys = {\n",
    "  case: (r) => r[0],\n",
    "  score: (r) => (r[5] === null ? -1 : r[5]),\n",
    "  latency: (r) => (r[6] === null ? -1 : r[6]),\n",
    "};\n",
    "const wanted = (r, t, p, o) => (t === '' || r[1] === Number(t)) &&\n",
    "  (p === '' || r[2] === Number(p)) &&\n",
    "  (o === '' || (o === 'n' ? r[4] !== 0 : r[4] === Number(o)));\n",
    "function filter() {\n",
    "  const needle = search.value.trim().toLowerCase();\n",
    "  const t = byTarget.value, p = byPrompt.value, o = byOutcome.value;\n",
    "  if (needle && !haystack) haystack = rows.map(textOf);\n",
    "  shown = [];\n",
    "  for (let i = 0; i < rows.length; i++) {\n",
    "    if (!wanted(rows[i], t, p, o)) continue;\n",
    "    if (needle && !haystack[i].includes(needle)) continue;\n",
    "    shown.push(i);\n",
    "  }\n",
    "  if (sortColumn) {\n",
    "    const key = keys[sortColumn], sign = sortUp ? 1 : -1;\n",
    "    shown.sort((a, b) => {\n",
    "      const x = key(rows[a]), y = key(rows[b]);\n",
    "      return (x < y ? -1 : x > y ? 1 : 0) * sign || a - b;\n",
    "    });\n",
    "  }\n",
    "  page = 0;\n",
    "  render();\n",
    "}\n",
    "function cell(tr, text, className) {\n",
    "  const td = document.createElement('td');\n",
    "  td.textContent = text;\n",
    "  if (className) td.className = className;\n",
    "  tr.appendChild(td);\n",
    "  return td;\n",
    "}\n",
    "function line(parent, text, className) {\n",
    "  const div = document.createElement('div');\n",
    "  div.className = className;\n",
    "  div.textContent = text;\n",
    "  parent.appendChild(div);\n",
    "}\n",
    "const fixed = (v, digits) => (v === null ? '-' : v.toFixed(digits));\n",
    "function row(r) {\n",
    "  const tr = document.createElement('tr');\n",
    "  tr.className = OUTCOME[r[4]];\n",
    "  cell(tr, r[0], 'case');\n",
    "  cell(tr, data.targets[r[1]]);\n",
    "  cell(tr, data.prompts[r[2]] + (r[3] ? ' #' + r[3] : ''));\n",
    "  cell(tr, OUTCOME[r[4]], 'outcome');\n",
    "  cell(tr, fixed(r[5], 3), 'num');\n",
    "  const ms = r[6] === null ? '-' : fixed(r[6], r[6] < 10 ? 1 : 0);\n",
    "  cell(tr, r[6] === null ? ms : ms + ' ms', 'num');\n",
    "  const answer = cell(tr, r[7] === null ? '(no answer)' : r[7], ",
    "'answer');\n",
    "  if (r[10]) line(answer, '[cut: ' + r[10] + ' bytes in the record]', ",
    "'cut');\n",
    "  const checks = cell(tr, '', 'checks');\n",
    "  for (const c of r[8]) {\n",
    "    const score = c[2] === null ? '' : ' (' + c[2].toFixed(2) + ')';\n",
    "    line(checks, (c[1] ? '\xE2\x9C\x93 ' : '\xE2\x9C\x97 ') + c[0] + ",
    "score + ': ' + c[3],\n",
    "      c[1] ? 'ok' : 'bad');\n",
    "  }\n",
    "  if (r[9] !== null) line(checks, 'error: ' + r[9], 'bad');\n",
    "  return tr;\n",
    "}\n",
    "function render() {\n",
    "  const start = page * PAGE, end = Math.min(shown.length, start + ",
    "PAGE);\n",
    "  const fragment = document.createDocumentFragment();\n",
    "  for (let k = start; k < end; k++) fragment.appendChild(row(rows[shown",
    "[k]]));\n",
    "  tbody.replaceChildren(fragment);\n",
    "  info.textContent = shown.length\n",
    "    ? `results ${start + 1}-${end} of ${shown.length} shown (${rows",
    ".length} in all)`\n",
    "    : `no result matches (${rows.length} in all)`;\n",
    "  prev.disabled = page === 0;\n",
    "  next.disabled = end >= shown.length;\n",
    "}\n",
    "search.addEventListener('input', () => {\n",
    "  clearTimeout(timer);\n",
    "  timer = setTimeout(filter, 150);\n",
    "});\n",
    "for (const select of [byTarget, byPrompt, byOutcome])\n",
    "  select.addEventListener('change', filter);\n",
    "prev.addEventListener('click', () => { page--; render(); });\n",
    "next.addEventListener('click', () => { page++; render(); });\n",
    "for (const th of document.querySelectorAll('th[data-sort]'))\n",
    "  th.addEventListener('click', () => {\n",
    "    sortUp = sortColumn === th.dataset.sort ? !sortUp : true;\n",
    "    sortColumn = th.dataset.sort;\n",
    "    filter();\n",
    "  });\n",
    "for (const link of document.querySelectorAll('a.case-link'))\n",
    "  link.addEventListener('click', () => {\n",
    "    search.value = link.dataset.case;\n",
    "    byOutcome.value = '';\n",
    "    filter();\n",
    "  });\n",
    "filter();\n",
    "document.body.dataset.ready = String(rows.length);\n",
    "document.body.dataset.readyMs = String(Math.round(performance.now()));\n",
    "})();\n",
};

/* ------------------------------------------------------------ helpers */

typedef struct html_page {
    assay__buf *b;
    const assay__report_input *in;
    const assay_summary *s;
    size_t n_groups;
    long (*score_bins)[SCORE_BINS + 1]; /* per group; the last: errors */
    size_t answer_bytes;
    /* The data block's target and prompt lists, and each group's place
       in them. */
    const char **targets, **prompts;
    size_t n_targets, n_prompts;
    size_t *group_target, *group_prompt;
    assay__buf script; /* script_parts joined */
} html_page;

static assay_status esc(assay__buf *b, const char *s)
{
    return s ? assay__report_put_xml(b, s, strlen(s), NAME_BYTES, false)
             : ASSAY_OK;
}

static assay_status esc_attr(assay__buf *b, const char *s)
{
    return s ? assay__report_put_xml(b, s, strlen(s), NAME_BYTES, true)
             : ASSAY_OK;
}

/* A label for a chart: at most LABEL_CHARS characters, escaped. */
static assay_status esc_label(assay__buf *b, const char *s)
{
    size_t len = strlen(s), bytes = 0, chars = 0;
    while (bytes < len && chars < LABEL_CHARS) {
        size_t seq = assay__report_utf8_sequence(s + bytes, len - bytes);
        bytes += seq ? seq : 1;
        chars++;
    }
    return assay__report_put_xml(b, s, len, bytes, false);
}

static assay_status fixed(assay__buf *b, double v, int decimals)
{
    return isfinite(v) ? assay__report_put_fixed(b, v, decimals)
                       : assay__buf_puts(b, "-");
}

static assay_status percent(assay__buf *b, double v)
{
    assay_status st = fixed(b, 100 * v, 1);
    return st == ASSAY_OK && isfinite(v) ? assay__buf_putc(b, '%') : st;
}

/* " name=\"1.5\"": an SVG coordinate attribute. */
static assay_status coord(assay__buf *b, const char *name, double v)
{
    assay_status st = assay__buf_printf(b, " %s=\"", name);
    if (st == ASSAY_OK)
        st = assay__report_put_fixed(b, isfinite(v) ? v : 0, 1);
    return st == ASSAY_OK ? assay__buf_putc(b, '"') : st;
}

static assay_status group_label(assay__buf *b, const assay_summary *s, size_t g,
                                bool short_label)
{
    const char *prompt = assay_summary_group_prompt(s, g);
    assay_status st =
        (short_label ? esc_label : esc)(b, assay_summary_group_target(s, g));
    if (st == ASSAY_OK && strcmp(prompt, ASSAY__DEFAULT_PROMPT)) {
        st = assay__buf_puts(b, " / ");
        if (st == ASSAY_OK)
            st = (short_label ? esc_label : esc)(b, prompt);
    }
    return st;
}

static assay_status svg_open(assay__buf *b, double w, double h,
                             const char *label)
{
    assay_status st = assay__buf_puts(b, "<svg xmlns=\"http://www.w3.org/"
                                         "2000/svg\" role=\"img\"");
    if (st == ASSAY_OK)
        st = coord(b, "width", w);
    if (st == ASSAY_OK)
        st = coord(b, "height", h);
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, " viewBox=\"0 0 %.0f %.0f\" aria-label=\"", w,
                               h);
    if (st == ASSAY_OK)
        st = esc_attr(b, label);
    return st == ASSAY_OK ? assay__buf_puts(b, "\">") : st;
}

static assay_status svg_line(assay__buf *b, const char *cls, double x1,
                             double y1, double x2, double y2)
{
    assay_status st = assay__buf_printf(b, "<line class=\"%s\"", cls);
    if (st == ASSAY_OK)
        st = coord(b, "x1", x1);
    if (st == ASSAY_OK)
        st = coord(b, "y1", y1);
    if (st == ASSAY_OK)
        st = coord(b, "x2", x2);
    if (st == ASSAY_OK)
        st = coord(b, "y2", y2);
    return st == ASSAY_OK ? assay__buf_puts(b, "/>") : st;
}

/* A rectangle whose <title> is the tooltip; `title` is already escaped. */
static assay_status svg_rect(assay__buf *b, const char *cls, double x, double y,
                             double w, double h, const char *title)
{
    assay_status st = assay__buf_printf(b, "<rect class=\"%s\"", cls);
    if (st == ASSAY_OK)
        st = coord(b, "x", x);
    if (st == ASSAY_OK)
        st = coord(b, "y", y);
    if (st == ASSAY_OK)
        st = coord(b, "width", w > 0 ? w : 0);
    if (st == ASSAY_OK)
        st = coord(b, "height", h > 0 ? h : 0);
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, "><title>%s</title></rect>", title);
    return st;
}

/* <text x y anchor>, the caller writes the escaped text and </text>. */
static assay_status svg_text(assay__buf *b, double x, double y,
                             const char *anchor)
{
    assay_status st = assay__buf_puts(b, "<text");
    if (st == ASSAY_OK)
        st = coord(b, "x", x);
    if (st == ASSAY_OK)
        st = coord(b, "y", y);
    return st == ASSAY_OK ? assay__buf_printf(b, " text-anchor=\"%s\">", anchor)
                          : st;
}

/* ------------------------------------------------------------ head */

/* 'sha256-BASE64' of a text, for the Content Security Policy. */
static assay_status put_hash(assay__buf *b, const char *text)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_Digest(text, strlen(text), digest, &len, EVP_sha256(), NULL))
        return ASSAY_ERR_NOMEM;
    unsigned char base64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    EVP_EncodeBlock(base64, digest, (int)len);
    return assay__buf_printf(b, "'sha256-%s'", (const char *)base64);
}

/* The script as one text. */
static assay_status join_script(assay__buf *out)
{
    assay_status st = ASSAY_OK;
    for (size_t i = 0;
         st == ASSAY_OK && i < sizeof script_parts / sizeof *script_parts; i++)
        st = assay__buf_puts(out, script_parts[i]);
    return st;
}

static assay_status put_head(const html_page *p)
{
    assay__buf *b = p->b;
    assay_status st = assay__buf_puts(
        b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\""
           "utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" "
           "content=\"default-src 'none'; img-src data:; style-src ");
    if (st == ASSAY_OK)
        st = put_hash(b, style_text);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "; script-src ");
    if (st == ASSAY_OK)
        st = put_hash(b, p->script.data);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "\">\n<meta name=\"viewport\" content=\""
                                "width=device-width, initial-scale=1\">\n"
                                "<link rel=\"icon\" href=\"data:,\">\n"
                                "<title>assay report: ");
    if (st == ASSAY_OK)
        st = esc(b, assay_summary_suite_name(p->s));
    if (st == ASSAY_OK)
        st = assay__buf_printf(b,
                               "</title>\n<style>%s</style>\n</head>\n"
                               "<body>\n",
                               style_text);
    return st;
}

static assay_status put_verdict(const html_page *p)
{
    assay__buf *b = p->b;
    bool pass = assay_summary_passed(p->s) &&
                (!p->in->compare || assay_compare_passed(p->in->compare));
    assay_status st = assay__buf_puts(b, "<header>\n<h1>");
    if (st == ASSAY_OK)
        st = esc(b, assay_summary_suite_name(p->s));
    if (st == ASSAY_OK)
        st = assay__buf_printf(b,
                               " <span class=\"verdict %s\" id=\"verdict\">"
                               "%s</span></h1>\n<p class=\"muted\">",
                               pass ? "pass" : "fail", pass ? "PASS" : "FAIL");
    if (st == ASSAY_OK)
        st = esc(b, assay_summary_error_policy(p->s));
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, "; computed by assay %s from ",
                               assay_version());
    if (st == ASSAY_OK)
        st = esc(b, p->in->record_path);
    return st == ASSAY_OK ? assay__buf_puts(b, "</p>\n</header>\n") : st;
}

static assay_status put_gates(const html_page *p)
{
    assay__buf *b = p->b;
    size_t n = assay_summary_gate_count(p->s);
    assay_status st = assay__buf_puts(b, "<section id=\"gates\">\n<h2>Gates"
                                         "</h2>\n");
    if (st == ASSAY_OK && !n)
        st = assay__buf_puts(b, "<p>The suite has no gates.</p>\n");
    if (st == ASSAY_OK && n)
        st = assay__buf_puts(b, "<ul>\n");
    for (size_t i = 0; st == ASSAY_OK && i < n; i++) {
        bool ok = assay_summary_gate_passed(p->s, i);
        st = assay__buf_printf(b, "<li class=\"%s\"><b>%s</b> ",
                               ok ? "pass" : "fail", ok ? "pass" : "FAIL");
        if (st == ASSAY_OK)
            st = esc(b, assay_summary_gate_text(p->s, i));
        if (st == ASSAY_OK)
            st = assay__buf_puts(b, " <span class=\"muted\">(measured ");
        if (st == ASSAY_OK)
            st = fixed(b, assay_summary_gate_value(p->s, i), 4);
        if (st == ASSAY_OK)
            st = assay__buf_puts(b, ")</span></li>\n");
    }
    if (st == ASSAY_OK && n)
        st = assay__buf_puts(b, "</ul>\n");
    return st == ASSAY_OK ? assay__buf_puts(b, "</section>\n") : st;
}

/* ------------------------------------------------------------ summary */

static assay_status pass_rate_row(const html_page *p, size_t g, double y,
                                  double left, double width)
{
    assay__buf *b = p->b;
    double rate = assay_summary_stat(p->s, g, ASSAY_STAT_PASS_RATE);
    double lo = assay_summary_stat(p->s, g, ASSAY_STAT_PASS_RATE_LOW);
    double hi = assay_summary_stat(p->s, g, ASSAY_STAT_PASS_RATE_HIGH);
    assay__buf title;
    assay__buf_init(&title, 0);
    assay_status st = group_label(&title, p->s, g, false);
    if (st == ASSAY_OK)
        st = assay__buf_puts(&title, ": ");
    if (st == ASSAY_OK)
        st = percent(&title, rate);
    if (st == ASSAY_OK)
        st = assay__buf_puts(&title, " [");
    if (st == ASSAY_OK)
        st = percent(&title, lo);
    if (st == ASSAY_OK)
        st = assay__buf_puts(&title, ", ");
    if (st == ASSAY_OK)
        st = percent(&title, hi);
    if (st == ASSAY_OK)
        st = assay__buf_printf(&title, "], %.0f results",
                               assay_summary_stat(p->s, g, ASSAY_STAT_RESULTS));
    if (st == ASSAY_OK)
        st = svg_text(b, left - 8, y + 12, "end");
    if (st == ASSAY_OK)
        st = group_label(b, p->s, g, true);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "</text>");
    if (st == ASSAY_OK && isfinite(rate))
        st = svg_rect(b, "bar", left, y + 2, rate * width, 14, title.data);
    if (st == ASSAY_OK && isfinite(lo) && isfinite(hi)) {
        st = svg_line(b, "ci", left + lo * width, y + 9, left + hi * width,
                      y + 9);
        if (st == ASSAY_OK)
            st = svg_line(b, "ci", left + lo * width, y + 4, left + lo * width,
                          y + 14);
        if (st == ASSAY_OK)
            st = svg_line(b, "ci", left + hi * width, y + 4, left + hi * width,
                          y + 14);
    }
    if (st == ASSAY_OK)
        st = svg_text(b, left + width + 8, y + 12, "start");
    if (st == ASSAY_OK)
        st = percent(b, rate);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "</text>");
    assay__buf_release(&title);
    return st;
}

static assay_status pass_rate_chart(const html_page *p)
{
    const double left = 210, width = 440, row = 26, top = 22;
    double h = top + row * (double)p->n_groups + 8;
    assay__buf *b = p->b;
    assay_status st = assay__buf_puts(b, "<div class=\"chart\" id=\"chart-"
                                         "pass-rate\">");
    if (st == ASSAY_OK)
        st = svg_open(b, left + width + 70, h,
                      "pass rate with its 95% interval, per target");
    for (int t = 0; st == ASSAY_OK && t <= 4; t++) {
        double x = left + width * t / 4;
        st = svg_line(b, t ? "grid" : "axis", x, top - 4, x, h - 4);
        if (st == ASSAY_OK)
            st = svg_text(b, x, 12, "middle");
        if (st == ASSAY_OK)
            st = assay__buf_printf(b, "%d%%</text>", 25 * t);
    }
    for (size_t g = 0; st == ASSAY_OK && g < p->n_groups; g++)
        st = pass_rate_row(p, g, top + row * (double)g, left, width);
    return st == ASSAY_OK ? assay__buf_puts(b, "</svg></div>\n") : st;
}

static assay_status summary_row(const html_page *p, size_t g)
{
    assay__buf *b = p->b;
    const assay_summary *s = p->s;
    assay_status st = assay__buf_puts(b, "<tr><td>");
    if (st == ASSAY_OK)
        st = group_label(b, s, g, false);
    static const assay_stat counts[] = {ASSAY_STAT_RESULTS, ASSAY_STAT_PASSED,
                                        ASSAY_STAT_FAILED, ASSAY_STAT_ERRORS};
    for (size_t i = 0; st == ASSAY_OK && i < 4; i++) {
        st = assay__buf_puts(b, "</td><td class=\"num\">");
        if (st == ASSAY_OK)
            st = fixed(b, assay_summary_stat(s, g, counts[i]), 0);
    }
    static const assay_stat rates[][3] = {
        {ASSAY_STAT_PASS_RATE, ASSAY_STAT_PASS_RATE_LOW,
         ASSAY_STAT_PASS_RATE_HIGH},
        {ASSAY_STAT_SCORE_MEAN, ASSAY_STAT_SCORE_LOW, ASSAY_STAT_SCORE_HIGH},
    };
    for (size_t i = 0; st == ASSAY_OK && i < 2; i++) {
        st = assay__buf_puts(b, "</td><td class=\"num\">");
        for (size_t k = 0; st == ASSAY_OK && k < 3; k++) {
            if (k)
                st = assay__buf_puts(b, k == 1 ? " [" : ", ");
            double v = assay_summary_stat(s, g, rates[i][k]);
            if (st == ASSAY_OK)
                st = i ? fixed(b, v, 3) : percent(b, v); /* scores: 0..1 */
        }
        if (st == ASSAY_OK)
            st = assay__buf_putc(b, ']');
    }
    static const assay_stat ms[] = {ASSAY_STAT_LATENCY_MEAN_MS,
                                    ASSAY_STAT_LATENCY_P95_MS};
    for (size_t i = 0; st == ASSAY_OK && i < 2; i++) {
        double v = assay_summary_stat(s, g, ms[i]);
        st = assay__buf_puts(b, "</td><td class=\"num\">");
        if (st == ASSAY_OK)
            st = fixed(b, v, v < 10 ? 1 : 0);
    }
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "</td><td class=\"num\">");
    if (st == ASSAY_OK)
        st = fixed(b, assay_summary_stat(s, g, ASSAY_STAT_PROMPT_TOKENS), 0);
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, '/');
    if (st == ASSAY_OK)
        st =
            fixed(b, assay_summary_stat(s, g, ASSAY_STAT_COMPLETION_TOKENS), 0);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "</td><td class=\"num\">");
    if (st == ASSAY_OK)
        st = fixed(b, assay_summary_stat(s, g, ASSAY_STAT_COST), 4);
    return st == ASSAY_OK ? assay__buf_puts(b, "</td></tr>\n") : st;
}

static assay_status put_summary(const html_page *p)
{
    assay__buf *b = p->b;
    assay_status st = assay__buf_puts(
        b, "<section id=\"summary\">\n<h2>Pass rate by target</h2>\n");
    if (st == ASSAY_OK)
        st = pass_rate_chart(p);
    if (st == ASSAY_OK)
        st = assay__buf_puts(
            b, "<table><thead><tr><th>target</th><th class=\"num\">results"
               "</th><th class=\"num\">passed</th><th class=\"num\">failed"
               "</th><th class=\"num\">errors</th><th class=\"num\">pass "
               "rate [95% CI]</th><th class=\"num\">mean score [95% CI]</th>"
               "<th class=\"num\">latency mean (ms)</th><th class=\"num\">"
               "p95 (ms)</th><th class=\"num\">tokens in/out</th>"
               "<th class=\"num\">cost</th></tr></thead>\n<tbody>\n");
    for (size_t g = 0; st == ASSAY_OK && g < p->n_groups; g++)
        st = summary_row(p, g);
    return st == ASSAY_OK ? assay__buf_puts(b, "</tbody></table>\n</section>\n")
                          : st;
}

static assay_status metric_rows(const html_page *p, size_t g)
{
    assay__buf *b = p->b;
    assay_status st = ASSAY_OK;
    for (size_t m = 0;
         st == ASSAY_OK && m < assay_summary_metric_count(p->s, g); m++) {
        st = assay__buf_puts(b, "<tr><td>");
        if (st == ASSAY_OK)
            st = group_label(b, p->s, g, false);
        if (st == ASSAY_OK)
            st = assay__buf_puts(b, "</td><td>");
        if (st == ASSAY_OK)
            st = esc(b, assay_summary_metric_name(p->s, g, m));
        static const assay_stat cols[] = {
            ASSAY_STAT_RESULTS, ASSAY_STAT_PASS_RATE, ASSAY_STAT_SCORE_MEAN,
            ASSAY_STAT_SCORE_LOW, ASSAY_STAT_SCORE_HIGH};
        for (size_t c = 0; st == ASSAY_OK && c < 5; c++) {
            double v = assay_summary_metric_stat(p->s, g, m, cols[c]);
            st = assay__buf_puts(b, "</td><td class=\"num\">");
            if (st == ASSAY_OK)
                st = c ? fixed(b, v, 3) : fixed(b, v, 0);
        }
        if (st == ASSAY_OK)
            st = assay__buf_puts(b, "</td></tr>\n");
    }
    return st;
}

static assay_status put_metrics(const html_page *p)
{
    assay__buf *b = p->b;
    assay_status st = assay__buf_puts(
        b, "<section id=\"metrics\">\n<h2>Metrics</h2>\n<table><thead><tr>"
           "<th>target</th><th>metric</th><th class=\"num\">n</th>"
           "<th class=\"num\">pass rate</th><th class=\"num\">mean</th>"
           "<th class=\"num\">95% low</th><th class=\"num\">95% high</th>"
           "</tr></thead>\n<tbody>\n");
    for (size_t g = 0; st == ASSAY_OK && g < p->n_groups; g++)
        st = metric_rows(p, g);
    return st == ASSAY_OK ? assay__buf_puts(b, "</tbody></table>\n</section>\n")
                          : st;
}

/* pass@k and the flaky cases, for groups with repeats. */
static assay_status repeat_rows(const html_page *p, size_t g)
{
    assay__buf *b = p->b;
    double flaky = assay_summary_stat(p->s, g, ASSAY_STAT_FLAKY_CASES);
    assay_status st = assay__buf_puts(b, "<tr><td>");
    if (st == ASSAY_OK)
        st = group_label(b, p->s, g, false);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "</td><td>");
    for (long k = 1; st == ASSAY_OK && k <= 10; k++) {
        double v = assay_summary_pass_at_k(p->s, g, k);
        if (isnan(v))
            break;
        st = assay__buf_printf(b, "%spass@%ld ", k > 1 ? ", " : "", k);
        if (st == ASSAY_OK)
            st = percent(b, v);
    }
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, "</td><td class=\"num\">%.0f</td><td>",
                               isnan(flaky) ? 0 : flaky);
    for (size_t i = 0; st == ASSAY_OK && !isnan(flaky) && i < (size_t)flaky &&
                       i < LISTED_FLAKY;
         i++) {
        long passed = 0, samples = 0;
        const char *id =
            assay_summary_flaky_case(p->s, g, i, &passed, &samples);
        st = assay__buf_puts(b, i ? ", " : "");
        if (st == ASSAY_OK)
            st = esc(b, id);
        if (st == ASSAY_OK)
            st = assay__buf_printf(b, " (%ld/%ld)", passed, samples);
    }
    return st == ASSAY_OK ? assay__buf_puts(b, "</td></tr>\n") : st;
}

static assay_status put_repeats(const html_page *p)
{
    bool any = false;
    for (size_t g = 0; g < p->n_groups; g++)
        any |= !isnan(assay_summary_stat(p->s, g, ASSAY_STAT_CASES));
    if (!any)
        return ASSAY_OK;
    assay__buf *b = p->b;
    assay_status st = assay__buf_puts(
        b, "<section id=\"repeats\">\n<h2>Repeats</h2>\n<table><thead><tr>"
           "<th>target</th><th>pass@k</th><th class=\"num\">flaky cases</th>"
           "<th>flaky (passed/samples)</th></tr></thead>\n<tbody>\n");
    for (size_t g = 0; st == ASSAY_OK && g < p->n_groups; g++)
        if (!isnan(assay_summary_stat(p->s, g, ASSAY_STAT_CASES)))
            st = repeat_rows(p, g);
    return st == ASSAY_OK ? assay__buf_puts(b, "</tbody></table>\n</section>\n")
                          : st;
}

/* ------------------------------------------------------------ histograms */

/* A small bar chart of `n` bins; `labels` are the two ends of the x axis. */
static assay_status histogram(assay__buf *b, const char *id, const char *title,
                              const long *bins, size_t n, const char *low,
                              const char *high, double marker,
                              const char *caption)
{
    const double w = 260, h = 130, left = 8, right = 8, top = 22, bottom = 20;
    double pw = w - left - right, ph = h - top - bottom;
    long most = 1;
    for (size_t i = 0; i < n; i++)
        if (bins[i] > most)
            most = bins[i];
    assay_status st =
        assay__buf_printf(b, "<div class=\"chart\" id=\"%s\">", id);
    if (st == ASSAY_OK)
        st = svg_open(b, w, h, "histogram");
    if (st == ASSAY_OK)
        st = svg_text(b, left, 13, "start");
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, "%s</text>", title);
    for (size_t i = 0; st == ASSAY_OK && i < n; i++) {
        double bh = ph * (double)bins[i] / (double)most;
        char tip[64];
        snprintf(tip, sizeof tip, "%ld", bins[i]);
        st = svg_rect(b, "bar", left + pw * (double)i / (double)n + 1,
                      top + ph - bh, pw / (double)n - 2, bh, tip);
    }
    if (st == ASSAY_OK)
        st = svg_line(b, "axis", left, top + ph, left + pw, top + ph);
    if (st == ASSAY_OK && marker >= 0 && marker <= 1)
        st = svg_line(b, "p95", left + pw * marker, top, left + pw * marker,
                      top + ph);
    if (st == ASSAY_OK)
        st = svg_text(b, left, h - 5, "start");
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, "%s</text>", low);
    if (st == ASSAY_OK)
        st = svg_text(b, w - right, h - 5, "end");
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, "%s</text>", high);
    if (st == ASSAY_OK && caption)
        st = svg_text(b, w / 2, h - 5, "middle");
    if (st == ASSAY_OK && caption)
        st = assay__buf_printf(b, "%s</text>", caption);
    return st == ASSAY_OK ? assay__buf_puts(b, "</svg></div>\n") : st;
}

static assay_status put_scores(const html_page *p)
{
    assay__buf *b = p->b;
    assay_status st = assay__buf_puts(
        b, "<section id=\"scores\">\n<h2>Score distribution</h2>\n<p class="
           "\"muted\">Results by score, in tenths from 0 to 1; errors are "
           "counted apart.</p>\n<div class=\"charts\">\n");
    assay__buf title;
    assay__buf_init(&title, 0);
    for (size_t g = 0; st == ASSAY_OK && g < p->n_groups; g++) {
        assay__buf_reset(&title);
        char caption[64];
        snprintf(caption, sizeof caption, "errors: %ld",
                 p->score_bins[g][SCORE_BINS]);
        char id[48];
        snprintf(id, sizeof id, "chart-scores-%zu", g);
        st = group_label(&title, p->s, g, true);
        if (st == ASSAY_OK)
            st = histogram(b, id, title.data, p->score_bins[g], SCORE_BINS, "0",
                           "1", -1, caption);
    }
    assay__buf_release(&title);
    return st == ASSAY_OK ? assay__buf_puts(b, "</div>\n</section>\n") : st;
}

static double bucket_ms(size_t i)
{
    return LATENCY_LOWEST_MS * pow(LATENCY_BASE, (double)i);
}

/* The nonempty range of the latency buckets over every group. */
static bool latency_range(const html_page *p, size_t *lo, size_t *hi)
{
    *lo = ASSAY__LATENCY_BUCKETS;
    *hi = 0;
    for (size_t g = 0; g < p->n_groups; g++) {
        const assay__stats *st = assay__summary_stats(p->s, g);
        for (size_t i = 0; st && i < ASSAY__LATENCY_BUCKETS; i++)
            if (st->latency_hist[i]) {
                if (i < *lo)
                    *lo = i;
                if (i > *hi)
                    *hi = i;
            }
    }
    return *lo <= *hi;
}

static void ms_label(char *out, size_t size, double ms)
{
    if (ms < 10)
        snprintf(out, size, "%.1f ms", ms);
    else if (ms < 10000)
        snprintf(out, size, "%.0f ms", ms);
    else
        snprintf(out, size, "%.0f s", ms / 1000);
    for (char *c = out; *c; c++)
        if (*c == ',')
            *c = '.'; /* whatever the caller's locale did */
}

static assay_status latency_chart(const html_page *p, size_t g, size_t lo,
                                  size_t hi, assay__buf *title)
{
    const assay__stats *stats = assay__summary_stats(p->s, g);
    long bins[LATENCY_BINS] = {0};
    size_t span = hi - lo + 1;
    for (size_t i = lo; stats && i <= hi; i++)
        bins[(i - lo) * LATENCY_BINS / span] += stats->latency_hist[i];
    double p95 = assay_summary_stat(p->s, g, ASSAY_STAT_LATENCY_P95_MS);
    double low = log(bucket_ms(lo)), high = log(bucket_ms(hi + 1));
    double marker = isfinite(p95) && p95 > 0 && high > low
                        ? (log(p95) - low) / (high - low)
                        : -1;
    char first[32], last[32], id[48];
    ms_label(first, sizeof first, bucket_ms(lo));
    ms_label(last, sizeof last, bucket_ms(hi + 1));
    snprintf(id, sizeof id, "chart-latency-%zu", g);
    assay__buf_reset(title);
    assay_status st = group_label(title, p->s, g, true);
    return st == ASSAY_OK ? histogram(p->b, id, title->data, bins, LATENCY_BINS,
                                      first, last, marker, "p95 dashed")
                          : st;
}

static assay_status put_latency(const html_page *p)
{
    size_t lo, hi;
    assay__buf *b = p->b;
    assay_status st =
        assay__buf_puts(b, "<section id=\"latency\">\n<h2>Latency</h2>\n");
    if (st == ASSAY_OK && !latency_range(p, &lo, &hi))
        return assay__buf_puts(b, "<p>No result has a latency.</p>\n"
                                  "</section>\n");
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "<p class=\"muted\">Results by latency, on a "
                                "logarithmic scale shared by every chart; "
                                "errors are left out.</p>\n<div class=\""
                                "charts\">\n");
    assay__buf title;
    assay__buf_init(&title, 0);
    for (size_t g = 0; st == ASSAY_OK && g < p->n_groups; g++)
        st = latency_chart(p, g, lo, hi, &title);
    assay__buf_release(&title);
    return st == ASSAY_OK ? assay__buf_puts(b, "</div>\n</section>\n") : st;
}

/* ------------------------------------------------------------ comparison */

static assay_status diff_chart(assay__buf *b, const assay_compare *c, size_t i,
                               size_t m)
{
    const double w = 180, h = 20;
    double d = assay_compare_metric_stat(c, i, m, ASSAY_DIFF_MEAN);
    double lo = assay_compare_metric_stat(c, i, m, ASSAY_DIFF_LOW);
    double hi = assay_compare_metric_stat(c, i, m, ASSAY_DIFF_HIGH);
    if (!isfinite(d))
        return ASSAY_OK;
    double range = 0.05;
    double ends[] = {d, lo, hi};
    for (size_t k = 0; k < 3; k++)
        if (isfinite(ends[k]) && fabs(ends[k]) > range)
            range = fabs(ends[k]);
    range *= 1.1;
    assay_verdict v = assay_compare_metric_verdict(c, i, m);
    const char *cls = v == ASSAY_VERDICT_REGRESSED  ? "dot regressed"
                      : v == ASSAY_VERDICT_IMPROVED ? "dot improved"
                                                    : "dot";
    assay_status st = svg_open(b, w, h, "difference with its interval");
    if (st == ASSAY_OK)
        st = svg_line(b, "axis", w / 2, 2, w / 2, h - 2);
    if (st == ASSAY_OK && isfinite(lo) && isfinite(hi))
        st = svg_line(b, "ci", w / 2 + lo / range * w / 2, h / 2,
                      w / 2 + hi / range * w / 2, h / 2);
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, "<circle class=\"%s\" r=\"4\"", cls);
    if (st == ASSAY_OK)
        st = coord(b, "cx", w / 2 + d / range * w / 2);
    if (st == ASSAY_OK)
        st = coord(b, "cy", h / 2);
    return st == ASSAY_OK ? assay__buf_puts(b, "/></svg>") : st;
}

static assay_status diff_row(assay__buf *b, const assay_compare *c, size_t i,
                             size_t m)
{
    assay_verdict v = assay_compare_metric_verdict(c, i, m);
    assay_status st =
        assay__buf_printf(b, "<tr class=\"%s\"><td>",
                          v == ASSAY_VERDICT_REGRESSED ? "fail" : "pass");
    if (st == ASSAY_OK)
        st = esc(b, assay_compare_metric_name(c, i, m));
    if (st == ASSAY_OK)
        st = assay__buf_printf(
            b, "</td><td class=\"num\">%.0f</td><td class=\"num\">",
            assay_compare_metric_stat(c, i, m, ASSAY_DIFF_N));
    static const assay_diff_stat cols[] = {
        ASSAY_DIFF_BASE_MEAN, ASSAY_DIFF_CANDIDATE_MEAN, ASSAY_DIFF_MEAN,
        ASSAY_DIFF_LOW, ASSAY_DIFF_HIGH};
    for (size_t k = 0; st == ASSAY_OK && k < 5; k++) {
        if (k)
            st = assay__buf_puts(b, k == 3   ? " ["
                                    : k == 4 ? ", "
                                             : "</td><td "
                                               "class=\"num\">");
        if (st == ASSAY_OK)
            st = percent(b, assay_compare_metric_stat(c, i, m, cols[k]));
    }
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "]</td><td>");
    if (st == ASSAY_OK)
        st = diff_chart(b, c, i, m);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "</td><td class=\"num\">");
    if (st == ASSAY_OK)
        st =
            fixed(b, assay_compare_metric_stat(c, i, m, ASSAY_DIFF_P_VALUE), 4);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "</td><td class=\"num\">");
    if (st == ASSAY_OK)
        st = percent(b, assay_compare_metric_stat(c, i, m, ASSAY_DIFF_MDE));
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, "</td><td class=\"%s\">%s</td></tr>\n",
                               v == ASSAY_VERDICT_REGRESSED ? "bad" : "",
                               assay_verdict_text(v));
    return st;
}

static const char *outcome_word(assay_outcome o)
{
    return o == ASSAY_OUTCOME_PASS   ? "pass"
           : o == ASSAY_OUTCOME_FAIL ? "fail"
                                     : "error";
}

static assay_status transition_list(assay__buf *b, const assay_compare *c,
                                    size_t i, bool passing)
{
    long total = assay_compare_stat_of(c, i,
                                       passing ? ASSAY_COMPARE_NEWLY_PASSING
                                               : ASSAY_COMPARE_NEWLY_FAILING);
    assay_status st = assay__buf_printf(
        b, "<h3 class=\"%s\">Newly %s (%ld)</h3>\n", passing ? "ok" : "bad",
        passing ? "passing" : "failing", total);
    if (st != ASSAY_OK || !total)
        return st;
    st = assay__buf_puts(b, "<p class=\"transitions\">");
    long shown = 0;
    for (size_t t = 0;
         st == ASSAY_OK && t < assay_compare_transition_count(c, i); t++) {
        int repeat;
        assay_outcome was, now;
        const char *id = assay_compare_transition(c, i, t, &repeat, &was, &now);
        if ((now == ASSAY_OUTCOME_PASS) != passing)
            continue;
        if (shown++ == LISTED_TRANSITIONS) {
            st = assay__buf_printf(b, " and %ld more",
                                   total - LISTED_TRANSITIONS);
            break;
        }
        st = assay__buf_puts(b, shown > 1 ? ", " : "");
        if (st == ASSAY_OK)
            st = assay__buf_puts(b, "<a class=\"case-link\" href=\"#cases\" "
                                    "data-case=\"");
        if (st == ASSAY_OK)
            st = esc_attr(b, id);
        if (st == ASSAY_OK)
            st = assay__buf_puts(b, "\">");
        if (st == ASSAY_OK)
            st = esc(b, id);
        if (st == ASSAY_OK)
            st = assay__buf_puts(b, "</a>");
        if (st == ASSAY_OK && repeat)
            st = assay__buf_printf(b, " #%d", repeat);
        if (st == ASSAY_OK &&
            (was == ASSAY_OUTCOME_ERROR || now == ASSAY_OUTCOME_ERROR))
            st = assay__buf_printf(b, " (%s &#8594; %s)", outcome_word(was),
                                   outcome_word(now));
    }
    return st == ASSAY_OK ? assay__buf_puts(b, "</p>\n") : st;
}

static assay_status comparison_side(assay__buf *b, const assay_compare *c,
                                    size_t i, bool candidate)
{
    const char *prompt = assay_compare_prompt(c, i, candidate);
    assay_status st = esc(b, assay_compare_target(c, i, candidate));
    if (st == ASSAY_OK && strcmp(prompt, ASSAY__DEFAULT_PROMPT)) {
        st = assay__buf_puts(b, " / ");
        if (st == ASSAY_OK)
            st = esc(b, prompt);
    }
    return st;
}

static assay_status one_comparison(assay__buf *b, const assay_compare *c,
                                   size_t i)
{
    assay_status st = assay__buf_puts(b, "<h3>");
    if (st == ASSAY_OK)
        st = comparison_side(b, c, i, false);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, " &#8594; ");
    if (st == ASSAY_OK)
        st = comparison_side(b, c, i, true);
    if (st == ASSAY_OK)
        st = assay__buf_printf(
            b,
            ": %ld pairs</h3>\n<table><thead><tr><th>metric</th><th class=\""
            "num\">pairs</th><th class=\"num\">baseline</th><th class=\"num\">"
            "candidate</th><th class=\"num\">diff [%g%% CI]</th><th>"
            "</th><th class=\"num\">p</th><th class=\"num\">MDE</th><th>"
            "verdict</th></tr></thead>\n<tbody>\n",
            assay_compare_stat_of(c, i, ASSAY_COMPARE_PAIRS),
            100 * (1 - assay_compare_alpha(c)));
    for (size_t m = 0; st == ASSAY_OK && m < assay_compare_metric_count(c, i);
         m++)
        st = diff_row(b, c, i, m);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "</tbody></table>\n");
    if (st == ASSAY_OK)
        st = transition_list(b, c, i, false);
    if (st == ASSAY_OK)
        st = transition_list(b, c, i, true);
    return st;
}

static assay_status put_comparison(const html_page *p)
{
    const assay_compare *c = p->in->compare;
    if (!c)
        return ASSAY_OK;
    assay__buf *b = p->b;
    assay_status st = assay__buf_puts(b, "<section id=\"comparison\">\n<h2>"
                                         "Comparison</h2>\n<p>");
    if (st == ASSAY_OK)
        st = esc(b, assay_compare_suite(c, false));
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, " (baseline) &#8594; ");
    if (st == ASSAY_OK)
        st = esc(b, assay_compare_suite(c, true));
    if (st == ASSAY_OK)
        st = assay__buf_printf(
            b,
            " (candidate): <b class=\"%s\">%s</b>. Paired by (case, prompt, "
            "repeat); a regression is a significant drop of more than %g "
            "points at alpha %g; %ld bootstrap resamples, seed %llu.</p>\n",
            assay_compare_passed(c) ? "ok" : "bad",
            assay_compare_passed(c) ? "no regression" : "regressed",
            100 * assay_compare_max_drop(c), assay_compare_alpha(c),
            assay_compare_resamples(c), assay_compare_seed(c));
    for (size_t i = 0; st == ASSAY_OK && i < assay_compare_count(c); i++)
        st = one_comparison(b, c, i);
    return st == ASSAY_OK ? assay__buf_puts(b, "</section>\n") : st;
}

/* ------------------------------------------------------------ cases */

static assay_status put_case_table(const html_page *p)
{
    return assay__buf_puts(
        p->b,
        "<section id=\"cases\">\n<h2>Results</h2>\n<p class=\"muted\">Every "
        "result with its answer and each check's reason, which names what "
        "was expected. The run record holds the rendered prompts' names, "
        "not their text.</p>\n<div class=\"controls\">"
        "<input id=\"case-search\" type=\"search\" placeholder=\"search "
        "cases, answers and reasons\" aria-label=\"search\">"
        "<select id=\"case-target\" aria-label=\"target\"><option value=\"\">"
        "all targets</option></select>"
        "<select id=\"case-prompt\" aria-label=\"prompt\"><option value=\"\">"
        "all prompts</option></select>"
        "<select id=\"case-outcome\" aria-label=\"outcome\"><option value=\"\">"
        "all outcomes</option><option value=\"n\">not passed</option>"
        "<option value=\"0\">pass</option><option value=\"1\">fail</option>"
        "<option value=\"2\">error</option></select>"
        "<button id=\"case-prev\" type=\"button\">previous</button>"
        "<button id=\"case-next\" type=\"button\">next</button>"
        "<span id=\"case-info\" class=\"muted\"></span></div>\n"
        "<table><colgroup><col class=\"w-case\"><col class=\"w-target\">"
        "<col class=\"w-prompt\"><col class=\"w-outcome\"><col class=\"w-score"
        "\"><col class=\"w-latency\"><col class=\"w-answer\"><col class=\""
        "w-checks\"></colgroup>\n<thead><tr><th data-sort=\"case\">case</th>"
        "<th>target</th><th>prompt</th><th>outcome</th><th class=\"num\" "
        "data-sort=\"score\">score</th><th class=\"num\" data-sort=\"latency"
        "\">latency</th><th>answer</th><th>checks: expected and found</th>"
        "</tr></thead>\n<tbody id=\"case-rows\"></tbody></table>\n"
        "</section>\n");
}

/* A JSON string safe inside <script>: < > & and U+2028/9 escaped, invalid
   UTF-8 as U+FFFD, cut to `max` bytes. */
static assay_status js_string(assay__buf *b, const char *s, size_t max)
{
    size_t len = strlen(s);
    size_t take = assay__report_utf8_prefix(s, len, max);
    assay_status st = assay__buf_putc(b, '"');
    size_t run = 0, i = 0;
    while (st == ASSAY_OK && i < take) {
        unsigned char c = (unsigned char)s[i];
        size_t seq = assay__report_utf8_sequence(s + i, take - i);
        bool separator = seq == 3 && c == 0xE2 &&
                         (unsigned char)s[i + 1] == 0x80 &&
                         ((unsigned char)s[i + 2] & 0xFE) == 0xA8;
        bool plain = seq > 1 ? !separator
                             : seq == 1 && c >= 0x20 && !strchr("\"\\<>&", c);
        if (plain) {
            i += seq;
            continue;
        }
        st = assay__buf_append(b, s + run, i - run);
        if (st == ASSAY_OK && seq == 0)
            st = assay__buf_puts(b, "\\ufffd");
        else if (st == ASSAY_OK && separator)
            st = assay__buf_printf(b, "\\u%04x",
                                   0x2028 + ((unsigned char)s[i + 2] & 1));
        else if (st == ASSAY_OK && (c == '"' || c == '\\'))
            st = assay__buf_printf(b, "\\%c", c);
        else if (st == ASSAY_OK)
            st = assay__buf_printf(b, "\\u%04x", c);
        i += seq ? seq : 1;
        run = i;
    }
    if (st == ASSAY_OK)
        st = assay__buf_append(b, s + run, take - run);
    return st == ASSAY_OK ? assay__buf_putc(b, '"') : st;
}

static assay_status js_number(assay__buf *b, double v, int decimals)
{
    return isfinite(v) ? assay__report_put_fixed(b, v, decimals)
                       : assay__buf_puts(b, "null");
}

static const char *string_at(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static assay_status js_checks(assay__buf *b, const cJSON *checks)
{
    assay_status st = assay__buf_putc(b, '[');
    const cJSON *c;
    bool first = true;
    cJSON_ArrayForEach (c, checks) {
        const char *type = string_at(c, "type");
        const char *reason = string_at(c, "reason");
        const cJSON *score = cJSON_GetObjectItemCaseSensitive(c, "score");
        if (st == ASSAY_OK)
            st = assay__buf_puts(b, first ? "[" : ",[");
        first = false;
        if (st == ASSAY_OK)
            st = js_string(b, type ? type : "?", NAME_BYTES);
        if (st == ASSAY_OK)
            st = assay__buf_puts(
                b, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "pass"))
                       ? ",1,"
                       : ",0,");
        if (st == ASSAY_OK)
            st = js_number(b, cJSON_IsNumber(score) ? score->valuedouble : NAN,
                           4);
        if (st == ASSAY_OK)
            st = assay__buf_putc(b, ',');
        if (st == ASSAY_OK)
            st = js_string(b, reason ? reason : "", REASON_BYTES);
        if (st == ASSAY_OK)
            st = assay__buf_putc(b, ']');
    }
    return st == ASSAY_OK ? assay__buf_putc(b, ']') : st;
}

static assay_status js_error(assay__buf *b, const assay__report_row *r)
{
    if (r->outcome != ASSAY__OUTCOME_ERROR)
        return assay__buf_puts(b, "null");
    assay__buf text;
    assay__buf_init(&text, 0);
    assay_status st = assay__buf_puts(&text, r->error_kind);
    if (st == ASSAY_OK && r->error_status)
        st = assay__buf_printf(&text, " %ld", r->error_status);
    if (st == ASSAY_OK && r->error_message)
        st = assay__buf_printf(&text, ": %s", r->error_message);
    if (st == ASSAY_OK)
        st = js_string(b, text.data, REASON_BYTES);
    assay__buf_release(&text);
    return st;
}

typedef struct rows_state {
    html_page *page;
    FILE *out;
    long written;
} rows_state;

static assay_status on_row(void *user, const assay__report_row *r,
                           assay_error *err)
{
    rows_state *rs = user;
    html_page *p = rs->page;
    assay__buf *b = p->b;
    long g = assay__report_group(p->s, r);
    if (g < 0 || (size_t)g >= p->n_groups)
        return assay__error(err, ASSAY_ERR_RECORD, p->in->record_path,
                            (int)r->line, 0,
                            "the result's target is not in the header");
    assay_status st = assay__buf_puts(b, rs->written++ ? ",\n[" : "\n[");
    if (st == ASSAY_OK)
        st = js_string(b, r->case_id, NAME_BYTES);
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, ",%zu,%zu,%d,%d,", p->group_target[g],
                               p->group_prompt[g], r->repeat,
                               r->outcome == ASSAY__OUTCOME_PASS   ? 0
                               : r->outcome == ASSAY__OUTCOME_FAIL ? 1
                                                                   : 2);
    if (st == ASSAY_OK)
        st = js_number(b, r->score, 4);
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, ',');
    if (st == ASSAY_OK)
        st = js_number(b, r->latency_ms, 1);
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, ',');
    if (st == ASSAY_OK)
        st = r->output ? js_string(b, r->output, p->answer_bytes)
                       : assay__buf_puts(b, "null");
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, ',');
    if (st == ASSAY_OK)
        st = js_checks(b, r->checks);
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, ',');
    if (st == ASSAY_OK)
        st = js_error(b, r);
    size_t full = r->output ? strlen(r->output) : 0;
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, ",%zu]",
                               full > p->answer_bytes ? full : (size_t)0);
    if (st != ASSAY_OK)
        return st;
    return assay__report_spill(b, rs->out, SPILL_BYTES, err);
}

static assay_status js_names(assay__buf *b, const char *key, const char **names,
                             size_t n)
{
    assay_status st = assay__buf_printf(b, "\"%s\":[", key);
    for (size_t i = 0; st == ASSAY_OK && i < n; i++) {
        if (i)
            st = assay__buf_putc(b, ',');
        if (st == ASSAY_OK)
            st = js_string(b, names[i], NAME_BYTES);
    }
    return st == ASSAY_OK ? assay__buf_puts(b, "],") : st;
}

static assay_status put_data(html_page *p, FILE *out, assay_error *err)
{
    assay__buf *b = p->b;
    assay_status st = assay__buf_puts(b, "<script type=\"application/json\" "
                                         "id=\"assay-data\">{");
    if (st == ASSAY_OK)
        st = js_names(b, "targets", p->targets, p->n_targets);
    if (st == ASSAY_OK)
        st = js_names(b, "prompts", p->prompts, p->n_prompts);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "\"rows\":[");
    rows_state rs = {.page = p, .out = out};
    if (st == ASSAY_OK)
        st = assay__report_rows(p->in->record_path, on_row, &rs, err);
    if (st == ASSAY_OK)
        st = assay__buf_printf(b,
                               "\n]}</script>\n<script>%s</script>\n"
                               "</body>\n</html>\n",
                               p->script.data);
    return st;
}

/* ------------------------------------------------------------ setup */

/* The index of `name` in names[0..*n), added when new. */
static size_t name_index(const char **names, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(names[i], name))
            return i;
    names[*n] = name;
    return (*n)++;
}

static assay_status index_groups(html_page *p)
{
    size_t n = p->n_groups ? p->n_groups : 1;
    p->targets = calloc(n, sizeof *p->targets);
    p->prompts = calloc(n, sizeof *p->prompts);
    p->group_target = calloc(n, sizeof *p->group_target);
    p->group_prompt = calloc(n, sizeof *p->group_prompt);
    p->score_bins = calloc(n, sizeof *p->score_bins);
    if (!p->targets || !p->prompts || !p->group_target || !p->group_prompt ||
        !p->score_bins)
        return ASSAY_ERR_NOMEM;
    for (size_t g = 0; g < p->n_groups; g++) {
        p->group_target[g] = name_index(p->targets, &p->n_targets,
                                        assay_summary_group_target(p->s, g));
        p->group_prompt[g] = name_index(p->prompts, &p->n_prompts,
                                        assay_summary_group_prompt(p->s, g));
    }
    return ASSAY_OK;
}

static void release_page(html_page *p)
{
    free(p->targets);
    free(p->prompts);
    free(p->group_target);
    free(p->group_prompt);
    free(p->score_bins);
    assay__buf_release(&p->script);
}

static assay_status bins_header(void *user, const assay__record_header *h,
                                assay_error *err)
{
    (void)user;
    (void)h;
    (void)err;
    return ASSAY_OK;
}

static assay_status bins_result(void *user, const assay__observation *o,
                                const char *path, long line, assay_error *err)
{
    html_page *p = user;
    long g = assay__summary_group_of(p->s, o->target, o->prompt);
    if (g < 0 || (size_t)g >= p->n_groups)
        return assay__error(err, ASSAY_ERR_RECORD, path, (int)line, 0,
                            "the result's target is not in the header");
    size_t bin = SCORE_BINS; /* errors */
    if (o->outcome != ASSAY__OUTCOME_ERROR) {
        double score = isfinite(o->score) ? o->score : 0;
        bin = score <= 0   ? 0
              : score >= 1 ? SCORE_BINS - 1
                           : (size_t)(score * SCORE_BINS);
    }
    p->score_bins[g][bin]++;
    return ASSAY_OK;
}

static size_t answer_budget(const assay_summary *s, size_t n_groups)
{
    double results = 0;
    for (size_t g = 0; g < n_groups; g++) {
        double v = assay_summary_stat(s, g, ASSAY_STAT_RESULTS);
        results += isnan(v) ? 0 : v;
    }
    double each = results > 0 ? (double)ANSWERS_BUDGET / results : ANSWER_MAX;
    return each < ANSWER_MIN   ? ANSWER_MIN
           : each > ANSWER_MAX ? ANSWER_MAX
                               : (size_t)each;
}

static assay_status put_page(html_page *p, FILE *out, assay_error *err)
{
    assay_status st = index_groups(p);
    if (st == ASSAY_OK)
        st = join_script(&p->script);
    if (st == ASSAY_OK)
        st = assay__record_scan(p->in->record_path, bins_header, bins_result, p,
                                err);
    if (st == ASSAY_OK)
        st = put_head(p);
    if (st == ASSAY_OK)
        st = put_verdict(p);
    if (st == ASSAY_OK)
        st = put_gates(p);
    if (st == ASSAY_OK)
        st = put_comparison(p);
    if (st == ASSAY_OK)
        st = put_summary(p);
    if (st == ASSAY_OK)
        st = put_scores(p);
    if (st == ASSAY_OK)
        st = put_latency(p);
    if (st == ASSAY_OK)
        st = put_metrics(p);
    if (st == ASSAY_OK)
        st = put_repeats(p);
    if (st == ASSAY_OK)
        st = put_case_table(p);
    if (st == ASSAY_OK)
        st = assay__report_spill(p->b, out, 0, err);
    if (st == ASSAY_OK)
        st = put_data(p, out, err);
    return st;
}

assay_status assay__report_html(const assay__report_input *in, FILE *out,
                                assay_error *err)
{
    assay__buf b;
    assay__buf_init(&b, 0);
    if (!in->summary || !in->record_path)
        return assay__report_finish(
            &b, out,
            assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                         "the HTML report shows every result: it needs the "
                         "run record (assay_report_write)"),
            "HTML", err);
    html_page p = {.b = &b,
                   .in = in,
                   .s = in->summary,
                   .n_groups = assay_summary_group_count(in->summary)};
    p.answer_bytes = answer_budget(p.s, p.n_groups);
    assay__buf_init(&p.script, 0);
    assay_status st = put_page(&p, out, err);
    release_page(&p);
    return assay__report_finish(&b, out, st, "HTML", err);
}
