#!/usr/bin/env bash
# cloud-worker beside the Python peer worker (bench/peer), SPEC §10, against the local services:
# builds the release binary (or takes $CLOUD_WORKER_BIN), then runs bench.py, which prints each
# figure for both workers with the ratio and the target and draws results/worker-bench.png.
# Usage: bench/worker/run.sh [--quick] [bench.py options]   (scripts/services.sh start first)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../scripts/common.sh
source "$here/../../scripts/common.sh"  # PYTHON: the project's Python, with pika, boto3, kubernetes
"$PYTHON" -c "import matplotlib" 2>/dev/null ||
    die "matplotlib is missing for $PYTHON: $PYTHON -m pip install matplotlib"
binary="${CLOUD_WORKER_BIN:-}"
if [[ -z "$binary" ]]; then
    # Built as the container image builds it (Dockerfile): what is measured is what ships.
    swift build -c release --static-swift-stdlib --package-path "$REPO_ROOT" --product cloud-worker >/dev/null
    binary="$REPO_ROOT/.build/release/cloud-worker"
fi
# A binary just linked is in the page cache unwritten, and the worker cannot hand those pages
# back after start-up (StartupPages.swift); one that ships is on disk, as it is once written.
sync "$binary"
exec "$PYTHON" "$here/bench.py" "$binary" "$@"
