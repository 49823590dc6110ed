/*
 * fuzz.h - what the fuzz targets share: the libFuzzer entry point they each
 * define, small helpers that turn the fuzzer's bytes into the inputs the
 * library takes (a C string, two parts, a file), and the walk over a
 * dataset's cases that the dataset and suite targets have in common.
 *
 * Every target is one file defining LLVMFuzzerTestOneInput. It is linked
 * either with libFuzzer (-Dfuzzing=true, clang) or with replay.c, which
 * runs it over saved inputs, so the corpora are replayed in every build.
 * The helpers abort on failures of the host (out of memory, no memfd),
 * never on anything the input says: only the library's bugs may crash.
 */
#ifndef ASSAY_FUZZ_H
#define ASSAY_FUZZ_H

#include "internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The target: must return 0 and must not keep state between inputs. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the bytes (which may hold NULs themselves). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/*
 * Splits the input at its first NUL byte: the part before is *head, the
 * rest *tail. Without a NUL, the whole input is the head and *tail is
 * NULL. Both point into `data`.
 */
void fuzz_split(const uint8_t *data, size_t size, const uint8_t **head,
                size_t *head_len, const uint8_t **tail, size_t *tail_len);

/*
 * A file in memory holding the bytes, for readers that take a path: the
 * path is written to `path` ("/proc/self/fd/N"), and the descriptor is
 * returned for fuzz_file_close. Nothing touches the disk, and a crash
 * leaves nothing behind.
 */
#define FUZZ_PATH_MAX 64
int fuzz_file_open(const uint8_t *data, size_t size, char path[FUZZ_PATH_MAX]);
void fuzz_file_close(int fd);

/*
 * False for the checks a run refuses when the suite does not say
 * `allow_exec: true` (`exec`, `not-exec`): the targets allow none, and
 * fuzz_input.c makes any program start abort, since one would mean that
 * the guard was bypassed.
 */
bool fuzz_check_allowed(const assay__check *c);

/*
 * Scores `output` with one check as a run would, unless the check is not
 * allowed. `response` (may be NULL) is what the operational and tool-call
 * checks read. A model-graded check first renders its question to the
 * grader and is then handed `output` as the grader's reply too.
 */
void fuzz_score(const assay__check *c, const char *output, size_t len,
                const cJSON *vars, const char *case_id,
                const assay__response *response);

/* Scores `output` with the checks a case carries (its `checks:` or CSV
   `__expected` columns). */
void fuzz_run_case_checks(const assay__case *c, const char *output,
                          size_t len);

/*
 * Reads a dataset file of the given format made of the bytes, through
 * every case, with, depending on the input's size, a `map:`, a skip
 * callback, a filter, a sample and a limit, so that each path is taken. Each case's
 * fields are printed back and its own checks are run.
 */
void fuzz_read_dataset(const uint8_t *data, size_t size,
                       assay__data_format format);

#endif /* ASSAY_FUZZ_H */
