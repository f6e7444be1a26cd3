#!/bin/bash
# Session-creation probe (issue 19): starts this broker as `vmq-bench serve` on a free loopback
# port with a fresh store in a temp dir, runs `vmq-bench park` (N persistent sessions: CONNECT,
# SUBSCRIBE, DISCONNECT, 50 at a time), prints the 12b row and the temp dir, and stops the broker.
#   scripts/profile-park.sh N ["extra conf lines"]    PROF=1 adds a CPU profile ($dir/cpu.prof)
# Run `make build` first; compare builds with interleaved runs (the machine is shared and noisy).
set -eu
cd "$(dirname "$0")/.."
n=${1:-20000}
W=$(mktemp -d); P=$(bin/vmq-bench freeport); mkdir -p "$W/data"; printf 'topic #\n' >"$W/acl"
cat >"$W/v.conf" <<EOF
allow_anonymous = on
plugins.vmq_passwd = off
plugins.vmq_acl = on
vmq_acl.acl_file = $W/acl
platform_data_dir = $W/data
log.console = console
log.console.level = warning
listener.max_connections = infinity
listener.tcp.default = 127.0.0.1:$P
${2:-}
EOF
bin/vmq-bench serve -c "$W/v.conf" ${PROF:+-cpuprofile "$W/cpu.prof"} >"$W/log" 2>&1 &
SP=$!
trap 'kill -INT $SP 2>/dev/null; wait $SP 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$P") 2>/dev/null && break; sleep 0.1; done
bin/vmq-bench park -addr "127.0.0.1:$P" -sessions "$n" -pid "$SP" 2>&1 | grep "^this 12b"
kill -INT $SP; wait $SP || true
trap - EXIT
echo "$W"
