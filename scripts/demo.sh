#!/usr/bin/env bash
# The demo, end to end on this machine:
#   1. install the dependencies (scripts/install-deps.sh)
#   2. build the worker (swift build -c release --static-swift-stdlib)
#   3. start RabbitMQ, SeaweedFS (S3) and the Kubernetes API simulator (scripts/services.sh)
#   4. start the worker against them (log in .run/worker.log)
#   5. submit the sample job on test-client/sample-job/example-input/ with the test client
#   6. print the reply and the job's log as archived in S3, then stop the worker
# The services keep running afterwards (scripts/services.sh stop stops them).
# Exit status 0 only when the reply's status is "succeeded".
# Usage: scripts/demo.sh   (CLOUD_WORKER_BIN=PATH uses that binary instead of building)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SCRIPTS_DIR="$REPO_ROOT/scripts"
WORKER_LOG="$RUN_DIR/worker.log"
WORKER_PID_FILE="$RUN_DIR/worker.pid"
WORKER_START_TIMEOUT=60
DEMO_INPUT_DIR="$TEST_CLIENT_DIR/sample-job/example-input"
DEMO_INPUT_BUCKET=demo-input
DEMO_OUTPUT_BUCKET=demo-output
DEMO_JOB_NAME=demo-wordcount
DEMO_IMAGE=cloud-worker/sample-job:latest
DEMO_WAIT_SECONDS="${DEMO_WAIT_SECONDS:-300}"
REPLY_FILE="$RUN_DIR/demo-reply.json"
DOWNLOAD_DIR="$RUN_DIR/demo-output"

step() {
    if [[ -t 1 ]]; then
        printf '\n\033[1m==> %s\033[0m\n' "$*"
    else
        printf '\n==> %s\n' "$*"
    fi
}

# client ARGS...: the test client against the local services, on the ports they were started on.
client() {
    (
        eval "$("$SCRIPTS_DIR/services.sh" env)"
        PYTHONPATH="$TEST_CLIENT_DIR${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m cloud_worker_client "$@"
    )
}

stop_worker() {
    if pid_alive "$WORKER_PID_FILE"; then
        step "Stopping the worker (SIGTERM)"
        stop_pid_file "$WORKER_PID_FILE" worker 15
    fi
    rm -f "$WORKER_PID_FILE"
}

start_worker() {
    local bin="$1"
    # A worker left by an interrupted demo would compete for the requests.
    stop_worker
    mkdir -p "$RUN_DIR"
    : >"$WORKER_LOG"
    (
        # The same settings README.md gives for running the worker by hand.
        eval "$("$SCRIPTS_DIR/services.sh" env --worker)"
        exec "$bin"
    ) </dev/null >>"$WORKER_LOG" 2>&1 &
    echo $! >"$WORKER_PID_FILE"
    local deadline=$((SECONDS + WORKER_START_TIMEOUT))
    until grep -qi consuming "$WORKER_LOG"; do
        if ! pid_alive "$WORKER_PID_FILE" || ((SECONDS >= deadline)); then
            echo "----- $WORKER_LOG" >&2
            cat "$WORKER_LOG" >&2
            die "the worker did not start consuming within ${WORKER_START_TIMEOUT}s"
        fi
        sleep 0.1
    done
    log "worker running (pid $(pid_of "$WORKER_PID_FILE")), log $WORKER_LOG:"
    sed 's/^/    /' "$WORKER_LOG" >&2
}

# reply_field NAME: one top-level field of the reply ("" when absent).
reply_field() {
    "$PYTHON" -c 'import json, sys; v = json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' \
        "$REPLY_FILE" "$1"
}

reply_log_keys() {
    "$PYTHON" -c 'import json, sys; [print(e["key"]) for e in json.load(open(sys.argv[1])).get("logs") or []]' \
        "$REPLY_FILE"
}

main() {
    if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
        sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        return 0
    fi
    cd "$REPO_ROOT"

    step "Installing dependencies"
    "$SCRIPTS_DIR/install-deps.sh"

    local bin
    if [[ -n "${CLOUD_WORKER_BIN:-}" ]]; then
        step "Using the worker binary CLOUD_WORKER_BIN=$CLOUD_WORKER_BIN (no build)"
        bin="$CLOUD_WORKER_BIN"
    else
        # Linked as the container image links it (Dockerfile), so the demo runs what ships.
        step "Building the worker: swift build -c release --static-swift-stdlib --product cloud-worker"
        swift build -c release --static-swift-stdlib --product cloud-worker
        bin="$(swift build -c release --show-bin-path)/cloud-worker"
    fi
    [[ -x "$bin" ]] || die "no worker binary at $bin"

    step "Starting the local services (RabbitMQ, SeaweedFS, Kubernetes API simulator)"
    "$SCRIPTS_DIR/services.sh" start
    "$SCRIPTS_DIR/services.sh" status

    step "Starting the worker"
    trap stop_worker EXIT
    start_worker "$bin"

    step "Submitting the sample job on ${DEMO_INPUT_DIR#"$REPO_ROOT"/}"
    rm -rf "$DOWNLOAD_DIR"
    local rc=0
    client submit \
        --image "$DEMO_IMAGE" \
        --job-name "$DEMO_JOB_NAME" \
        --input-dir "$DEMO_INPUT_DIR" \
        --input-bucket "$DEMO_INPUT_BUCKET" \
        --output-bucket "$DEMO_OUTPUT_BUCKET" \
        --timeout-minutes 5 \
        --download-dir "$DOWNLOAD_DIR" \
        --wait-seconds "$DEMO_WAIT_SECONDS" \
        --json >"$REPLY_FILE" || rc=$?
    if [[ ! -s "$REPLY_FILE" ]]; then
        echo "----- worker log ($WORKER_LOG)" >&2
        tail -n 50 "$WORKER_LOG" >&2 || true
        die "no reply from the worker (client exit status $rc)"
    fi

    step "Reply"
    "$PYTHON" -m json.tool "$REPLY_FILE"

    local key
    while read -r key; do
        [[ -n "$key" ]] || continue
        step "Log archived at s3://$DEMO_OUTPUT_BUCKET/$key"
        client get "$DEMO_OUTPUT_BUCKET" "$key"
    done < <(reply_log_keys)

    step "Results downloaded to ${DOWNLOAD_DIR#"$REPO_ROOT"/}/"
    (cd "$DOWNLOAD_DIR" 2>/dev/null && find . -type f | sort | sed 's|^\./|    |') || true

    stop_worker
    trap - EXIT

    local status
    status="$(reply_field status)"
    echo >&2
    echo "The local services are still running (scripts/services.sh status);" >&2
    echo "stop them with: scripts/services.sh stop" >&2
    echo "Run the worker yourself (README.md, \"Run it yourself\"):" >&2
    echo "  eval \"\$(scripts/services.sh env --worker)\" && ${bin#"$REPO_ROOT"/}" >&2
    echo "  then open its status page, http://127.0.0.1:${CLOUD_WORKER_HTTP_PORT:-8080}/" >&2
    if [[ "$status" != succeeded ]]; then
        echo "DEMO FAILED: reply status '$status' ($(reply_field result))" >&2
        exit 1
    fi
    echo "DEMO OK: $(reply_field result)" >&2
}

main "$@"
