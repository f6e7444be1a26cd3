#!/usr/bin/env bash
# `make profile`: CPU and allocation profiles of this broker under the paced bench scenarios, by
# default 1 (fan-in QoS 0, 100 -> 1) and 4 (fan-out QoS 0, 1 -> 100), each at one rate, on 127.0.0.1 only.
# The broker runs in-process in `vmq-bench serve` (the vernemq binary has no pprof endpoint), with
# the same conf as `make bench`; the message counts come from its Prometheus endpoint.
#   PROFILE_SCENARIOS=1,4   which of 1-4, or 12      PROFILE_STEP=10s   how long the paced step runs
#   12 is session creation (issue 19): PROFILE_SESSIONS (20000) persistent sessions made by `vmq-bench park`
#   (CONNECT, SUBSCRIBE, DISCONNECT, 50 at a time) against a fresh store
#   PROFILE_RATE<n>=msg/s   scenario n's rate (defaults: 1 250000, 2 80000, 3 160000, 4 300000 delivered)
#   PROFILE_DIR=dir         keep the profiles there (default: a temp dir, removed at exit)
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIOS=${PROFILE_SCENARIOS:-1,4}
STEP=${PROFILE_STEP:-10s}
SESSIONS=${PROFILE_SESSIONS:-20000}
go build -o bin/ ./cmd/vmq-bench

WORK=$(mktemp -d /tmp/vmq-profile.XXXXXX)
OUT=${PROFILE_DIR:-$WORK}
mkdir -p "$OUT"
PID=""
stop() { # SIGTERM makes serve write both profiles; 30 s at most
  [ -n "$PID" ] || return 0
  kill -TERM "$PID" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$PID" 2>/dev/null || true
  PID=""
}
trap 'stop; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

counter() { # $1 metric name: its value on the node's /metrics (summed over labels)
  curl -sf "http://127.0.0.1:$HTTPPORT/metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%d", s }'
}

for s in ${SCENARIOS//,/ }; do
  case $s in
  1) rate=${PROFILE_RATE1:-250000} ;;
  2) rate=${PROFILE_RATE2:-80000} ;;
  3) rate=${PROFILE_RATE3:-160000} ;;
  4) rate=${PROFILE_RATE4:-300000} ;;
  12) rate=0 ;;
  *) echo "profile: scenario $s: only the paced scenarios 1-4 and session creation (12) are profiled here" >&2; exit 2 ;;
  esac
  PORT=$(bin/vmq-bench freeport) HTTPPORT=$(bin/vmq-bench freeport)
  rm -rf "$WORK/data" && mkdir -p "$WORK/data"
  printf 'topic #\n' >"$WORK/acl"
  cat >"$WORK/vernemq.conf" <<CONF
allow_anonymous = on
plugins.vmq_passwd = off
plugins.vmq_acl = on
vmq_acl.acl_file = $WORK/acl
platform_data_dir = $WORK/data
log.console = console
log.console.level = warning
listener.max_connections = infinity
listener.tcp.default = 127.0.0.1:$PORT
listener.http.default = 127.0.0.1:$HTTPPORT
CONF
  echo "profile: scenario $s (profiles in $OUT)" >&2
  bin/vmq-bench serve -c "$WORK/vernemq.conf" -cpuprofile "$OUT/cpu-$s.pprof" -memprofile "$OUT/allocs-$s.pprof" \
    >>"$WORK/serve.log" 2>&1 &
  PID=$!
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
  if [ "$s" = 12 ]; then
    bin/vmq-bench park -broker this -addr "127.0.0.1:$PORT" -pid "$PID" -sessions "$SESSIONS" -out "$WORK/$s.jsonl" |
      grep '^this 12b' || true
    what="$SESSIONS persistent sessions created" per=session out=$SESSIONS
  else
    bin/vmq-bench run -broker this -addr "127.0.0.1:$PORT" -pid "$PID" -scenarios "$s" -step "$STEP" \
      -rates "$rate" -fanout-rates "$rate" -out "$WORK/$s.jsonl"
    in=$(counter vernemq_mqtt_publish_received) out=$(counter vernemq_mqtt_publish_sent)
    what="at $rate msg/s: $in publishes in, $out delivered" per="delivered message"
  fi
  stop
  [ -s "$OUT/cpu-$s.pprof" ] || { echo "profile: no CPU profile; serve's log:" >&2; tail -5 "$WORK/serve.log" >&2; exit 1; }
  echo
  echo "== scenario $s $what"
  echo "-- CPU, cumulative (top 30)"
  go tool pprof -top -cum -nodecount=30 "$OUT/cpu-$s.pprof" 2>/dev/null | sed -n '/flat%/,$p'
  echo "-- CPU, flat (top 15)"
  go tool pprof -top -nodecount=15 "$OUT/cpu-$s.pprof" 2>/dev/null | sed -n '/flat%/,$p'
  echo "-- allocations, bytes (top 12)"
  go tool pprof -top -sample_index=alloc_space -nodecount=12 "$OUT/allocs-$s.pprof" 2>/dev/null | sed -n '/Showing nodes/,$p'
  echo "-- allocations, objects (top 12)"
  go tool pprof -top -sample_index=alloc_objects -nodecount=12 "$OUT/allocs-$s.pprof" 2>/dev/null | sed -n '/Showing nodes/,$p'
  # Totals over the whole run (connect phase included, which is small against millions of messages).
  read -r objs bytes < <(go tool pprof -raw "$OUT/allocs-$s.pprof" 2>/dev/null |
    awk '/^Samples:/ { s = 1; next } /^Locations/ { s = 0 } s && $1 ~ /^[0-9]+$/ { o += $1; b += $2 } END { printf "%d %d\n", o, b }')
  awk -v b="$bytes" -v o="$objs" -v n="$out" -v per="$per" 'BEGIN { if (n > 0) printf "-- per %s: %.0f B, %.2f allocations (%d B, %d objects for %d)\n", per, b / n, o / n, b, o, n }'
done
