/*
 * fuzz_csv.c - fuzzes the CSV reader (csv.c) on its own and the CSV
 * datasets built on it (dataset.c: the header row, promptfoo `__expected`
 * columns compiled into checks).
 *
 * The input is the file. The reader is fed it in pieces whose sizes come
 * from the input, so that quotes, CRLF pairs and records are split across
 * feeds. A malformed record is an error after which the reader goes on at
 * the next line; an error that does not move it forward would loop for
 * ever, so more errors than the input has bytes abort, as does asking
 * for more bytes after the last.
 */
#include "fuzz.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

static size_t piece_size(const uint8_t *data, size_t size, size_t k)
{
    return (size_t)(data[k % size] & 31) + 1;
}

static void read_records(const uint8_t *data, size_t size)
{
    assay__csv *r = NULL;
    assay_error err;
    if (assay__csv_new("fuzz.csv", &r, &err) != ASSAY_OK)
        abort(); /* only out of memory, which is not the input's doing */
    size_t fed = 0, pieces = 0, errors = 0;
    bool finished = false;
    for (;;) {
        assay__csv_result res;
        if (assay__csv_next(r, &res, &err) != ASSAY_OK) {
            if (++errors > size + 1) {
                fprintf(stderr, "csv: %zu errors from %zu bytes: the reader "
                        "does not move on\n", errors, size);
                abort();
            }
            continue;
        }
        if (res == ASSAY__CSV_END)
            break;
        if (res == ASSAY__CSV_MORE) {
            if (finished) {
                fprintf(stderr, "csv: asks for more after finish\n");
                abort();
            }
            size_t n = fed < size ? piece_size(data, size, pieces++) : 0;
            if (n > size - fed)
                n = size - fed;
            if (n == 0) {
                assay__csv_finish(r);
                finished = true;
            }
            else if (assay__csv_feed(r, (const char *)data + fed, n, &err) !=
                     ASSAY_OK)
                break;
            fed += n;
            continue;
        }
        for (size_t i = 0; i < assay__csv_field_count(r); i++) {
            size_t len;
            const char *field = assay__csv_field(r, i, &len);
            if (len && !field)
                abort();
        }
        (void)assay__csv_line(r);
    }
    assay__csv_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_records(data, size);
    fuzz_read_dataset(data, size, ASSAY__DATA_CSV);
    return 0;
}
