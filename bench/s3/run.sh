#!/usr/bin/env bash
# Uploads the same 1 GiB stream to the local SeaweedFS twice — with ObjectStore (S3Bench, a
# release build) and with `aws s3 cp - s3://...` — and prints the throughput and peak RSS growth
# of each next to ObjectStore's targets: throughput at least 0.9x the CLI's, RSS growth at most
# 64 MiB. Both read the stream as it is made (S3Bench generates it; `S3Bench generate` pipes the
# identical bytes to the CLI), both use 8 MiB parts, so both objects must get the same ETag.
# A third row, the CLI uploading the bytes from a file, is for reference.
#
# RSS growth: a tool's peak resident size (`/usr/bin/time`'s maximum RSS) during the 1 GiB upload
# minus its peak during an upload of an empty stream, which is what starting up costs it.
#
# Exits non-zero when an upload fails or the three objects differ; a missed target is reported
# as FAIL in the table, not as an error.
#
# Environment: BENCH_BYTES (default 1073741824), S3_ENDPOINT (default http://127.0.0.1:8333),
# S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (default: the credentials of scripts/services.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

BYTES=${BENCH_BYTES:-1073741824}
ENDPOINT=${S3_ENDPOINT:-http://127.0.0.1:8333}
export S3_ACCESS_KEY_ID=${S3_ACCESS_KEY_ID:-CWTESTACCESSKEY}
export S3_SECRET_ACCESS_KEY=${S3_SECRET_ACCESS_KEY:-cwTestSecretKey0123456789abcdefghijklmn}
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$S3_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=us-east-1

die() { echo "run.sh: $*" >&2; exit 1; }

grep -q '\.library(name: "ObjectStore"' ../../Package.swift \
    || die 'the root Package.swift must export ObjectStore: add .library(name: "ObjectStore", targets: ["ObjectStore"]) to its products'
command -v aws >/dev/null || die "the AWS CLI is missing (pip install awscli)"
if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (Debian package time) to measure peak RSS"
    apt-get install -y -qq time >/dev/null || die "could not install GNU time"
fi
curl -s -o /dev/null "$ENDPOINT" || die "no S3 endpoint at $ENDPOINT (scripts/services.sh start)"

echo "building S3Bench (release)"
swift build -c release --scratch-path .build 2>&1 | grep -E "error|warning: |Compiling S3Bench|Build complete" || true
BENCH="$(swift build -c release --scratch-path .build --show-bin-path)/S3Bench"
[ -x "$BENCH" ] || die "the build did not produce $BENCH"

WORK=$(mktemp -d)
BUCKET="bench-$(date +%s)-$$"
AWS=$(command -v aws)
s3() { "$AWS" --endpoint-url "$ENDPOINT" "$@"; }
cleanup() {
    s3 s3 rb --force "s3://$BUCKET" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
s3 s3 mb "s3://$BUCKET" >/dev/null

# timed NAME COMMAND...: runs COMMAND under GNU time; $WORK/NAME.time gets "seconds peak-KiB".
timed() {
    local name=$1
    shift
    /usr/bin/time -f "%e %M" -o "$WORK/$name.time" "$@" >"$WORK/$name.out"
}
# cli_stream NAME BYTES: the CLI uploads `S3Bench generate`'s stream from its stdin. Only the CLI
# runs under time: the generator is another process, before it in the pipe.
cli_stream() {
    "$BENCH" generate --bytes "$2" \
        | timed "$1" "$AWS" --endpoint-url "$ENDPOINT" s3 cp - "s3://$BUCKET/$1.bin" --expected-size "$2" --only-show-errors
}
head_field() { s3 s3api head-object --bucket "$BUCKET" --key "$1" --query "$2" --output text; }
check_size() {
    local stored
    stored=$(head_field "$1" ContentLength)
    [ "$stored" = "$BYTES" ] || die "$1 holds $stored bytes, not $BYTES"
}

echo "uploading an empty stream with each tool (start-up baseline)"
timed os-empty "$BENCH" upload --bytes 0 --bucket "$BUCKET" --key os-empty.bin
cli_stream cli-empty 0

echo "uploading $BYTES bytes with ObjectStore"
timed os "$BENCH" upload --bytes "$BYTES" --bucket "$BUCKET" --key os.bin
check_size os.bin
OS_ETAG=$(head_field os.bin ETag)
s3 s3 rm "s3://$BUCKET/os.bin" --only-show-errors

echo "uploading the same $BYTES bytes with aws s3 cp from a stream"
cli_stream cli "$BYTES"
check_size cli.bin
CLI_ETAG=$(head_field cli.bin ETag)
s3 s3 rm "s3://$BUCKET/cli.bin" --only-show-errors

echo "uploading the same bytes with aws s3 cp from a file (reference)"
"$BENCH" generate --bytes "$BYTES" >"$WORK/data.bin"
timed cli-file "$AWS" --endpoint-url "$ENDPOINT" s3 cp "$WORK/data.bin" "s3://$BUCKET/cli-file.bin" --only-show-errors
rm -f "$WORK/data.bin"
check_size cli-file.bin
FILE_ETAG=$(head_field cli-file.bin ETag)

python3 - "$WORK" "$BYTES" "$OS_ETAG" "$CLI_ETAG" "$FILE_ETAG" <<'EOF'
import sys
from pathlib import Path

work, total = Path(sys.argv[1]), int(sys.argv[2])
os_etag, cli_etag, file_etag = sys.argv[3:6]
MIB = 1024 * 1024


def timing(name: str) -> tuple[float, float]:
    """Wall seconds and peak RSS in MiB of run NAME."""
    seconds, kib = (work / f"{name}.time").read_text().split()[-2:]
    return float(seconds), float(kib) / 1024


inside = dict(part.split("=", 1) for part in (work / "os.out").read_text().split())
rows = {
    "os": ("ObjectStore (stream)", "os-empty"),
    "cli": ("aws s3 cp (same stream)", "cli-empty"),
    "cli-file": ("aws s3 cp (file, reference)", "cli-empty"),
}
results = {}
for name, (label, baseline) in rows.items():
    seconds, peak = timing(name)
    results[name] = (label, seconds, total / MIB / seconds, peak, peak - timing(baseline)[1])

floor = 0.9 * results["cli"][2]
_, _, os_throughput, _, os_growth = results["os"]
throughput_ok, growth_ok = os_throughput >= floor, os_growth <= 64
print()
print(f"{total} bytes ({total / MIB:.0f} MiB), 8 MiB parts; growth = peak RSS - peak RSS of an empty upload")
print(f"{'tool':<29} {'seconds':>7} {'MiB/s':>7}  {'target':<18} {'peak MiB':>8} {'growth MiB':>10}  target")
for name, (label, seconds, throughput, peak, growth) in results.items():
    if name == "os":
        speed_target = f">= {floor:.1f} {'PASS' if throughput_ok else 'FAIL'}"
        memory_target = f"<= 64 {'PASS' if growth_ok else 'FAIL'}"
    else:
        speed_target = memory_target = "-"
    print(f"{label:<29} {seconds:>7.2f} {throughput:>7.1f}  {speed_target:<18} {peak:>8.1f} {growth:>10.1f}  {memory_target}")
print()
print(f"ObjectStore throughput: {os_throughput / results['cli'][2]:.2f}x the CLI's (target >= 0.90x)")
upload_seconds = float(inside["seconds"])
print(
    f"inside S3Bench: the upload alone took {upload_seconds:.2f} s ({total / MIB / upload_seconds:.1f} MiB/s) and "
    f"peaked {int(inside['rss_growth_kib']) / 1024:.1f} MiB above the resident size before it"
)
same = os_etag == cli_etag == file_etag
print(f"same object from all three: {'yes' if same else 'NO'} (ETags {os_etag}, {cli_etag}, {file_etag})")
sys.exit(0 if same else 1)
EOF
