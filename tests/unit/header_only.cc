// header_only.cc - include/assay.h compiles as C++ on its own and links
// with C linkage (its extern "C" block).
#include <assay.h>

int main()
{
    assay_error err;
    assay_error_clear(&err);
    return assay_version()[0] == ASSAY_VERSION_STRING[0] ? 0 : 1;
}
