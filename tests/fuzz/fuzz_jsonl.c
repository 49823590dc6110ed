/*
 * fuzz_jsonl.c - fuzzes the JSON Lines dataset reader (dataset.c): lines
 * cut from blocks, UTF-8 and mapping checks, ids and duplicate ids, `map:`
 * entries, a case's own `checks:`, and selection over the stream.
 *
 * The input is the file. One that starts with '[' is also read as a JSON
 * array dataset, the other format whose records are JSON. CSV files are
 * fuzz_csv.c's.
 */
#include "fuzz.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_read_dataset(data, size, ASSAY__DATA_JSONL);
    if (size && data[0] == '[')
        fuzz_read_dataset(data, size, ASSAY__DATA_JSON);
    return 0;
}
