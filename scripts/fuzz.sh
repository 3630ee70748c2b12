#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer targets with clang into build-fuzz/ and runs each
# for N seconds (first argument, default 20). Exits non-zero when a fuzzer finds
# a crash, a leak or a timeout; the reproducer is left in build-fuzz/crashes/.
#
# Corpora grow in tests/fuzz/corpus-<target>/ (git-ignored) and are reused by
# later runs. Usage: scripts/fuzz.sh [seconds]
set -euo pipefail

seconds="${1:-20}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
targets=(fuzz_eio_payload fuzz_sio_packet fuzz_adapter_msg)

CC=clang cmake -S "$root" -B "$build" -DSIO_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target "${targets[@]}" -j "$(nproc)"

# Seeds (only added to a corpus directory that does not exist yet) and a
# dictionary of the wire syntax.
seed_eio_payload() {
    printf '4hello\x1e2\x1ebAQID\x1e6' >"$1/mixed"
    printf 'bAQI=\x1ebAQ\x1eb\x1e4\xc3\xa9' >"$1/base64"
    printf '2probe' >"$1/ping"
}
seed_sio_packet() {
    printf '0/admin,{"token":"abc"}' >"$1/connect"
    printf '2/chat,12["msg",{"a":[1,2.5,"x"]}]' >"$1/event"
    printf '31[null,{"ok":true}]' >"$1/ack"
    printf '4{"message":"no"}' >"$1/connect_error"
    printf '52-/up,3["file",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]' >"$1/binary"
    printf '61-[{"_placeholder":true,"num":0}]' >"$1/binary_ack"
    printf '2["a",1e21,-0.0,1e-7,"\\u0000\\ud83d\\ude00",{"1":0,"b":1,"0":2}]' >"$1/json"
}
seed_adapter_msg() {
    # the Redis wire vectors of the unit tests (those within -max_len)
    local f
    for f in "$root"/tests/unit/fixtures/adapter/*.bin; do
        if [ "$(stat -c %s "$f")" -le 16384 ]; then
            cp "$f" "$1/"
        fi
    done
}
write_dict() {
    cat >"$1" <<'DICT'
"\x1e"
"b"
"=="
"_placeholder"
"num"
"true"
"false"
"null"
"\\u0000"
"\\ud800"
"1e400"
"9007199254740992"
"100000000000000000000"
"connect"
"disconnect"
"newListener"
"/admin,"
"-"
"[\""
"\"]"
"{\""
"\":"
"\xa4type"
"\xa4data"
"\xa3nsp"
"\xa2id"
"\xa5rooms"
"\xa6except"
"\xa5flags"
"\xa8volatile"
"\xa7timeout"
"\xa6packet"
"\xa9requestId"
"\xac_placeholder"
"\xc4\x01"
"\xd4\x00"
"requestId"
"clientCount"
DICT
}

mkdir -p "$build/crashes"
write_dict "$build/fuzz.dict"
status=0
for target in "${targets[@]}"; do
    corpus="$root/tests/fuzz/corpus-${target#fuzz_}"
    if [ ! -d "$corpus" ]; then
        mkdir -p "$corpus"
        "seed_${target#fuzz_}" "$corpus"
    fi
    echo "== $target: ${seconds}s, corpus $corpus"
    if ! "$build/$target" -max_total_time="$seconds" -timeout=10 -max_len=16384 \
        -dict="$build/fuzz.dict" -artifact_prefix="$build/crashes/$target-" \
        -print_final_stats=1 "$corpus" 2>"$build/$target.log"; then
        echo "!! $target failed; see $build/$target.log and $build/crashes/" >&2
        tail -40 "$build/$target.log" >&2
        status=1
    else
        grep -E '^(stat::number_of_executed_units|Done )' "$build/$target.log" || true
    fi
done
exit "$status"
