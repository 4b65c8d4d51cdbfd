#!/usr/bin/env bash
# Fuzzes the request parser and validator (Fuzz/RequestFuzzer, the RequestValidation module)
# with libFuzzer and AddressSanitizer: builds it in .build-fuzz, runs a bounded number of inputs
# (default 100000) from the seed corpus Fuzz/corpus, and prints how many inputs it executed.
# A seed is a selector byte (`c`: a message of type cancel, `n`: no type) and then the body.
# Exit status: non-zero on a crash, a hang (10 s), or memory past the limits below.
# Usage: scripts/fuzz.sh [RUNS]
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUNS="${1:-100000}"
SCRATCH="$REPO_ROOT/.build-fuzz"

log "building the fuzz target (-sanitize=fuzzer,address) in $SCRATCH"
swift build --package-path "$REPO_ROOT/Fuzz" --scratch-path "$SCRATCH" -Xswiftc -sanitize=fuzzer,address 2>&1 |
    grep -v "Cannot export local symbol" >&2

# libFuzzer adds what it finds to its first corpus folder: a scratch copy keeps Fuzz/corpus as
# committed.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp "$REPO_ROOT"/Fuzz/corpus/* "$work/corpus"/

# Inputs up to twice the fuzz target's size limit (4 KiB), so that both sides of it are tried;
# no single allocation over 16 MiB and no more than 512 MiB in all (AddressSanitizer included),
# so that memory out of proportion to an input is a finding. AddressSanitizer's quarantine of
# freed memory (256 MiB by default) is kept to 64 MiB, for the limit to measure the validator.
output="$work/fuzz.log"
if ! ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=64" "$SCRATCH/debug/RequestFuzzer" -runs="$RUNS" -max_len=8192 -timeout=10 -malloc_limit_mb=16 -rss_limit_mb=512 \
    -dict="$REPO_ROOT/Fuzz/request.dict" -print_final_stats=1 "$work/corpus" >"$output" 2>&1; then
    tail -n 60 "$output" >&2
    die "the fuzzer found a failing input (above)"
fi
executed="$(sed -n 's/^stat::number_of_executed_units: *//p' "$output")"
[[ -n "$executed" ]] || die "no count of executed inputs in the fuzzer's output: $(tail -n 5 "$output")"
peak="$(sed -n 's/^stat::peak_rss_mb: *//p' "$output")"
printf 'fuzz: %s inputs executed without a failure (peak RSS %s MB)\n' "$executed" "$peak"
