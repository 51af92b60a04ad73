#!/usr/bin/env bash
# Runs every cmocka binary given; prints one summary line the CI can read.
set -u
dir=$1; shift
pass=0; fail=0; failed=()
for t in "$@"; do
  if "$t"; then pass=$((pass+1)); else fail=$((fail+1)); failed+=("$t"); fi
done
echo "$(basename "$dir"): $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { printf 'failed: %s\n' "${failed[@]}"; exit 1; }
