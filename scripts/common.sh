# shellcheck shell=bash disable=SC2034
# Shared settings for the scripts in this folder. Sourced, never run.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${CLOUD_WORKER_RUN_DIR:-$REPO_ROOT/.run}"
TEST_CLIENT_DIR="$REPO_ROOT/test-client"

# Local service endpoints (docs/CONTRACT.md). Everything listens on loopback only. Each port
# can be moved when something else already uses it, e.g. CLOUD_WORKER_AMQP_PORT=5673
# scripts/services.sh start; `scripts/services.sh env` then prints the endpoints to use.
LOCAL_HOST=127.0.0.1
AMQP_PORT="${CLOUD_WORKER_AMQP_PORT:-5672}"
S3_PORT="${CLOUD_WORKER_S3_PORT:-8333}"
SEAWEED_MASTER_PORT="${CLOUD_WORKER_SEAWEED_MASTER_PORT:-9333}"
SEAWEED_VOLUME_PORT="${CLOUD_WORKER_SEAWEED_VOLUME_PORT:-8081}"
SEAWEED_FILER_PORT="${CLOUD_WORKER_SEAWEED_FILER_PORT:-8888}"
KUBE_PORT="${CLOUD_WORKER_KUBE_PORT:-8001}"

LOCAL_AMQP_URL="amqp://guest:guest@${LOCAL_HOST}:${AMQP_PORT}/%2F"
LOCAL_S3_ENDPOINT="http://${LOCAL_HOST}:${S3_PORT}"
LOCAL_S3_ACCESS_KEY_ID=CWTESTACCESSKEY
LOCAL_S3_SECRET_ACCESS_KEY=cwTestSecretKey0123456789abcdefghijklmn
LOCAL_S3_REGION=us-east-1
LOCAL_KUBE_SERVER="http://${LOCAL_HOST}:${KUBE_PORT}"
LOCAL_NAMESPACE=default
LOCAL_S3_SECRET_NAME=cloud-worker-s3

# Python: the project's virtual environment, made by install-deps.sh with BASE_PYTHON (a
# stock Debian python3 refuses `pip install` outside one). Its bin folder comes first on PATH,
# so the tools installed there (weed, kubectl, cloud-worker-client, pytest) are found.
VENV_DIR="$RUN_DIR/venv"
BASE_PYTHON="${CLOUD_WORKER_BASE_PYTHON:-python3}"
PYTHON="$VENV_DIR/bin/python"
case ":$PATH:" in
    *":$VENV_DIR/bin:"*) ;;
    *) export PATH="$VENV_DIR/bin:$PATH" ;;
esac

log() {
    printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2
}

die() {
    printf '[%s] ERROR: %s\n' "$(basename "$0" .sh)" "$*" >&2
    exit 1
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    (exec 3<>"/dev/tcp/${LOCAL_HOST}/$1") 2>/dev/null
}

# pid_alive FILE [PATTERN [DIR]]: true when FILE holds the pid of a live process whose command
# line contains PATTERN and whose working folder is DIR, when given. A pid is reused once its
# process is gone, so a stale pid file may name another program, or the same service started
# from another checkout: PATTERN and DIR name this checkout's own process.
pid_alive() {
    local pid command_line
    [[ -s "$1" ]] || return 1
    pid="$(tr -dc '0-9' <"$1")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    if [[ -n "${2:-}" ]]; then
        command_line="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
        [[ "$command_line" == *"$2"* ]] || return 1
    fi
    [[ -z "${3:-}" || "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$(readlink -f "$3")" ]]
}

# port_user PORT: what listens on 127.0.0.1:PORT, for messages ("beam.smp (pid 1202)").
port_user() {
    local users pattern='\(\("([^"]+)",pid=([0-9]+)'
    users="$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(([^)]*))' | head -n 1)"
    if [[ "$users" =~ $pattern ]]; then
        printf '%s (pid %s)\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    else
        echo "another process"
    fi
}

pid_of() {
    tr -dc '0-9' <"$1"
}

# wait_pid_exit PID SECONDS: true once PID has exited, false on timeout.
wait_pid_exit() {
    local pid="$1" deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# stop_pid_file FILE NAME SECONDS [PATTERN [DIR]]: SIGTERM, then SIGKILL after SECONDS; only a
# process this script started (see pid_alive).
stop_pid_file() {
    local file="$1" name="$2" grace="$3" pid
    if ! pid_alive "$file" "${4:-}" "${5:-}"; then
        rm -f "$file"
        return 0
    fi
    pid="$(pid_of "$file")"
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_pid_exit "$pid" "$grace"; then
        log "$name did not stop within ${grace}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_pid_exit "$pid" 10 || die "$name (pid $pid) survived SIGKILL"
    fi
    rm -f "$file"
}

# find_tool NAME: path of an executable installed by pip (console scripts may not be on PATH).
find_tool() {
    local path
    if path="$(command -v "$1" 2>/dev/null)"; then
        printf '%s\n' "$path"
        return 0
    fi
    path="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/$1"
    if [[ -x "$path" ]]; then
        printf '%s\n' "$path"
        return 0
    fi
    return 1
}
