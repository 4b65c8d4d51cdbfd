#!/usr/bin/env bash
# cloud-worker beside the Python peer worker (bench/peer), SPEC §10, against the local services:
# builds the release binary (or takes $CLOUD_WORKER_BIN), then runs bench.py, which prints each
# figure for both workers with the ratio and the target and draws results/worker-bench.png.
# Usage: bench/worker/run.sh [--quick] [bench.py options]   (scripts/services.sh start first)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
binary="${CLOUD_WORKER_BIN:-}"
if [[ -z "$binary" ]]; then
    swift build -c release --package-path "$root" --product cloud-worker >/dev/null
    binary="$root/.build/release/cloud-worker"
fi
exec python3 "$here/bench.py" "$binary" "$@"
