#!/usr/bin/env bash
# Installs what the test suite needs on a Debian machine (idempotent):
# Debian packages (openssh-server for the SSH transport tests, which start
# their own sshd instances on loopback ports, qemu-user-static and cross
# linkers for the static runners) and a Python venv with ansible-core, the
# reference the comparison tests run against, with the ansible.posix
# collection (the json stdout callback).
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

if ! "$VENV/bin/ansible-playbook" --version 2>/dev/null | grep "core $ANSIBLE_CORE_VERSION" >/dev/null; then
    echo "setup: creating $VENV with ansible-core $ANSIBLE_CORE_VERSION"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "ansible-core==$ANSIBLE_CORE_VERSION"
fi
# deb822_repository needs python-debian in the interpreter Ansible runs
# modules with (the venv's, for the implicit localhost).
"$VENV/bin/python" -c 'import debian' 2>/dev/null ||
    "$VENV/bin/pip" install -q --disable-pip-version-check 'python-debian==1.1.1'
# ansible.builtin.expect needs pexpect in the interpreter Ansible runs
# localhost modules with (the venv's).
"$VENV/bin/python" -c 'import pexpect' 2>/dev/null ||
    "$VENV/bin/pip" install -q --disable-pip-version-check 'pexpect==4.9.0'
# The json stdout callback lives in the ansible.posix collection (not in
# ansible-core), and ini_file in community.general: both extracted from the
# `ansible` 11.x wheel into $VENV/collections, the path the test framework
# gives Ansible as ANSIBLE_COLLECTIONS_PATH. Each is added only when missing.
want=()
[ -f "$VENV/collections/ansible_collections/ansible/posix/plugins/callback/json.py" ] ||
    want+=("ansible_collections/ansible/posix/")
[ -f "$VENV/collections/ansible_collections/community/general/plugins/modules/ini_file.py" ] ||
    want+=("ansible_collections/community/general/")
if [ "${#want[@]}" -gt 0 ]; then
    echo "setup: adding ${want[*]} to $VENV/collections"
    dl="$(mktemp -d)"
    trap 'rm -rf "$dl"' EXIT
    "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps 'ansible>=11,<12' -d "$dl"
    "$VENV/bin/python" - "$dl" "$VENV/collections" "${want[@]}" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/ansible-*.whl")[0]
prefixes = tuple(sys.argv[3:])
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefixes)]
    z.extractall(sys.argv[2], members=names)
PY
fi
echo "setup: ok ($("$VENV/bin/ansible-playbook" --version | head -1); ansible.posix and community.general in $VENV/collections)"
