#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up, formatting, lints, tests,
# then the static runners for every supported target triple, checked.
#   bash tests/run.sh            everything
#   bash tests/run.sh --quick    skip the static release runners
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

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
    bash release/build.sh
    bash release/check.sh
    export RUSTLE_STATIC_RUNNERS="$PWD/dist/runners"
fi

step "cargo test"
mkdir -p target
cargo test --workspace --quiet 2>&1 | tee target/test-output.txt
grep -q "test result:" target/test-output.txt
step "all tests passed"
