/*
 * idset.h - the set of a dataset's explicit case ids, for finding a
 * duplicate the moment it is read, in memory that does not grow with the
 * dataset (idset.c says how).
 */
#ifndef ASSAY_IDSET_H
#define ASSAY_IDSET_H

#include "internal.h"

typedef struct assay__idset assay__idset;

/* The ids held in memory before they go to disk (about 32 bytes each). */
#define ASSAY__IDSET_MEMORY_IDS ((size_t)1 << 16)

/* A set that keeps up to `memory_ids` ids in memory (0: the default);
   NULL when out of memory. */
assay__idset *assay__idset_new(size_t memory_ids);
void assay__idset_free(assay__idset *s);

/*
 * Adds `id`: ASSAY_OK when it is new, ASSAY_ERR_DATASET when it was added
 * before, ASSAY_ERR_NOMEM, or ASSAY_ERR_IO when the temporary file fails
 * (said in `err`).
 */
assay_status assay__idset_add(assay__idset *s, const char *id,
                              assay_error *err);

/* How many ids the set holds, and how many of them are on disk. */
size_t assay__idset_count(const assay__idset *s);
size_t assay__idset_on_disk(const assay__idset *s);

#endif
