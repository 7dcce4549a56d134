#!/usr/bin/env bash
# Installs what the test suite needs on a Debian machine (idempotent):
# Debian packages (openssh-server for SSH tests, qemu-user-static and cross
# linkers for the static runners) and a Python venv with ansible-core, the
# reference the comparison tests run against.
set -euo pipefail
cd "$(dirname "$0")/.."

ANSIBLE_CORE_VERSION="${ANSIBLE_CORE_VERSION:-2.18.19}"
VENV="${RUSTLE_ANSIBLE_VENV:-$PWD/.venv}"

need_pkgs=()
for p in openssh-server iproute2 qemu-user-static musl-tools gcc-aarch64-linux-gnu libc6-dev-arm64-cross python3-venv file binutils; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "setup: installing ${need_pkgs[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
    else
        echo "setup: missing Debian packages (need root to install): ${need_pkgs[*]}" >&2
    fi
fi

if ! "$VENV/bin/ansible-playbook" --version 2>/dev/null | grep -q "core $ANSIBLE_CORE_VERSION"; then
    echo "setup: creating $VENV with ansible-core $ANSIBLE_CORE_VERSION"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "ansible-core==$ANSIBLE_CORE_VERSION"
fi
echo "setup: ok ($("$VENV/bin/ansible-playbook" --version | head -1))"
