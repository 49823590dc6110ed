/*
 * yaml_to_json.c - prints a YAML (or JSON) file as one line of JSON, read
 * by the library's own loader (lib/yaml.c), so that an end-to-end test can
 * check a file's shape with jq. The loader is stricter than most: a
 * duplicate key, a merge key (`<<`) or a second document is refused with
 * "file:line:column: what is wrong" on stderr and exit status 1.
 *
 *   yaml_to_json FILE
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    assay_error err;
    assay_error_clear(&err);
    assay__doc *doc;
    if (assay__doc_load(argv[1], &doc, &err) != ASSAY_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    char *text = cJSON_PrintUnformatted(assay__doc_root(doc));
    int code = text && printf("%s\n", text) >= 0 ? 0 : 1;
    if (!text)
        fprintf(stderr, "%s: out of memory\n", argv[1]);
    cJSON_free(text);
    assay__doc_free(doc);
    return code;
}
