#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up, formatting, lints, tests,
# then the static runners for every supported target triple, checked.
#   bash tests/run.sh                      what CI runs
#   bash tests/run.sh --quick              skip the static release runners
#   bash tests/run.sh --all-runners        all four runner triples, not just musl
#   bash tests/run.sh --verify-recordings  also re-run ansible-playbook on every
#                                          differential case (about 7 min more)
# CI builds the two musl runners (x86_64 natively, aarch64 cross-built and run
# under qemu); the static-glibc ones share all their Rust code and are built
# by release/build.sh for releases, or here with --all-runners.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
export RUSTLE_RUNNER_TARGETS="${RUSTLE_RUNNER_TARGETS:-x86_64-unknown-linux-musl,aarch64-unknown-linux-musl}"
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        --all-runners) RUSTLE_RUNNER_TARGETS=x86_64-unknown-linux-musl,aarch64-unknown-linux-musl,x86_64-unknown-linux-gnu,aarch64-unknown-linux-gnu ;;
        --verify-recordings) export RUSTLE_VERIFY_RECORDINGS=1 ;;
        *) echo "tests/run.sh: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done

step() { printf '\n== %s\n' "$*"; }

step "set-up"
bash tests/setup.sh
export RUSTLE_ANSIBLE_VENV="${RUSTLE_ANSIBLE_VENV:-$PWD/.venv}"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

if [ "$quick" = 0 ]; then
    # Built first so that the end-to-end tests apply bundles with them.
    step "static runners"
    bash release/build.sh --targets "$RUSTLE_RUNNER_TARGETS"
    RUSTLE_CHECK_TARGETS="$RUSTLE_RUNNER_TARGETS" bash release/check.sh
    export RUSTLE_STATIC_RUNNERS="$PWD/dist/runners"
fi

step "cargo test"
mkdir -p target
cargo test --workspace --quiet 2>&1 | tee target/test-output.txt
grep -q "test result:" target/test-output.txt
step "all tests passed"
