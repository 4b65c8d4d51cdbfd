#!/usr/bin/env bash
# End-to-end run on a real cluster (kind, minikube, GKE, ...) reachable through the current
# kubeconfig context (or --context):
#   1. docker build the worker image (Dockerfile) and the sample job image
#      (test-client/sample-job/Dockerfile)
#   2. make them available to the cluster: `kind load docker-image` for a kind-* context,
#      `minikube image load` for a minikube context, else docker push to $REGISTRY
#   3. create the namespace and the S3 credentials Secret (random keys), then
#      helm upgrade --install the chart with its development broker (RabbitMQ) and S3 store
#      (MinIO), --create-namespace --wait
#   4. port-forward RabbitMQ and MinIO to 127.0.0.1 and submit the sample job with
#      cloud-worker-client (it uploads the example input, publishes, waits for the reply)
#   5. print the reply; exit 0 only when its status is "succeeded"
# The release and the namespace are removed at the end unless --keep is given.
#
# Usage: scripts/e2e-cluster.sh [--context NAME] [--namespace NS] [--release NAME] [--keep]
#                               [--dry-run]
#   --dry-run   print the commands instead of running them (needs no Docker, no cluster)
# Environment: REGISTRY (push target for clusters other than kind and minikube, e.g.
#   europe-docker.pkg.dev/PROJECT/REPO), IMAGE_TAG (default e2e), E2E_AMQP_PORT and
#   E2E_S3_PORT (local ends of the port-forwards, default 35672 and 39000),
#   E2E_TIMEOUT (helm --wait timeout, default 5m).
# Needs: docker, kubectl, helm, python3 with the test client (scripts/install-deps.sh), and
# kind or minikube for those clusters.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CHART_DIR="$REPO_ROOT/charts/cloud-worker"
SAMPLE_JOB_DIR="$TEST_CLIENT_DIR/sample-job"
IMAGE_TAG="${IMAGE_TAG:-e2e}"
AMQP_LOCAL_PORT="${E2E_AMQP_PORT:-35672}"
S3_LOCAL_PORT="${E2E_S3_PORT:-39000}"
HELM_TIMEOUT="${E2E_TIMEOUT:-5m}"
S3_SECRET_NAME=cloud-worker-s3
BROKER_USER=cloud-worker

CONTEXT=""
NAMESPACE=cloud-worker-e2e
RELEASE=cloud-worker
KEEP=0
DRY_RUN=0
WORK_DIR=""
PORT_FORWARD_PIDS=()

usage() {
    sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# run CMD...: runs a command, or prints it with --dry-run.
run() {
    if ((DRY_RUN)); then
        printf '+'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}

need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
    done
}

random_token() {
    "$PYTHON" -c 'import secrets; print(secrets.token_hex(16))'
}

kube() {
    run kubectl --context "$CONTEXT" "$@"
}

# wait_port PORT: true once 127.0.0.1:PORT accepts connections (30 s at most).
wait_port() {
    local deadline=$((SECONDS + 30))
    until port_open "$1"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

cleanup() {
    local pid
    for pid in "${PORT_FORWARD_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    if ((!KEEP && !DRY_RUN)) && [[ -n "$CONTEXT" ]]; then
        log "removing release $RELEASE and namespace $NAMESPACE (--keep leaves them)"
        helm --kube-context "$CONTEXT" uninstall "$RELEASE" -n "$NAMESPACE" --wait >/dev/null 2>&1 || true
        kubectl --context "$CONTEXT" delete namespace "$NAMESPACE" --ignore-not-found --wait=false >/dev/null 2>&1 || true
    fi
    if [[ -n "$WORK_DIR" ]]; then
        rm -rf "$WORK_DIR"
    fi
}

# port_forward SERVICE LOCAL REMOTE: background kubectl port-forward, remembered for cleanup.
port_forward() {
    if ((DRY_RUN)); then
        kube -n "$NAMESPACE" port-forward "service/$1" "$2:$3"
        return 0
    fi
    kubectl --context "$CONTEXT" -n "$NAMESPACE" port-forward "service/$1" "$2:$3" \
        >"$WORK_DIR/port-forward-$1.log" 2>&1 &
    PORT_FORWARD_PIDS+=("$!")
    wait_port "$2" || die "port-forward to service/$1 did not come up: $(cat "$WORK_DIR/port-forward-$1.log")"
}

# The chart's full name for the release (charts/cloud-worker/templates/_helpers.tpl).
chart_fullname() {
    if [[ "$RELEASE" == *cloud-worker* ]]; then
        printf '%s' "${RELEASE:0:63}"
    else
        printf '%s' "${RELEASE}-cloud-worker" | cut -c1-63
    fi
}

main() {
    while (($# > 0)); do
        case "$1" in
        --context) CONTEXT="$2"; shift 2 ;;
        --namespace) NAMESPACE="$2"; shift 2 ;;
        --release) RELEASE="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --dry-run) DRY_RUN=1; shift ;;
        -h | --help) usage; return 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
        esac
    done
    cd "$REPO_ROOT"
    if ((!DRY_RUN)); then
        need docker kubectl helm "$PYTHON"
    fi
    if [[ -z "$CONTEXT" ]]; then
        CONTEXT="$(kubectl config current-context 2>/dev/null)" \
            || die "no current kubeconfig context: create a cluster (kind create cluster) or pass --context"
    fi
    WORK_DIR="$(mktemp -d)"
    trap cleanup EXIT

    # 1. Images.
    local worker_repo=cloud-worker job_image="cloud-worker/sample-job:latest" pull_policy=IfNotPresent
    log "building the worker image cloud-worker:$IMAGE_TAG and the sample job image $job_image"
    run docker build -t "cloud-worker:$IMAGE_TAG" "$REPO_ROOT"
    run docker build -t "$job_image" "$SAMPLE_JOB_DIR"

    # 2. Into the cluster.
    case "$CONTEXT" in
    kind-*)
        ((DRY_RUN)) || need kind
        log "loading the images into kind cluster ${CONTEXT#kind-}"
        run kind load docker-image "cloud-worker:$IMAGE_TAG" "$job_image" --name "${CONTEXT#kind-}"
        ;;
    minikube)
        ((DRY_RUN)) || need minikube
        log "loading the images into minikube"
        run minikube image load "cloud-worker:$IMAGE_TAG"
        run minikube image load "$job_image"
        ;;
    *)
        [[ -n "${REGISTRY:-}" ]] || die "context $CONTEXT is neither kind-* nor minikube: set REGISTRY to push the images to"
        worker_repo="$REGISTRY/cloud-worker"
        job_image="$REGISTRY/$job_image"
        pull_policy=Always
        log "pushing the images to $REGISTRY"
        run docker tag "cloud-worker:$IMAGE_TAG" "$worker_repo:$IMAGE_TAG"
        run docker tag "cloud-worker/sample-job:latest" "$job_image"
        run docker push "$worker_repo:$IMAGE_TAG"
        run docker push "$job_image"
        ;;
    esac

    # 3. Secrets and the chart.
    local access_key secret_key broker_password
    access_key="e2e$(random_token)"
    secret_key="$(random_token)$(random_token)"
    broker_password="$(random_token)"
    log "installing release $RELEASE in namespace $NAMESPACE (context $CONTEXT)"
    # Keys and passwords go through files and the environment, never on a command line.
    printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' "$access_key" "$secret_key" >"$WORK_DIR/s3.env"
    if ((DRY_RUN)); then
        kube create namespace "$NAMESPACE"
        kube -n "$NAMESPACE" create secret generic "$S3_SECRET_NAME" --from-env-file "$WORK_DIR/s3.env"
    else
        kubectl --context "$CONTEXT" create namespace "$NAMESPACE" --dry-run=client -o yaml \
            | kubectl --context "$CONTEXT" apply -f - >/dev/null
        kubectl --context "$CONTEXT" -n "$NAMESPACE" create secret generic "$S3_SECRET_NAME" \
            --from-env-file "$WORK_DIR/s3.env" --dry-run=client -o yaml \
            | kubectl --context "$CONTEXT" apply -f - >/dev/null
    fi
    cat >"$WORK_DIR/values.yaml" <<EOF
image:
  repository: $worker_repo
  tag: "$IMAGE_TAG"
  pullPolicy: $pull_policy
amqp:
  existingSecret: ""
s3:
  existingSecret: $S3_SECRET_NAME
  # The development store has only the one identity: the pods use the worker's keys here.
  jobCredentialsSecret: $S3_SECRET_NAME
dev:
  rabbitmq:
    enabled: true
    username: $BROKER_USER
    password: "$broker_password"
  minio:
    enabled: true
EOF
    run helm --kube-context "$CONTEXT" upgrade --install "$RELEASE" "$CHART_DIR" \
        -n "$NAMESPACE" --create-namespace --wait --timeout "$HELM_TIMEOUT" -f "$WORK_DIR/values.yaml"

    # 4. Submit the sample job through port-forwards.
    local fullname suffix
    fullname="$(chart_fullname)"
    suffix="$(random_token | cut -c1-8)"
    port_forward "$fullname-rabbitmq" "$AMQP_LOCAL_PORT" 5672
    port_forward "$fullname-minio" "$S3_LOCAL_PORT" 9000
    log "submitting the sample job ($job_image)"
    local status=0
    local -a submit=("$PYTHON" -m cloud_worker_client submit
        --image "$job_image" --job-name e2e-sample --timeout-minutes 10
        --input-dir "$SAMPLE_JOB_DIR/example-input"
        --input-bucket "e2e-in-$suffix" --output-bucket "e2e-out-$suffix"
        --download-dir "$WORK_DIR/output" --wait-seconds 900 --json)
    if ((DRY_RUN)); then
        run "${submit[@]}"
        return 0
    fi
    AMQP_URL="amqp://$BROKER_USER:$broker_password@127.0.0.1:$AMQP_LOCAL_PORT/%2F" \
        S3_ENDPOINT="http://127.0.0.1:$S3_LOCAL_PORT" S3_REGION=us-east-1 \
        S3_ACCESS_KEY_ID="$access_key" S3_SECRET_ACCESS_KEY="$secret_key" \
        PYTHONPATH="$TEST_CLIENT_DIR${PYTHONPATH:+:$PYTHONPATH}" \
        "${submit[@]}" >"$WORK_DIR/reply.json" || status=$?

    # 5. The verdict.
    printf '\n==> reply\n' >&2
    cat "$WORK_DIR/reply.json"
    local verdict
    verdict="$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("status", "none"))' \
        "$WORK_DIR/reply.json" 2>/dev/null || echo none)"
    if [[ "$verdict" != succeeded ]]; then
        kubectl --context "$CONTEXT" -n "$NAMESPACE" logs "deployment/$fullname" --tail=50 >&2 || true
        die "the sample job's reply status is '$verdict' (client exit status $status), not 'succeeded'"
    fi
    log "the sample job succeeded on $CONTEXT"
}

main "$@"
