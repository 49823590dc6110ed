/*
 * header_only.c - include/assay.h compiles on its own, first and alone,
 * and links against the shared library with nothing else.
 */
#include <assay.h>

int main(void)
{
    assay_error err;
    assay_error_clear(&err);
    return assay_version()[0] == ASSAY_VERSION_STRING[0] ? 0 : 1;
}
