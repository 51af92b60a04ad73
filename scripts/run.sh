#!/usr/bin/env bash
# `make run`: start hostd in the foreground with state in ./var, after
# printing how to reach it. HOSTD_LISTEN / HOSTD_STATE / HOSTD_CONFIG override.
set -euo pipefail
cd "$(dirname "$0")/.."
state=${HOSTD_STATE:-./var}
listen=${HOSTD_LISTEN:-127.0.0.1:8788}
args=(--state-dir "$state" --listen "$listen")
[ -n "${HOSTD_CONFIG:-}" ] && args+=(--config "$HOSTD_CONFIG")

# Start, wait for it to listen, then show the credentials it uses.
build/bin/hostd "${args[@]}" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM
for _ in $(seq 100); do
  if (exec 3<>/dev/tcp/${listen%:*}/${listen##*:}) 2>/dev/null; then break; fi
  kill -0 $pid 2>/dev/null || { wait $pid; exit 1; }
  sleep 0.05
done
if [ -f "$state/credentials" ] && [ -z "${HOSTD_CONFIG:-}" ]; then
  cat >&2 <<MSG

hostd is up on http://$listen (state: $state)
credentials (also in $state/credentials):
$(grep -E 'aws_(access|secret)' "$state/credentials" | sed 's/^/  /')
try:
  AWS_SHARED_CREDENTIALS_FILE=$state/credentials AWS_DEFAULT_REGION=us-east-1 aws --endpoint-url http://$listen ec2 describe-regions
Ctrl-C stops it.

MSG
fi
wait $pid
