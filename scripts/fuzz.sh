#!/usr/bin/env bash
# fuzz.sh: the libFuzzer targets of tests/fuzz/ (built with clang into build-fuzz/).
#
#   scripts/fuzz.sh --ci              every target from its committed seeds and
#                                     regression inputs, -seed=1 and a fixed
#                                     -runs, ASLR off: the same executions on
#                                     every run (test.sh runs this)
#   scripts/fuzz.sh SECONDS [target]  open-ended: each target (or one) for SECONDS,
#                                     growing tests/fuzz/corpus-<name>/ (git-ignored)
#
# Exits non-zero when a target finds a crash, a leak, an out-of-memory or a
# timeout; the reproducer is left in build-fuzz/crashes/ (commit it under
# tests/fuzz/regressions/<name>/ with the fix: ctest replays it from then on).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
fuzz="$root/tests/fuzz"
targets=(eio_payload eio3_payload sio_packet adapter_msg eio_query ws_frame ws_inflate http1 jwt glob redis_url
         gateway_config api_json cluster_msg redis_reply backend_answer plain_msg sio_msgpack)
ci_runs=${FUZZ_CI_RUNS:-400000}

mode=${1:-20}
only=${2:-}
if [[ "$mode" != --ci && ! "$mode" =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh --ci | SECONDS [target]" >&2
    exit 2
fi
if [[ -n "$only" ]]; then
    only=${only#fuzz_}
    [[ " ${targets[*]} " == *" $only "* ]] || { echo "fuzz.sh: no target $only" >&2; exit 2; }
    targets=("$only")
fi

CC=clang cmake -S "$root" -B "$build" -DSIO_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target "${targets[@]/#/fuzz_}" -j "$(nproc)" >/dev/null

# ASLR moves hash-table seeds and addresses the targets may depend on.
norandom=()
if setarch "$(uname -m)" -R true 2>/dev/null; then norandom=(setarch "$(uname -m)" -R); fi

dict_of() {
    case "$1" in
    http1 | jwt) echo "$fuzz/dicts/$1.dict" ;;
    glob | redis_url | gateway_config) echo "$fuzz/dicts/config.dict" ;;
    *) echo "$fuzz/dicts/codec.dict" ;;
    esac
}

mkdir -p "$build/crashes"
status=0
for t in "${targets[@]}"; do
    if [[ "$mode" == --ci ]]; then
        corpus="$build/ci-corpus-$t"
        rm -rf "$corpus"
        limit=(-seed=1 -runs="$ci_runs")
    else
        corpus="$fuzz/corpus-$t"
        limit=(-max_total_time="$mode")
    fi
    mkdir -p "$corpus"
    cp -n "$fuzz/seeds/$t/"* "$corpus/" 2>/dev/null || true
    cp -n "$fuzz/regressions/$t/"* "$corpus/" 2>/dev/null || true
    log="$build/fuzz_$t.log"
    echo "== fuzz_$t: ${limit[*]}"
    if ! "${norandom[@]}" "$build/fuzz_$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
        -max_len=16384 -dict="$(dict_of "$t")" -artifact_prefix="$build/crashes/fuzz_$t-" \
        -print_final_stats=1 "$corpus" 2>"$log"; then
        echo "!! fuzz_$t failed; see $log and $build/crashes/" >&2
        tail -40 "$log" >&2
        status=1
    else
        grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|Done )' "$log" \
            | tr '\n' ' ' || true
        grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true
    fi
done
exit "$status"
