#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time, seeded from its corpus in
# tests/fuzz/corpus/<name>; new inputs go to a scratch dir, not the repo.
set -eu
secs=$1; shift
for bin in "$@"; do
  name=$(basename "$bin")
  corpus=tests/fuzz/corpus/${name#fuzz_}
  scratch=$(mktemp -d)
  echo "fuzz: $name for ${secs}s (seed corpus $corpus)"
  "$bin" -max_total_time="$secs" -max_len=8192 -timeout=5 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix=build/fuzz/"$name"- "$scratch" "$corpus" 2>build/fuzz/"$name".log \
    || { tail -50 build/fuzz/"$name".log; rm -rf "$scratch"; exit 1; }
  grep -E 'stat::number_of_executed_units' build/fuzz/"$name".log || true
  rm -rf "$scratch"
done
