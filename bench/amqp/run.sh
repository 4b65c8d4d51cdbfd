#!/usr/bin/env bash
# AMQP throughput of QueueConsumer next to pika, in the same run against the local RabbitMQ
# (scripts/services.sh start): publishes with publisher confirms and consumes with acks.
# Usage: bench/amqp/run.sh [MESSAGES]   (default 10000)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../scripts/common.sh
source "$here/../../scripts/common.sh"  # PYTHON: the project's virtual environment, with pika
count="${1:-10000}"
swift build -c release --package-path "$here" >/dev/null
swift_result="$("$here/.build/release/AMQPBench" "$count")"
pika_result="$("$PYTHON" "$here/pika_bench.py" "$count")"
"$PYTHON" - "$swift_result" "$pika_result" <<'PY'
import json, sys
swift, pika = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{'messages/s':34} {'QueueConsumer':>14} {'pika':>10} {'ratio':>7}")
for key, label in [("publish_confirmed_sequential", "publish, confirmed one at a time"),
                   ("publish_confirmed_100_in_flight", "publish, confirmed (100 in flight)*"),
                   ("consume_ack", "consume and ack (prefetch 200)")]:
    print(f"{label:34} {swift[key]:>14} {pika[key]:>10} {swift[key] / max(pika[key], 1):>6.1f}x")
print("* pika's BlockingConnection waits for each confirm: its figure is one at a time.")
PY
