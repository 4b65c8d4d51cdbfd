#!/usr/bin/env bash
# Every test of the project:
#   1. install the dependencies (scripts/install-deps.sh)
#   2. swift format lint, swift build --build-tests
#   3. start the local services (scripts/services.sh start)
#   4. regenerate the botocore SigV4 differential vectors, then swift test (unit tests, and
#      integration tests against the local RabbitMQ, SeaweedFS and simulators of their own;
#      the 100 MiB rotated-log test runs on its own afterwards), then 100,000 inputs of the
#      request fuzzer (scripts/fuzz.sh)
#   5. python3 -m pytest test-client/tests -q (simulator tests and end-to-end tests through
#      the real broker, SeaweedFS, the simulator and the debug worker .build/debug/cloud-worker)
# Services this script started are stopped when it exits; services that were already running
# are left running (set CLOUD_WORKER_KEEP_SERVICES=1 to always leave them running).
# Extra arguments go to pytest, e.g. scripts/test.sh -k sample_job -x
# Exit status: non-zero when anything failed.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SCRIPTS_DIR="$REPO_ROOT/scripts"
FAILURES=()
STOP_SERVICES_ON_EXIT=0

step() {
    printf '\n==> %s\n' "$*" >&2
}

loud() {
    local line
    line="$(printf '!%.0s' {1..78})"
    printf '\n%s\n!!! %s\n%s\n\n' "$line" "$*" "$line" >&2
}

stop_services_on_exit() {
    if ((STOP_SERVICES_ON_EXIT)); then
        step "Stopping the local services"
        "$SCRIPTS_DIR/services.sh" stop || true
    fi
}

main() {
    if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
        sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        return 0
    fi
    cd "$REPO_ROOT"

    step "Installing dependencies"
    "$SCRIPTS_DIR/install-deps.sh"

    step "swift format lint (configuration: .swift-format)"
    swift format lint --strict --recursive Sources Tests Package.swift || FAILURES+=("swift format lint")

    step "swift build"
    local built=1
    swift build --build-tests || { built=0; FAILURES+=("swift build"); }

    step "Starting the local services"
    if "$SCRIPTS_DIR/services.sh" status >/dev/null 2>&1 || [[ "${CLOUD_WORKER_KEEP_SERVICES:-0}" == 1 ]]; then
        log "leaving the local services running afterwards"
    else
        STOP_SERVICES_ON_EXIT=1
    fi
    trap stop_services_on_exit EXIT
    if ! "$SCRIPTS_DIR/services.sh" start; then
        FAILURES+=("services start")
        loud "the local services did not start: the tests that need them will fail"
    fi
    eval "$("$SCRIPTS_DIR/services.sh" env)"

    if ((built)); then
        step "swift test"
        "$PYTHON" "$REPO_ROOT/Tests/ObjectStoreTests/Vectors/generate_differential.py" || FAILURES+=("differential vectors")
        swift test --skip RotatedLogTests || FAILURES+=("swift test")
        # Alone: its log follower must keep up with a container writing 100 MiB, and the other
        # suites running beside it can starve it of CPU.
        swift test --filter RotatedLogTests || FAILURES+=("swift test (rotated log)")
        step "fuzz the request parser and validator (100000 inputs)"
        "$SCRIPTS_DIR/fuzz.sh" 100000 || FAILURES+=("fuzz")
    else
        loud "swift build FAILED: skipping swift test; the end-to-end tests will fail too"
    fi

    step "pytest test-client/tests"
    # The slowest tests are listed at the end: what the suite's time goes to.
    local -a pytest_args=(-q --durations=15 "$@")
    if ! CLOUD_WORKER_BIN="${CLOUD_WORKER_BIN:-$REPO_ROOT/.build/debug/cloud-worker}" \
        PYTHONPATH="$TEST_CLIENT_DIR${PYTHONPATH:+:$PYTHONPATH}" \
        "$PYTHON" -m pytest "$TEST_CLIENT_DIR/tests" "${pytest_args[@]}"; then
        FAILURES+=("pytest")
    fi

    if ((${#FAILURES[@]} > 0)); then
        loud "FAILED: ${FAILURES[*]}"
        return 1
    fi
    step "all tests passed"
}

main "$@"
