#!/usr/bin/env bash
# The install, checked as a user of it would see it:
#   tests/install/check.sh [build-dir]
# configures and builds the tree into build-dir (default: a temporary one) with
# -DSIO_BUILD_TESTS=OFF -DSIO_BUILD_LOADTEST=OFF, installs it with
# `cmake --install --prefix <temporary prefix>`, then checks the installed tree:
# the files and libsio's SONAME, that libsio exports only what the public
# headers declare, that those headers include nothing but each other and
# system/third-party headers, that examples/chat.c builds out of the tree with
# pkg-config (cc, and a CMake project with pkg_check_modules) and that both
# binaries answer an Engine.IO handshake. One line per step; exit 1 on the first
# failure (with the end of that step's log). JOBS=<n> sets the build's -j
# (default: nproc); KEEP=1 keeps the temporary directories.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
jobs=${JOBS:-$(nproc)}
work=$(mktemp -d "${TMPDIR:-/tmp}/sio-install-check.XXXXXX")
build=${1:-$work/build}
prefix=$work/prefix
log=$work/step.log
server_pid=

cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        echo "install-check: kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

ok() { echo "install-check: ok: $*"; }
fail() {
    echo "install-check: FAIL: $*" >&2
    if [ -s "$log" ]; then
        echo "---- last lines of the log ----" >&2
        tail -n 40 "$log" >&2
    fi
    exit 1
}
# run <what> <command...>: the command's output goes to the step log.
run() {
    local what=$1
    shift
    "$@" >"$log" 2>&1 || fail "$what (exit $?): $*"
}
for tool in cmake pkg-config readelf nm curl cc; do
    command -v "$tool" >/dev/null || fail "needs $tool"
done

# 1. Configure without tests and load generator: wslay is not even looked for.
run "configure" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSIO_BUILD_TESTS=OFF -DSIO_BUILD_LOADTEST=OFF
if grep -v -e '^//' -e '^#' "$build/CMakeCache.txt" | grep -qi wslay; then
    fail "configure with SIO_BUILD_LOADTEST=OFF looked for wslay ($build/CMakeCache.txt)"
fi
ok "configured $build (SIO_BUILD_TESTS=OFF SIO_BUILD_LOADTEST=OFF, no wslay looked for)"

# 2. Build everything that is left.
run "build" cmake --build "$build" -j"$jobs"
for t in sio-bench tests/sio-api-test-server tests/sio-redis-probe sio-conformance; do
    [ ! -e "$build/$t" ] || fail "$t was built with SIO_BUILD_TESTS=OFF SIO_BUILD_LOADTEST=OFF"
done
ok "built (-j$jobs), no test or load-test binaries"

# 3. Install into a prefix given only now (not the configure-time one).
run "install" cmake --install "$build" --prefix "$prefix"
pc=$(find "$prefix" -name sio.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || fail "no pkgconfig/sio.pc under $prefix"
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
incdir=$prefix/include/sio
[ -x "$prefix/bin/sio-server" ] || fail "no $prefix/bin/sio-server"
[ -L "$libdir/libsio.so" ] || fail "no namelink $libdir/libsio.so"
[ -L "$libdir/libsio.so.0" ] || fail "no SONAME link $libdir/libsio.so.0"
[ -f "$libdir/libsio.so.0.1.0" ] || fail "no $libdir/libsio.so.0.1.0"
[ -f "$incdir/sio.h" ] || fail "no $incdir/sio.h"
ok "installed into $prefix: bin/sio-server, ${libdir#"$prefix"/}/libsio.so{,.0,.0.1.0}," \
   "include/sio/ ($(cd "$incdir" && echo *.h)), ${pc#"$prefix"/}"

run "sio-server --help" "$prefix/bin/sio-server" --help
ok "installed sio-server runs (--help)"

# 4. libsio's SONAME, and its exports: only what the public headers declare.
soname=$(readelf -d "$libdir/libsio.so.0.1.0" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$soname" = libsio.so.0 ] || fail "SONAME of libsio.so.0.1.0 is '$soname', not libsio.so.0"
[ "$(readlink "$libdir/libsio.so")" = libsio.so.0 ] || fail "libsio.so does not point to libsio.so.0"
ok "readelf: SONAME libsio.so.0"

exports=$(nm -D --defined-only "$libdir/libsio.so.0.1.0" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort)
[ -n "$exports" ] || fail "libsio exports no symbol"
undeclared=
for sym in $exports; do
    grep -qw -- "$sym" "$incdir"/*.h || undeclared="$undeclared $sym"
done
[ -z "$undeclared" ] || fail "libsio exports symbols no installed header declares:$undeclared"
ok "libsio exports $(echo "$exports" | wc -l) symbols, each declared in an installed header"

# 5. The installed headers include only each other and system/third-party
# headers: no quoted include that is not installed, no include named like one of
# the tree's internal headers, and each compiles on its own with only the
# installed directory and sio.pc's flags (from any directory but the tree).
export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
run "pkg-config" pkg-config --exists --print-errors sio
cflags=$(pkg-config --cflags sio)
libs=$(pkg-config --libs sio)
version=$(pkg-config --modversion sio)
[ "$version" = 0.1.0 ] || fail "pkg-config --modversion sio is '$version', not 0.1.0"
case " $cflags " in
    *" -I$incdir "*) ;;
    *) fail "pkg-config --cflags sio ($cflags) has no -I$incdir" ;;
esac
internal=$(cd "$root" && find server protocol adapters -name '*.h' -printf '%f\n' | sort -u)
for h in "$incdir"/*.h; do
    while read -r inc; do
        name=${inc:1:${#inc}-2}
        if [ "${inc:0:1}" = '"' ] && [ ! -f "$incdir/$name" ]; then
            fail "$(basename "$h") includes $inc, which is not installed"
        fi
        if [ ! -f "$incdir/$name" ] && grep -qxF -- "$(basename "$name")" <<<"$internal"; then
            fail "$(basename "$h") includes $inc, an internal header of the tree"
        fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' "$h")
done
for h in "$incdir"/*.h; do
    # shellcheck disable=SC2086
    (cd "$work" && cc -std=gnu11 -fsyntax-only -Wall -Werror -x c $cflags "$h") >"$log" 2>&1 ||
        fail "$(basename "$h") does not compile on its own with pkg-config --cflags sio"
    # shellcheck disable=SC2086
    deps=$(cd "$work" && cc -std=gnu11 -M -x c $cflags "$h" |
        awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }')
    if grep -e "^$root/" -e "^$build/" <<<"$deps" >"$log"; then
        fail "$(basename "$h") reaches headers of the source or build tree"
    fi
done
ok "installed headers include only each other and system/third-party headers, each compiles alone"

# 6. examples/chat.c out of the tree: cc with pkg-config, then a CMake project.
mkdir -p "$work/cc" "$work/cmake"
cp "$root/examples/chat.c" "$work/cc/chat.c"
cp "$root/examples/chat.c" "$work/cmake/chat.c"
# shellcheck disable=SC2086
run "cc chat.c" cc -Wall -Werror -o "$work/cc/chat" "$work/cc/chat.c" $cflags $libs
ok "cc chat.c \$(pkg-config --cflags --libs sio): $cflags $libs"

cat >"$work/cmake/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(sio_chat_consumer C)
find_package(PkgConfig REQUIRED)
pkg_check_modules(sio REQUIRED IMPORTED_TARGET sio)
add_executable(chat chat.c)
target_compile_options(chat PRIVATE -Wall -Werror)
target_link_libraries(chat PRIVATE PkgConfig::sio)
EOF
run "CMake project (configure)" cmake -S "$work/cmake" -B "$work/cmake/build"
run "CMake project (build)" cmake --build "$work/cmake/build"
ok "CMake project with pkg_check_modules(sio IMPORTED_TARGET sio) built chat.c"

# 7. Both binaries, on the installed libsio: a free loopback port (port 0 lets
# the edge choose; chat prints it), one Engine.IO polling handshake.
handshake() {
    local bin=$1 out=$work/server.out port='' body code
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$bin" >"$log" 2>&1 ||
        fail "ldd $bin"
    grep -q "libsio.so.0 => $libdir/libsio.so.0" "$log" ||
        fail "$bin does not load libsio.so.0 from $libdir"
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$bin" 0 >"$out" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/^chat on port \([0-9][0-9]*\)$/\1/p' "$out")
        [ -n "$port" ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    cp "$out" "$log"
    [ -n "$port" ] || fail "$bin did not start listening"
    code=$(curl -sS --max-time 5 -o "$work/body" -w '%{http_code}' \
        "http://127.0.0.1:$port/socket.io/?EIO=4&transport=polling" 2>>"$log") ||
        fail "curl to $bin on 127.0.0.1:$port"
    body=$(cat "$work/body")
    [ "$code" = 200 ] || fail "$bin answered the handshake with HTTP $code: $body"
    case "$body" in
        '0{"sid"'*) ;;
        *) fail "$bin's handshake body does not start with 0{\"sid\": $body" ;;
    esac
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=
    ok "$2 on 127.0.0.1:$port: GET /socket.io/?EIO=4&transport=polling -> 200 ${body:0:40}..."
}
handshake "$work/cc/chat" "chat (cc)"
handshake "$work/cmake/build/chat" "chat (CMake)"

echo "install-check: all checks passed"
