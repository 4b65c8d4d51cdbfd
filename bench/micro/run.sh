#!/usr/bin/env bash
# Micro-benchmarks of the worker's per-item work (ordo-one/benchmark): µs per watch event
# (WatchLine next to JSONDecoder and JSONSerialization), per S3 signature, per Job manifest
# and merge patch written and per request validated, with mallocs per item. Usage: bench/micro/run.sh [--filter REGEX]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
swift package --allow-writing-to-package-directory benchmark --no-progress --time-units microseconds "$@"
