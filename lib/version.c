/*
 * version.c - the version of the library actually linked, which may differ
 * from the header a program was compiled against, and the process-wide
 * set-up of the HTTP library.
 */
#include "internal.h"

#include <curl/curl.h>

const char *assay_version(void)
{
    return ASSAY_VERSION_STRING;
}

/* libcurl's global state is the only process-wide state the library has. */
assay_status assay_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? ASSAY_OK
                                                              : ASSAY_ERR_NOMEM;
}

void assay_global_cleanup(void)
{
    curl_global_cleanup();
}
