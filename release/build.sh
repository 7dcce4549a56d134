#!/usr/bin/env bash
# Build fully static, size-optimised `rustle-runner` executables.
#
#   release/build.sh [--targets t1,t2,...] [--out DIR] [--no-install]
#
# Default targets: x86_64/aarch64 x {unknown-linux-musl, unknown-linux-gnu}.
# The gnu targets are linked against static glibc (-C target-feature=+crt-static).
# Output: DIR/<triple>/rustle-runner (DIR defaults to dist/runners in the
# workspace root).  The cargo target dir is the workspace's `target/` unless
# CARGO_TARGET_DIR is set.  Linkers and C compilers are chosen here, through
# environment variables, so normal developer builds are unaffected.
#
# Environment knobs:
#   CARGO_TARGET_DIR          shared cargo target dir (default: <workspace>/target)
#   RUSTLE_MUSL_CROSS=zig|gcc how to build a musl target for a foreign arch
#                             (default zig: cargo-zigbuild, real musl headers;
#                             gcc: Debian cross gcc + Rust's bundled musl, no PyPI)
#   RUSTLE_RELEASE_VENV       venv holding ziglang + cargo-zigbuild
#                             (default: ~/.cache/rustle-release/venv)
#   RUSTLE_ZIGLANG_VERSION, RUSTLE_CARGO_ZIGBUILD_VERSION  pinned PyPI versions
#   RUSTLE_CARGO_LOCKED=0     build without --locked
set -euo pipefail

ALL_TARGETS="x86_64-unknown-linux-musl,aarch64-unknown-linux-musl,x86_64-unknown-linux-gnu,aarch64-unknown-linux-gnu"
PACKAGE=rustle-runner
BIN=rustle-runner
PROFILE=runner

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGETS="$ALL_TARGETS"
OUT=""
INSTALL=1
MUSL_CROSS="${RUSTLE_MUSL_CROSS:-zig}"
VENV="${RUSTLE_RELEASE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/rustle-release/venv}"
ZIGLANG_VERSION="${RUSTLE_ZIGLANG_VERSION:-0.17.1}"
ZIGBUILD_VERSION="${RUSTLE_CARGO_ZIGBUILD_VERSION:-0.24.1}"

die() { echo "build.sh: error: $*" >&2; exit 1; }
log() { echo "build.sh: $*" >&2; }
usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --targets) [ $# -ge 2 ] || die "--targets needs a value"; TARGETS="$2"; shift 2 ;;
        --targets=*) TARGETS="${1#*=}"; shift ;;
        --out) [ $# -ge 2 ] || die "--out needs a value"; OUT="$2"; shift 2 ;;
        --out=*) OUT="${1#*=}"; shift ;;
        --no-install) INSTALL=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
case "$MUSL_CROSS" in zig|gcc) ;; *) die "RUSTLE_MUSL_CROSS must be zig or gcc, not '$MUSL_CROSS'" ;; esac

OUT="${OUT:-$ROOT/dist/runners}"
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
IFS=',' read -r -a TARGET_LIST <<<"$TARGETS"
[ "${#TARGET_LIST[@]}" -gt 0 ] || die "no targets given"
for t in "${TARGET_LIST[@]}"; do
    case ",$ALL_TARGETS," in *",$t,"*) ;; *) die "unsupported target '$t' (supported: $ALL_TARGETS)" ;; esac
done

# ---------------------------------------------------------------- host facts
[ "$(uname -s)" = Linux ] || die "this script builds on Linux hosts only"
HOST_ARCH="$(uname -m)"
case "$HOST_ARCH" in
    x86_64|aarch64) ;;
    arm64) HOST_ARCH=aarch64 ;;
    *) die "unsupported host architecture '$HOST_ARCH' (need x86_64 or aarch64)" ;;
esac
deb_arch() { case "$1" in x86_64) echo amd64 ;; aarch64) echo arm64 ;; esac; }
# Debian's name for the cross gcc package / binary prefix of an arch.
gnu_prefix() { echo "$1-linux-gnu"; }
gnu_gcc_pkg() { case "$1" in x86_64) echo gcc-x86-64-linux-gnu ;; aarch64) echo gcc-aarch64-linux-gnu ;; esac; }

# How each triple is built: "native-gnu", "cross-gnu", "musl-gcc", "zig", "cross-gcc-musl".
toolchain_for() {
    local triple="$1" arch="${1%%-*}"
    case "$triple" in
        *-linux-gnu) if [ "$arch" = "$HOST_ARCH" ]; then echo native-gnu; else echo cross-gnu; fi ;;
        *-linux-musl)
            if [ "$arch" = "$HOST_ARCH" ]; then echo musl-gcc
            elif [ "$MUSL_CROSS" = zig ]; then echo zig
            else echo cross-gcc-musl; fi ;;
    esac
}

# ------------------------------------------------------------- prerequisites
APT_UPDATED=0
apt_install() {
    # Install the given Debian packages if any is missing (quiet, idempotent).
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$INSTALL" = 1 ] || die "missing Debian packages: ${missing[*]} (run without --no-install, or: apt-get install ${missing[*]})"
    command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get on this machine; install them by hand"
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || die "need root (or sudo) to apt-get install ${missing[*]}"
        sudo="sudo"
    fi
    log "installing Debian packages: ${missing[*]}"
    if [ "$APT_UPDATED" = 0 ]; then
        $sudo apt-get update -qq >/dev/null || die "apt-get update failed"
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

ensure_rust_target() {
    local triple="$1"
    if ! rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
        [ "$INSTALL" = 1 ] || die "rust target $triple is not installed (rustup target add $triple)"
        log "rustup target add $triple"
        rustup target add "$triple" >/dev/null || die "rustup target add $triple failed"
    fi
}

ensure_zig() {
    # ziglang (the zig compiler, shipped as a PyPI wheel) + cargo-zigbuild in a venv.
    if [ -x "$VENV/bin/cargo-zigbuild" ] && "$VENV/bin/python3" -m ziglang version >/dev/null 2>&1; then
        return 0
    fi
    [ "$INSTALL" = 1 ] || die "ziglang/cargo-zigbuild venv missing at $VENV (run without --no-install)"
    command -v python3 >/dev/null || apt_install python3
    if [ ! -x "$VENV/bin/python3" ]; then
        mkdir -p "$(dirname "$VENV")"
        if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
            rm -rf "$VENV"
            apt_install python3-venv
            python3 -m venv "$VENV" || die "could not create a python venv at $VENV"
        fi
    fi
    log "pip install ziglang==$ZIGLANG_VERSION cargo-zigbuild==$ZIGBUILD_VERSION into $VENV"
    "$VENV/bin/python3" -m pip install -q --disable-pip-version-check \
        "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$ZIGBUILD_VERSION" \
        || die "pip install of ziglang/cargo-zigbuild failed"
    "$VENV/bin/python3" -m ziglang version >/dev/null 2>&1 || die "ziglang installed but 'python3 -m ziglang version' fails"
}

command -v cargo >/dev/null || die "cargo not found (install Rust via rustup)"
command -v rustup >/dev/null || die "rustup not found (needed to add the rust targets)"
for t in "${TARGET_LIST[@]}"; do
    ensure_rust_target "$t"
    arch="${t%%-*}"
    case "$(toolchain_for "$t")" in
        native-gnu) apt_install gcc libc6-dev ;;  # libc6-dev ships libc.a
        cross-gnu) apt_install "$(gnu_gcc_pkg "$arch")" "libc6-dev-$(deb_arch "$arch")-cross" ;;
        musl-gcc) apt_install gcc musl-tools ;;
        cross-gcc-musl) apt_install "$(gnu_gcc_pkg "$arch")" ;;
        zig) apt_install gcc; ensure_zig ;;
    esac
done

# ------------------------------------------------------------------- builds
LOCKED=(--locked)
[ "${RUSTLE_CARGO_LOCKED:-1}" = 0 ] && LOCKED=()
# A user's RUSTFLAGS would override the per-target ones; we set RUSTFLAGS
# ourselves (with --target it only reaches target code, not build scripts).
unset CARGO_ENCODED_RUSTFLAGS
BASE_RUSTFLAGS="${RUSTFLAGS:-}"

build_one() {
    local triple="$1" tc="$2" arch="${1%%-*}" env_triple upper
    env_triple="${triple//-/_}"
    upper="$(echo "$env_triple" | tr '[:lower:]' '[:upper:]')"
    local -a envs=("RUSTFLAGS=$BASE_RUSTFLAGS -C target-feature=+crt-static")
    local -a cmd=(cargo build)
    case "$tc" in
        native-gnu)
            envs+=("CARGO_TARGET_${upper}_LINKER=gcc" "CC_${env_triple}=gcc" "AR_${env_triple}=ar") ;;
        cross-gnu)
            envs+=("CARGO_TARGET_${upper}_LINKER=$(gnu_prefix "$arch")-gcc"
                   "CC_${env_triple}=$(gnu_prefix "$arch")-gcc" "AR_${env_triple}=$(gnu_prefix "$arch")-ar") ;;
        musl-gcc)
            # Rust links its own bundled musl (self-contained crt + libc.a); gcc
            # is only the linker driver. C code is compiled by musl-gcc against
            # musl's headers.
            envs+=("CARGO_TARGET_${upper}_LINKER=gcc" "CC_${env_triple}=musl-gcc" "AR_${env_triple}=ar") ;;
        cross-gcc-musl)
            # Fallback without PyPI: C code compiled with glibc headers, linked
            # against Rust's bundled musl. Fine for zstd (only mem*/malloc).
            envs+=("CARGO_TARGET_${upper}_LINKER=$(gnu_prefix "$arch")-gcc"
                   "CC_${env_triple}=$(gnu_prefix "$arch")-gcc" "AR_${env_triple}=$(gnu_prefix "$arch")-ar") ;;
        zig)
            envs+=("PATH=$VENV/bin:$PATH" "CARGO_ZIGBUILD_PYTHON_PATH=$VENV/bin/python3")
            cmd=(cargo zigbuild) ;;
    esac
    (cd "$ROOT" && env "${envs[@]}" "${cmd[@]}" "${LOCKED[@]}" --profile "$PROFILE" \
        -p "$PACKAGE" --bin "$BIN" --target "$triple")
}

describe() {
    case "$1" in
        native-gnu) echo "gcc + static glibc" ;;
        cross-gnu) echo "$(gnu_prefix "${2%%-*}")-gcc + static glibc" ;;
        musl-gcc) echo "musl-gcc (CC), gcc (link)" ;;
        cross-gcc-musl) echo "$(gnu_prefix "${2%%-*}")-gcc + rust musl" ;;
        zig) echo "cargo-zigbuild (zig cc)" ;;
    esac
}

mkdir -p "$OUT"
declare -a ROWS=() FAILED=()
for t in "${TARGET_LIST[@]}"; do
    tc="$(toolchain_for "$t")"
    log "building $PACKAGE for $t with $(describe "$tc" "$t")"
    start=$(date +%s)
    if ! build_one "$t" "$tc"; then
        log "FAILED: cargo build for $t (toolchain: $(describe "$tc" "$t"))"
        FAILED+=("$t")
        continue
    fi
    secs=$(( $(date +%s) - start ))
    src="$CARGO_TARGET_DIR/$t/$PROFILE/$BIN"
    [ -f "$src" ] || { log "FAILED: build for $t succeeded but $src is missing"; FAILED+=("$t"); continue; }
    mkdir -p "$OUT/$t"
    cp -f "$src" "$OUT/$t/$BIN.tmp" && mv -f "$OUT/$t/$BIN.tmp" "$OUT/$t/$BIN"
    size=$(stat -c %s "$OUT/$t/$BIN")
    ROWS+=("$(printf '%-28s %10s %8s %6ss  %s' "$t" "$size" "$(numfmt --to=iec-i --suffix=B "$size" 2>/dev/null || echo -)" "$secs" "$(describe "$tc" "$t")")")
done

echo
printf '%-28s %10s %8s %7s  %s\n' TARGET BYTES SIZE TIME TOOLCHAIN
for r in "${ROWS[@]}"; do echo "$r"; done
echo "output: $OUT"
if [ "${#FAILED[@]}" -gt 0 ]; then
    die "build failed for: ${FAILED[*]}"
fi
