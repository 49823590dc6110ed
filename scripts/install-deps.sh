# install-deps.sh - sourced by the README's commands: installs the Debian
# packages a build (and, with --tests, the test suite) needs, when missing.
#
#   . scripts/install-deps.sh && install_deps [--tests] [--with PKG...]

BUILD_PACKAGES="gcc meson ninja-build pkg-config libcurl4-openssl-dev \
libcjson-dev libyaml-dev libpcre2-dev libssl-dev libmicrohttpd-dev \
libsqlite3-dev libexpat1-dev"
# libxml2-utils: xmllint, which validates the JUnit report against its schema.
# clang-tidy: tests/tidy.sh.
TEST_PACKAGES="libcmocka-dev jq sqlite3 curl libxml2-utils g++ clang-tidy"
# tests/fuzz/run.sh: clang and its libFuzzer runtime.
FUZZ_PACKAGES="clang libclang-rt-14-dev"

missing_packages() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
            grep -q 'install ok installed' || printf '%s ' "$pkg"
    done
}

install_deps() {
    local wanted=$BUILD_PACKAGES
    [ "${1:-}" = "--tests" ] && { wanted="$wanted $TEST_PACKAGES"; shift; }
    [ "${1:-}" = "--with" ] && { shift; wanted="$wanted $*"; }
    # shellcheck disable=SC2086
    local missing
    missing=$(missing_packages $wanted)
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages: $missing" >&2
        echo "install them with: sudo apt-get install $missing" >&2
        return 1
    fi
    echo "installing: $missing" >&2
    apt-get update -qq >&2
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
}
