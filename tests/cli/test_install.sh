#!/usr/bin/env bash
# `meson install` of this build, as a packager or a user would consume it:
# installed into a scratch DESTDIR, it holds the shared library with its
# versioned soname, the static library, include/assay.h, assay.pc, the
# `assay` command and its man page, and nothing else (no fake server, no
# test, fuzz or example program). examples/compare_models.c is then built
# against the installed files with nothing but `pkg-config --cflags --libs
# assay` (shared) and `pkg-config --static` (libassay.a, its dependencies
# shared), and each program runs against the fake server.
#
# Why this build and not a fresh plain one: installing is a copy (well
# under a second), where configuring and compiling the library again would
# take most of a minute on two cores. The sanitized build's library needs
# the sanitizer runtimes, which no .pc file lists, so the program gets the
# build's -fsanitize flags (SANITIZE, empty in a plain build) besides
# pkg-config's; nothing else comes from the build tree.
#
# meson passes BUILD_ROOT, MESON, CC and SANITIZE besides lib.sh's ASSAY,
# FAKE_SERVER and SOURCE_ROOT.
. "$(dirname "$0")/lib.sh"
: "${BUILD_ROOT:?BUILD_ROOT must name the build folder}"
: "${MESON:?MESON must name the meson command}"
: "${CC:?CC must name the C compiler}"
# meson test points LD_LIBRARY_PATH at the build's library; only the
# installed one may be found here.
unset LD_LIBRARY_PATH

DESTDIR=$SCRATCH/stage
if ! "$MESON" install -C "$BUILD_ROOT" --no-rebuild --destdir "$DESTDIR" \
    >install.log 2>&1; then
    cat install.log >&2
    echo "meson install failed" >&2
    exit 1
fi

# (1) What is installed, by name: the folders depend on the prefix and
# libdir the build was configured with, so they are found, not assumed.
expect_eq "install: these files and no others" \
    "assay assay.1 assay.h assay.pc libassay.a libassay.so libassay.so.0 libassay.so.0.1.0" \
    "$(find "$DESTDIR" ! -type d -printf '%f\n' | sort | tr '\n' ' ' | sed 's/ $//')"
pc=$(find "$DESTDIR" -name assay.pc)
libdir=$(dirname "$(dirname "$pc")")
bin=$(find "$DESTDIR" -name assay ! -type d)
expect_eq "install: the man page is docs/assay.1" "" \
    "$(cmp "$SOURCE_ROOT/docs/assay.1" "$(find "$DESTDIR" -name assay.1)" 2>&1)"
expect_eq "install: the header is include/assay.h" "" \
    "$(cmp "$SOURCE_ROOT/include/assay.h" "$(find "$DESTDIR" -name assay.h)" 2>&1)"
expect_match "install: the soname carries the major version" \
    'Library soname: \[libassay\.so\.0\]' "$(readelf -d "$libdir/libassay.so.0.1.0")"
expect_eq "install: libassay.so -> libassay.so.0 -> libassay.so.0.1.0" \
    "libassay.so.0 libassay.so.0.1.0" \
    "$(readlink "$libdir/libassay.so") $(readlink "$libdir/libassay.so.0")"
expect_match "install: the .pc file lists the private dependencies" \
    '^Requires.private: libcurl.*libcjson.*yaml-0\.1.*libpcre2-8' "$(cat "$pc")"
LD_LIBRARY_PATH=$libdir ${ASSAY_WRAPPER:-} "$bin" version >version.out 2>&1
code=$?
expect_eq "install: the installed assay runs on the installed library" 0 "$code"
expect_match "install: it says its version" '0\.1\.0' "$(cat version.out)"

# (2) A program built with pkg-config alone. PKG_CONFIG_SYSROOT_DIR puts
# DESTDIR in front of the prefix the .pc file names, as for any staged
# install (and in front of the system libraries' folders, which do not
# exist there and which the compiler skips).
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR=$DESTDIR
cflags=$(pkg-config --cflags assay)
libs=$(pkg-config --libs assay)
static_libs=$(pkg-config --static --libs assay)
expect_match "pkg-config: the installed include folder" "-I$DESTDIR/[^ ]*include" "$cflags"
expect_match "pkg-config: -lassay" '(^| )-lassay( |$)' "$libs"
expect_match "pkg-config --static: the dependencies too" '-lcurl.*-lyaml.*-lpcre2-8' "$static_libs"

# compile OUT LIBS...: examples/compare_models.c, as strictly as the
# project compiles itself. $CC and $SANITIZE are word lists on purpose.
compile() {
    local out=$1
    shift
    # shellcheck disable=SC2086
    $CC -std=c11 -Wall -Wextra -Wpedantic -Werror ${SANITIZE:-} $cflags \
        -o "$out" "$SOURCE_ROOT/examples/compare_models.c" "$@" 2>"$out.err"
}
# shellcheck disable=SC2086 # the flags are words
compile compare-shared $libs
code=$?
expect_eq "shared: it compiles and links" "0 " "$code $(cat compare-shared.err)"
# libassay.a in a program whose other libraries are shared, linked with
# what --static lists. Of that list, only the libraries this system can
# link are kept: the whole static closure also names libcurl's own
# private libraries (nghttp2, ssh2, ldap, ...), whose development files
# Debian does not install and which the shared libcurl brings along. What
# libassay.a itself needs must all be kept.
linkable() {
    local file
    for file in "lib${1#-l}.so" "lib${1#-l}.a"; do
        # shellcheck disable=SC2086
        [ "$($CC -print-file-name="$file")" != "$file" ] && return 0
    done
    return 1
}
static_link=()
left_out=
for flag in $static_libs; do
    case $flag in
    -lassay) static_link+=("-Wl,-Bstatic" -lassay "-Wl,-Bdynamic") ;;
    -l*) if linkable "$flag"; then static_link+=("$flag"); else left_out+=" $flag"; fi ;;
    *) static_link+=("$flag") ;;
    esac
done
for direct in -lcurl -lcjson -lyaml -lpcre2-8 -lcrypto -lsqlite3 -lexpat; do
    expect_eq "static: $direct is listed and linked" "listed, kept" \
        "$(grep -qE -- "(^| )$direct( |\$)" <<<"$static_libs" && echo listed), $(
           grep -qE -- "(^| )$direct( |\$)" <<<"$left_out" && echo left out || echo kept)"
done
compile compare-static "${static_link[@]}"
code=$?
expect_eq "static: it compiles and links" "0 " "$code $(cat compare-static.err)"
expect_eq "shared: it needs libassay.so.0" "1" \
    "$(readelf -d compare-shared | grep -c 'NEEDED.*\[libassay\.so\.0\]')"
expect_eq "static: it needs no libassay.so" "0" \
    "$(readelf -d compare-static | grep -c 'NEEDED.*libassay')"

# (3) Both run: the quickstart questions, answered right, to two targets.
jq -c '{match: .question, reply: "It is \(.answer)."}' \
    "$SOURCE_ROOT/datasets/quickstart.jsonl" >answers.jsonl
start_server --answers answers.jsonl
export OPENAI_BASE_URL=$BASE_URL
for kind in shared static; do
    # shellcheck disable=SC2086 # the wrapper is a command line
    env LD_LIBRARY_PATH="$libdir" ${ASSAY_WRAPPER:-} "./compare-$kind" \
        "$SOURCE_ROOT/examples/compare_models.yaml" "$kind.jsonl" \
        >"$kind.out" 2>"$kind.err"
    code=$?
    expect_eq "$kind: it exits 0 ($(cat "$kind.err"))" 0 "$code"
    expect_match "$kind: it pairs the two targets" \
        "^target 'small' -> 'large': 40 pairs" "$(cat "$kind.out")"
    expect_match "$kind: no regression" '^verdict: no regression$' "$(cat "$kind.out")"
done
expect_match "shared: the installed library is the one loaded" \
    "libassay\.so\.0 => $libdir/libassay\.so\.0" \
    "$(LD_LIBRARY_PATH=$libdir ldd ./compare-shared)"
stop_server

finish
