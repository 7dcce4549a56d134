#!/usr/bin/env bash
# `--syntax-check` over the compat corpus with rustle and ansible-playbook;
# prints entries whose exit codes differ and exits 1 if any do.
#   tests/compat_syntax.sh COMPAT_DIR [RUSTLE] [ANSIBLE_PLAYBOOK]
set -euo pipefail
compat=${1:?usage: $0 COMPAT_DIR [RUSTLE] [ANSIBLE_PLAYBOOK]}
root=$(cd "$(dirname "$0")/.." && pwd)
rustle=${2:-$root/target/debug/rustle}
ansible=${3:-$root/.venv/bin/ansible-playbook}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
COMPAT_JOBS=${COMPAT_JOBS:-2} "$compat/run.sh" "$rustle playbook --syntax-check" visible >"$out/r.tsv" 2>/dev/null
COMPAT_JOBS=${COMPAT_JOBS:-2} "$compat/run.sh" "$ansible --syntax-check" visible >"$out/a.tsv" 2>/dev/null
total=$(wc -l <"$out/a.tsv")
accepted=$(awk -F'\t' '$2 == 0' "$out/a.tsv" | wc -l)
diffs=$(join -t $'\t' <(cut -f1,2 "$out/r.tsv" | sort) <(cut -f1,2 "$out/a.tsv" | sort) | awk -F'\t' '$2 != $3 {print $1 ": rustle " $2 ", ansible " $3}')
echo "$total entries, $accepted accepted by ansible-playbook --syntax-check"
if [ -n "$diffs" ]; then
    echo "exit codes differ:"
    echo "$diffs"
    exit 1
fi
echo "rustle agrees on every entry"
