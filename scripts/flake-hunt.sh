#!/usr/bin/env bash
# Runs test suites again and again with the CPU kept busy, to bring out flaky tests.
# Usage: scripts/flake-hunt.sh [N] [--suite simulator|e2e|all] [--busy K] [-- PYTEST_ARGS...]
#   N          runs (default 20); each run runs every chosen suite once
#   --suite    simulator: test-client/tests/simulator (starts simulators of its own)
#              e2e: test-client/tests/e2e (the local services and .build/debug/cloud-worker)
#              all (default): both, simulator first
#   --busy K   busy-loop processes running alongside the whole time (default 1)
# Prints one line per suite and run, then a final count. The output of a failed run is kept in
# .run/flake-hunt/. Services this script started are stopped when it exits; services that were
# already running are left running. Exit status: non-zero when any run failed.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SCRIPTS_DIR="$REPO_ROOT/scripts"
LOG_DIR="$RUN_DIR/flake-hunt"
BUSY_PIDS=()
STOP_SERVICES_ON_EXIT=0

usage() {
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

start_busy() {
    local i
    for ((i = 0; i < $1; i++)); do
        "$PYTHON" -c 'while True: pass' &
        BUSY_PIDS+=("$!")
    done
}

cleanup() {
    local pid
    for pid in "${BUSY_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if ((STOP_SERVICES_ON_EXIT)); then
        log "stopping the local services this script started"
        "$SCRIPTS_DIR/services.sh" stop || true
    fi
}

# prepare_e2e: the services (started here only when not running) and the worker binary.
prepare_e2e() {
    local bin="${CLOUD_WORKER_BIN:-$REPO_ROOT/.build/debug/cloud-worker}"
    [[ -x "$bin" ]] || die "$bin is missing: build it with \`swift build\` (or set CLOUD_WORKER_BIN)"
    export CLOUD_WORKER_BIN="$bin"
    if ! "$SCRIPTS_DIR/services.sh" status >/dev/null 2>&1; then
        STOP_SERVICES_ON_EXIT=1
    fi
    "$SCRIPTS_DIR/services.sh" start
    eval "$("$SCRIPTS_DIR/services.sh" env)"
}

# run_suite SUITE RUN: one pytest run, one line of result; true when it passed.
run_suite() {
    local suite="$1" run="$2" started elapsed output summary
    output="$LOG_DIR/run-$run-$suite.log"
    started=$SECONDS
    if PYTHONPATH="$TEST_CLIENT_DIR${PYTHONPATH:+:$PYTHONPATH}" \
        "$PYTHON" -m pytest "$TEST_CLIENT_DIR/tests/$suite" -q -p no:cacheprovider "${PYTEST_ARGS[@]}" \
        >"$output" 2>&1; then
        elapsed=$((SECONDS - started))
        summary="$(tail -n 1 "$output")"
        printf 'run %3d/%d  %-9s pass  %4ds  %s\n' "$run" "$RUNS" "$suite" "$elapsed" "$summary"
        rm -f "$output"
        return 0
    fi
    elapsed=$((SECONDS - started))
    summary="$(tail -n 1 "$output")"
    printf 'run %3d/%d  %-9s FAIL  %4ds  %s (log: %s)\n' "$run" "$RUNS" "$suite" "$elapsed" "$summary" \
        "${output#"$REPO_ROOT"/}"
    grep -E '^(FAILED|ERROR) [^ ]+::' "$output" | sed 's/^/            /' || true
    return 1
}

main() {
    RUNS=20
    local suite_choice=all busy=1
    PYTEST_ARGS=()
    while (($# > 0)); do
        case "$1" in
            -h | --help)
                usage
                return 0
                ;;
            --suite)
                suite_choice="${2:?--suite needs simulator, e2e or all}"
                shift 2
                ;;
            --busy)
                busy="${2:?--busy needs a number}"
                shift 2
                ;;
            --)
                shift
                PYTEST_ARGS=("$@")
                break
                ;;
            *[!0-9]* | '') die "unknown argument '$1' (see --help)" ;;
            *)
                RUNS="$1"
                shift
                ;;
        esac
    done
    local -a suites
    case "$suite_choice" in
        simulator | e2e) suites=("$suite_choice") ;;
        all) suites=(simulator e2e) ;;
        *) die "unknown suite '$suite_choice' (expected simulator, e2e or all)" ;;
    esac

    cd "$REPO_ROOT"
    mkdir -p "$LOG_DIR"
    trap cleanup EXIT
    if [[ " ${suites[*]} " == *" e2e "* ]]; then
        prepare_e2e
    fi
    start_busy "$busy"
    log "$RUNS runs of: ${suites[*]}; $busy busy process(es) alongside (pids ${BUSY_PIDS[*]})"

    local run suite failed_runs=0 failed_here
    declare -A failures=()
    for suite in "${suites[@]}"; do
        failures[$suite]=0
    done
    for ((run = 1; run <= RUNS; run++)); do
        failed_here=0
        for suite in "${suites[@]}"; do
            if ! run_suite "$suite" "$run"; then
                failures[$suite]=$((failures[$suite] + 1))
                failed_here=1
            fi
        done
        failed_runs=$((failed_runs + failed_here))
    done

    local detail=""
    for suite in "${suites[@]}"; do
        detail+="${detail:+, }$suite ${failures[$suite]} failed"
    done
    printf 'flake-hunt: %d runs, %d with failures (%s)\n' "$RUNS" "$failed_runs" "$detail"
    ((failed_runs == 0))
}

main "$@"
