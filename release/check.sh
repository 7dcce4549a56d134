#!/usr/bin/env bash
# Verify the runners produced by release/build.sh.
#
#   release/check.sh [DIR]          (DIR defaults to dist/runners in the workspace root)
#
# For every DIR/<triple>/rustle-runner:
#   - the ELF machine matches the triple,
#   - it is statically linked: `file` says "statically linked"/"static-pie linked",
#     there is no PT_INTERP program header and no DT_NEEDED entry,
#   - `rustle-runner --version` runs (natively, or under qemu-<arch>-static),
#   - apply_bundle_check: only when RUSTLE_TEST_BUNDLE and RUSTLE_TEST_TRUST are set.
# Set RUSTLE_CHECK_TARGETS=t1,t2 to require exactly those triples to be present.
# Ends with "N passed, N failed"; exits non-zero if anything failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN=rustle-runner
DIR="${1:-$ROOT/dist/runners}"
case "$DIR" in -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;; esac

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
die() { echo "check.sh: error: $*" >&2; exit 1; }

# --------------------------------------------------------------- prerequisites
HOST_ARCH="$(uname -m)"
[ "$HOST_ARCH" = arm64 ] && HOST_ARCH=aarch64
APT_UPDATED=0
need_pkg() {  # need_pkg COMMAND PACKAGE
    command -v "$1" >/dev/null && return 0
    command -v apt-get >/dev/null || die "'$1' not found; install package $2"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "check.sh: installing $2 (for $1)" >&2
    if [ "$APT_UPDATED" = 0 ]; then $sudo apt-get update -qq >/dev/null; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$2" >/dev/null \
        || die "apt-get install $2 failed"
    command -v "$1" >/dev/null || die "'$1' still not found after installing $2"
}
need_pkg file file
need_pkg readelf binutils   # plain readelf reads ELF files of any architecture

# Command prefix needed to execute a binary of ARCH on this host.
runner_prefix() {
    local arch="$1"
    [ "$arch" = "$HOST_ARCH" ] || echo "qemu-$arch-static"
}

# ----------------------------------------------------------- per-runner checks
check_static() {  # check_static TRIPLE FILE
    local t="$1" f="$2" arch="${1%%-*}" desc machine
    desc="$(file -b "$f")"
    case "$desc" in
        *"statically linked"*|*"static-pie linked"*) pass "$t: file: ${desc%%, BuildID*}" ;;
        *) fail "$t: file does not report a static executable: $desc" ;;
    esac
    machine="$(readelf -hW "$f" | sed -n 's/^ *Machine: *//p')"
    case "$arch:$machine" in
        x86_64:*X86-64*|aarch64:AArch64) pass "$t: ELF machine $machine" ;;
        *) fail "$t: ELF machine '$machine' does not match $arch" ;;
    esac
    if readelf -lW "$f" | grep -q '^ *INTERP'; then
        fail "$t: has a PT_INTERP (dynamic loader): $(readelf -lW "$f" | grep -o 'interpreter: [^]]*')"
    else
        pass "$t: no PT_INTERP"
    fi
    if readelf -dW "$f" | grep -q '(NEEDED)'; then
        fail "$t: has NEEDED entries: $(readelf -dW "$f" | grep '(NEEDED)' | grep -o '\[.*\]' | tr '\n' ' ')"
    else
        pass "$t: no NEEDED shared libraries"
    fi
}

check_version() {  # check_version TRIPLE FILE
    local t="$1" f="$2" prefix work out rc=0
    prefix="$(runner_prefix "${t%%-*}")"
    work="$(mktemp -d)"
    out="$(cd "$work" && timeout 60 $prefix "$f" --version 2>&1)" || rc=$?
    rm -rf "$work"
    if [ "$rc" = 0 ] && [ -n "$out" ]; then
        pass "$t: --version${prefix:+ (under $prefix)}: $(echo "$out" | head -1)"
    else
        fail "$t: '$prefix $f --version' exited $rc: $(echo "$out" | head -3)"
    fi
}

# ===================================================================
# apply_bundle_check TRIPLE FILE
# End-to-end check: apply a real signed bundle with each runner.
# Runs only when RUSTLE_TEST_BUNDLE (bundle file) and RUSTLE_TEST_TRUST
# (.pub key) are both set; each runner gets a fresh temp dir as its cwd.
# ===================================================================
apply_bundle_check() {
    local t="$1" f="$2" prefix bundle trust work out rc=0
    if [ -z "${RUSTLE_TEST_BUNDLE:-}" ] || [ -z "${RUSTLE_TEST_TRUST:-}" ]; then
        return 0
    fi
    bundle="$(realpath "$RUSTLE_TEST_BUNDLE")"
    trust="$(realpath "$RUSTLE_TEST_TRUST")"
    [ -f "$bundle" ] || { fail "$t: apply: RUSTLE_TEST_BUNDLE=$RUSTLE_TEST_BUNDLE is not a file"; return 0; }
    [ -f "$trust" ] || { fail "$t: apply: RUSTLE_TEST_TRUST=$RUSTLE_TEST_TRUST is not a file"; return 0; }
    prefix="$(runner_prefix "${t%%-*}")"
    work="$(mktemp -d)"
    out="$(cd "$work" && timeout 300 $prefix "$f" apply "$bundle" --trust "$trust" 2>&1)" || rc=$?
    if [ "$rc" = 0 ]; then
        pass "$t: apply $(basename "$bundle") --trust $(basename "$trust")"
        rm -rf "$work"
    else
        fail "$t: apply exited $rc (cwd kept: $work): $(echo "$out" | tail -5)"
    fi
}

# ------------------------------------------------------------------------ main
[ -d "$DIR" ] || die "no runner directory $DIR (run release/build.sh first)"
DIR="$(cd "$DIR" && pwd)"
found=()
for f in "$DIR"/*/"$BIN"; do
    [ -f "$f" ] && found+=("$f")
done
[ "${#found[@]}" -gt 0 ] || die "no $DIR/<triple>/$BIN found (run release/build.sh first)"

if [ -n "${RUSTLE_CHECK_TARGETS:-}" ]; then
    IFS=',' read -r -a want <<<"$RUSTLE_CHECK_TARGETS"
    for t in "${want[@]}"; do
        if [ -f "$DIR/$t/$BIN" ]; then pass "$t: present"; else fail "$t: missing $DIR/$t/$BIN"; fi
    done
fi

for f in "${found[@]}"; do
    t="$(basename "$(dirname "$f")")"
    case "$t" in
        x86_64-*|aarch64-*) ;;
        *) fail "$t: unknown triple directory"; continue ;;
    esac
    [ -x "$f" ] || { fail "$t: $f is not executable"; continue; }
    [ "${t%%-*}" = "$HOST_ARCH" ] || need_pkg "qemu-${t%%-*}-static" qemu-user-static
    check_static "$t" "$f"
    check_version "$t" "$f"
    apply_bundle_check "$t" "$f"
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
