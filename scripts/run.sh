#!/usr/bin/env bash
# `make run`: start hostd in the foreground with state in ./var, make sure it
# has the tiny test AMI (build/ami/tiny.qcow2, imported once per build of
# it), and print how to reach it and the AMI's id.
# HOSTD_LISTEN / HOSTD_STATE / HOSTD_CONFIG override.
set -euo pipefail
cd "$(dirname "$0")/.."
state=${HOSTD_STATE:-./var}
listen=${HOSTD_LISTEN:-127.0.0.1:8788}
args=(--state-dir "$state" --listen "$listen")
[ -n "${HOSTD_CONFIG:-}" ] && args+=(--config "$HOSTD_CONFIG")

# Start, wait for it to listen, then show the credentials it uses.
build/bin/hostd "${args[@]}" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 130' INT TERM
for _ in $(seq 100); do
  if (exec 3<>/dev/tcp/${listen%:*}/${listen##*:}) 2>/dev/null; then break; fi
  kill -0 $pid 2>/dev/null || { wait $pid; exit 1; }
  sleep 0.05
done

host=${listen%:*}
[ "$host" = 0.0.0.0 ] && host=127.0.0.1
ami="tiny AMI: none (build/ami/tiny.qcow2 is missing; make tiny-ami builds it)"
if [ -f build/ami/tiny.qcow2 ]; then
  ami=$(/usr/bin/python3 scripts/tiny_ami.py --endpoint "http://$host:${listen##*:}" --state "$state" \
        ${HOSTD_CONFIG:+--config "$HOSTD_CONFIG"} build/ami/tiny.qcow2) \
    || ami="tiny AMI: the import failed (see above); hostd keeps running"
fi
if [ -f "$state/credentials" ] && [ -z "${HOSTD_CONFIG:-}" ]; then
  cat >&2 <<MSG

hostd is up on http://$listen (state: $state)
credentials (also in $state/credentials):
$(grep -E 'aws_(access|secret)' "$state/credentials" | sed 's/^/  /')
$ami
try:
  AWS_SHARED_CREDENTIALS_FILE=$state/credentials AWS_DEFAULT_REGION=us-east-1 aws --endpoint-url http://$listen ec2 describe-images --owners self
Ctrl-C stops it.

MSG
else
  printf '\nhostd is up on http://%s (state: %s)\n%s\nCtrl-C stops it.\n\n' "$listen" "$state" "$ami" >&2
fi
wait $pid
