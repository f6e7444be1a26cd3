#!/usr/bin/env bash
# `make bench`: the same load (bin/vmq-bench) against this broker, Mosquitto and mochi-mqtt,
# one after the other, on 127.0.0.1 only; prints one table and appends it to docs/benchmarks.md.
#   BENCH_QUICK=1          smoke run (~1-2 min): short steps, fewer clients
#   BROKERS=this,mochi     brokers to run (first one is compared with the others)
#   BENCH_STEP=10s         paced step / overload window length (full run)
#   BENCH_MD=path          where to append the results (default docs/benchmarks.md; "" = none)
set -euo pipefail
cd "$(dirname "$0")/.."
BROKERS=${BROKERS:-this,mosquitto,mochi}
STEP=${BENCH_STEP:-10s}
MD=${BENCH_MD-docs/benchmarks.md}
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

[[ ",$BROKERS," == *,mosquitto,* ]] && bash scripts/install-bench-deps.sh
[ -x bin/vernemq ] || go build -o bin/ ./cmd/vernemq   # `make bench` builds it first
go build -o bin/ ./cmd/vmq-bench
go build -o bin/mochi-peer ./bench/mochi-peer

WORK=$(mktemp -d /tmp/vmq-bench.XXXXXX)
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -TERM "$PID" 2>/dev/null || true; fi
  if [ -n "$PID" ]; then
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
  fi
  PID=""
}
trap 'cleanup; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# Idle-connection scenario needs ~10k fds on each side: raise the soft limit to the hard one.
NOTES=""
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10200 ]; then
  NOTES="Open-file limit is $(ulimit -n) (could not raise): scenario 6 uses fewer clients. "
fi

bin/vmq-bench certs -dir "$WORK"
printf 'topic #\n' >"$WORK/acl"

wait_port() { # polls until $1 accepts connections, 10 s at most
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$PID" 2>/dev/null || { echo "bench: $NAME exited at start; see $WORK/$NAME.log" >&2; return 1; }
    sleep 0.05
  done
  echo "bench: $NAME did not listen on $1 within 10 s; see $WORK/$NAME.log" >&2
  return 1
}

start_broker() { # $1 = this|mosquitto|mochi; sets PID, PORT, TLSPORT
  NAME=$1
  PORT=$(bin/vmq-bench freeport); TLSPORT=$(bin/vmq-bench freeport)
  case $NAME in
  this)
    rm -rf "$WORK/data"; mkdir -p "$WORK/data"
    cat >"$WORK/vernemq.conf" <<CONF
allow_anonymous = on
plugins.vmq_passwd = off
plugins.vmq_acl = on
vmq_acl.acl_file = $WORK/acl
platform_data_dir = $WORK/data
log.console = console
log.console.level = warning
systree_interval = 1000
listener.max_connections = infinity
listener.tcp.default = 127.0.0.1:$PORT
listener.ssl.default = 127.0.0.1:$TLSPORT
listener.ssl.certfile = $WORK/server.pem
listener.ssl.keyfile = $WORK/server.key
listener.ssl.cafile = $WORK/ca.pem
CONF
    bin/vernemq console -c "$WORK/vernemq.conf" >>"$WORK/this.log" 2>&1 &
    ;;
  mosquitto)
    # user: as root mosquitto would switch to user mosquitto, which cannot read the 0600 certificates.
    cat >"$WORK/mosquitto.conf" <<CONF
per_listener_settings false
user $(id -un)
allow_anonymous true
persistence false
sys_interval 1
log_dest stderr
log_type error
log_type warning
max_connections -1
listener $PORT 127.0.0.1
listener $TLSPORT 127.0.0.1
certfile $WORK/server.pem
keyfile $WORK/server.key
CONF
    "$MOSQUITTO" -c "$WORK/mosquitto.conf" >>"$WORK/mosquitto.log" 2>&1 &
    ;;
  mochi)
    bin/mochi-peer -tcp "127.0.0.1:$PORT" -tls "127.0.0.1:$TLSPORT" -cert "$WORK/server.pem" -key "$WORK/server.key" >>"$WORK/mochi.log" 2>&1 &
    ;;
  *) echo "bench: unknown broker $NAME in BROKERS (use this, mosquitto, mochi)" >&2; return 1 ;;
  esac
  PID=$!
  wait_port "$PORT" && wait_port "$TLSPORT"
}

IFS=, read -ra LIST <<<"$BROKERS"
FILES=()
for b in "${LIST[@]}"; do
  out="$WORK/$b.jsonl"; : >"$out"; FILES+=("$out")
  # A fresh broker for the memory scenarios (6 idle, 7 overload), so earlier load does not count.
  for group in 1,2,3,4,5 6 7; do
    echo "bench: $b scenarios $group" >&2
    if ! start_broker "$b"; then cleanup; tail -5 "$WORK/$b.log" >&2 || true; continue; fi
    bin/vmq-bench run -broker "$b" -addr "127.0.0.1:$PORT" -tls-addr "127.0.0.1:$TLSPORT" -ca "$WORK/ca.pem" \
      -pid "$PID" -scenarios "$group" -step "$STEP" -out "$out" || echo "bench: $b $group failed" >&2
    cleanup
  done
done

TITLE="make bench"; [ "${BENCH_QUICK:-}" = 1 ] && TITLE="make bench (BENCH_QUICK=1 smoke run)"
bin/vmq-bench report -brokers "$BROKERS" -md "$MD" -title "$TITLE" -notes "$NOTES" "${FILES[@]}"
