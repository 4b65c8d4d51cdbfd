#!/usr/bin/env bash
# The whole worker (SPEC §10) against the local services: builds the release binary, then runs
# bench.py, which prints each figure beside its target.
# Usage: bench/worker/run.sh [bench.py options]   (scripts/services.sh start first)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
swift build -c release --package-path "$root" --product cloud-worker >/dev/null
exec python3 "$here/bench.py" "$root/.build/release/cloud-worker" "$@"
