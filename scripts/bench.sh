#!/usr/bin/env bash
# `make bench`: the same load (bin/vmq-bench) against this broker, Mosquitto and mochi-mqtt,
# one after the other, on 127.0.0.1 only; prints one table and appends it to docs/benchmarks.md.
#   BENCH_QUICK=1          smoke run (~1-2 min): short steps, fewer clients
#   BROKERS=this,mochi     brokers to run (first one is compared with the others)
#   BENCH_STEP=10s         paced step / overload window length (full run)
#   BENCH_MD=path          where to append the results (default docs/benchmarks.md; "" = none)
#   BENCH_ONLY=8,9         run only these scenario groups (1-5, 6, 6b, 7, 8, 9, 10, 11, 12, 13, 14, 15); default all
#   PARK_SESSIONS=20000    scenario 12 offline sessions, and those scenario 14's second storm meets
#                          (2000 with BENCH_QUICK=1; recorded by hand: 100000 and 1000000)
#   PARK_TIMEOUT=50m       cap on creating the sessions of 12, 13 (default 10 min + 1 s per 200 sessions)
#   SUBS_SESSIONS=10000    scenario 13 sessions, 10 subscriptions each (1000 with BENCH_QUICK=1;
#                          recorded by hand: 100000, i.e. 1,000,000 subscriptions)
#   STORM_CLIENTS=10000    scenario 14 clean-session clients (100 connecting at a time)
# Scenarios 8-9 and 12-14 (persistent sessions) run on this broker and Mosquitto (persistence on), 10
# (auth) on this broker only, with PostgreSQL/Redis started from scripts/bench-authdb.sh when installed.
# Scenario 11 (cluster) runs on this broker only, as two nodes (run_cluster). Scenario 15 (on_deliver
# hot path) runs this broker under `vmq-bench serve -stats`, which reports its allocations (run_deliver).
#   12: PARK_SESSIONS sessions dev-<n>, one QoS 1 subscription dev/<n> each: RSS per session,
#       creation rate; SIGTERM, restart on the same data: start → open port, RSS after a publish to
#       the last session is queued (it gets it back).
#   13: SUBS_SESSIONS sessions iot-<n>, ten QoS 1 filters each in one SUBSCRIBE (cmd/vmq-bench/subs.go:
#       dev/<n>/#, dev/<n>/+/cmd, two exact dev/<n>/..., things/<n>/shadow/+/accepted|rejected,
#       fleet/<n/100>/+/status, fleet/<n/100>/broadcast, region/<n%100>/alerts/#, +/devices/<n>/events):
#       RSS per subscription, subscriptions/s; restart: start → open port, ~60 sample publishes acked,
#       RSS, then every session the sample can reach (and random others) holds exactly the sample
#       topics its filters match.
#   14: STORM_CLIENTS clean-session connects, 100 at a time, kept open until all are in: connects/s and
#       p99 dial → CONNACK on an empty node, then on a node holding PARK_SESSIONS offline sessions
#       (scenario 12's, before its restart), and the ratio of the two rates (goal ≥ 1).
# Long runs (a million sessions) log their progress every 30 s; the script raises `ulimit -n` to the
# hard limit (the storm keeps 10,000 sockets open on each side); creation keeps 50 sockets open.
set -euo pipefail
cd "$(dirname "$0")/.."
BROKERS=${BROKERS:-this,mosquitto,mochi}
STEP=${BENCH_STEP:-10s}
MD=${BENCH_MD-docs/benchmarks.md}
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
QUICK=${BENCH_QUICK:-}
ONLY=${BENCH_ONLY:-}
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *,$1,* ]]; }
. scripts/bench-authdb.sh

[[ ",$BROKERS," == *,mosquitto,* ]] && bash scripts/install-bench-deps.sh
[ -x bin/vernemq ] || go build -o bin/ ./cmd/vernemq   # `make bench` builds it first
go build -o bin/ ./cmd/vmq-bench
go build -o bin/mochi-peer ./bench/mochi-peer

WORK=$(mktemp -d /tmp/vmq-bench.XXXXXX)
PID=""
PID2="" # scenario 11's second node
cleanup() {
  local p
  for p in $PID $PID2; do
    kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  PID="" PID2=""
}
trap 'cleanup; stop_authdb; rm -rf "$WORK"' EXIT
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
    kill -0 "$PID" 2>/dev/null || {
      echo "bench: $NAME exited at start; the end of $WORK/$NAME.log:" >&2
      tail -n 5 "$WORK/$NAME.log" >&2 2>/dev/null
      return 1
    }
    sleep 0.05
  done
  echo "bench: $NAME did not listen on $1 within 10 s; see $WORK/$NAME.log" >&2
  return 1
}

# Per-start knobs (reset after each start): KEEP_DATA=1 keeps the store (restart), NOWAIT=1 returns
# at once (the restart probe times the start), THIS_AUTH replaces this broker's auth lines,
# THIS_EXTRA / MOSQ_EXTRA add conf lines, MOSQ_PERSIST=true turns Mosquitto's persistence on,
# THIS_STATS=port runs this broker as `vmq-bench serve -stats 127.0.0.1:port` (same node code, allocation counters).
THIS_AUTH_DEFAULT="allow_anonymous = on
plugins.vmq_passwd = off
plugins.vmq_acl = on
vmq_acl.acl_file = $WORK/acl"
start_broker() { # $1 = this|mosquitto|mochi; sets PID, PORT, TLSPORT, T0 (start time, ns)
  NAME=$1
  PORT=$(bin/vmq-bench freeport); TLSPORT=$(bin/vmq-bench freeport)
  case $NAME in
  this)
    [ "${KEEP_DATA:-}" = 1 ] || rm -rf "$WORK/data"
    mkdir -p "$WORK/data"
    cat >"$WORK/vernemq.conf" <<CONF
${THIS_AUTH:-$THIS_AUTH_DEFAULT}
${THIS_EXTRA:-}
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
    T0=$(date +%s%N)
    if [ -n "${THIS_STATS:-}" ]; then
      bin/vmq-bench serve -c "$WORK/vernemq.conf" -stats "127.0.0.1:$THIS_STATS" >>"$WORK/this.log" 2>&1 &
    else
      bin/vernemq console -c "$WORK/vernemq.conf" >>"$WORK/this.log" 2>&1 &
    fi
    ;;
  mosquitto)
    [ "${KEEP_DATA:-}" = 1 ] || rm -rf "$WORK/mosqdata"
    mkdir -p "$WORK/mosqdata"
    # user: as root mosquitto would switch to user mosquitto, which cannot read the 0600 certificates.
    cat >"$WORK/mosquitto.conf" <<CONF
per_listener_settings false
user $(id -un)
allow_anonymous true
persistence ${MOSQ_PERSIST:-false}
persistence_location $WORK/mosqdata/
${MOSQ_EXTRA:-}
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
    T0=$(date +%s%N)
    "$MOSQUITTO" -c "$WORK/mosquitto.conf" >>"$WORK/mosquitto.log" 2>&1 &
    ;;
  mochi)
    T0=$(date +%s%N)
    bin/mochi-peer -tcp "127.0.0.1:$PORT" -tls "127.0.0.1:$TLSPORT" -cert "$WORK/server.pem" -key "$WORK/server.key" >>"$WORK/mochi.log" 2>&1 &
    ;;
  *) echo "bench: unknown broker $NAME in BROKERS (use this, mosquitto, mochi)" >&2; return 1 ;;
  esac
  PID=$!
  [ "${NOWAIT:-}" = 1 ] && return 0
  wait_port "$PORT" && wait_port "$TLSPORT"
}

run_group() { # $1 broker, $2 scenarios, rest: extra vmq-bench run flags; a fresh broker each time
  local b=$1 group=$2; shift 2
  echo "bench: $b scenarios $group" >&2
  if ! start_broker "$b"; then cleanup; tail -5 "$WORK/$b.log" >&2 || true; return 0; fi
  bin/vmq-bench run -broker "$b" -addr "127.0.0.1:$PORT" -tls-addr "127.0.0.1:$TLSPORT" -ca "$WORK/ca.pem" \
    -pid "$PID" -scenarios "$group" -step "$STEP" -out "$out" "$@" || echo "bench: $b $group failed" >&2
  cleanup
}

note() { # $1 broker, $2 id, $3 label, $4 why
  bin/vmq-bench note -broker "$1" -id "$2" -scenario "$3" -why "$4" -out "$out"
}

# Scenario 9: queue SESSIONS×MSGS QoS 1 messages for offline sessions, SIGTERM, start again on the
# same data, time the port and the first queued message.
run_restart() { # $1 broker
  local b=$1 sessions=100 msgs=10000 limit=240s t sd
  [ "$QUICK" = 1 ] && msgs=500 limit=60s
  echo "bench: $b scenario 9 ($((sessions * msgs)) queued messages)" >&2
  if ! start_broker "$b"; then cleanup; tail -5 "$WORK/$b.log" >&2 || true; return 0; fi
  bin/vmq-bench fill -broker "$b" -addr "127.0.0.1:$PORT" -sessions "$sessions" -msgs "$msgs" -timeout "$limit" \
    -pid "$PID" -out "$out" || { echo "bench: $b fill failed" >&2; cleanup; return 0; }
  t=$(date +%s%N)
  stop_broker 120
  sd=$(awk -v a="$t" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  KEEP_DATA=1 NOWAIT=1 start_broker "$b"
  bin/vmq-bench restart-probe -broker "$b" -addr "127.0.0.1:$PORT" -t0 "$T0" -shutdown "$sd" -msgs "$msgs" \
    -queued "$((sessions * msgs))" -pid "$PID" -out "$out" || echo "bench: $b restart probe failed" >&2
  cleanup
}

stop_broker() { # $1 = seconds to wait after SIGTERM (Mosquitto writes its whole store then)
  local limit=${1:-120}
  kill -TERM "$PID" 2>/dev/null || true
  for _ in $(seq $((limit * 10))); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$PID" 2>/dev/null && echo "bench: $NAME still running $limit s after SIGTERM" >&2
  cleanup
}

# Scenarios 12 and 13: $3 offline persistent sessions made by `vmq-bench $2` (park: one QoS 1
# subscription each; subs: ten, wildcards included), then, with $4 = 1, scenario 14's storm against
# the node holding them; SIGTERM, start again on the same data, and `vmq-bench $2-probe` times the
# port and checks routing. Every step is bounded: creation by PARK_TIMEOUT (default 10 min + 1 s per
# 200 sessions), the shutdown and the probe by limits that grow with the count.
run_offline() { # $1 broker, $2 park|subs, $3 sessions, $4 storm
  local b=$1 cmd=$2 n=$3 id=12
  [ "$cmd" = subs ] && id=13
  echo "bench: $b scenario $id ($n offline sessions, vmq-bench $cmd)" >&2
  if ! start_broker "$b"; then cleanup; tail -5 "$WORK/$b.log" >&2 || true; return 0; fi
  bin/vmq-bench "$cmd" -broker "$b" -addr "127.0.0.1:$PORT" -sessions "$n" -timeout "${PARK_TIMEOUT:-$((600 + n / 200))s}" \
    -pid "$PID" -out "$out" || { echo "bench: $b $cmd failed" >&2; cleanup; return 0; }
  [ "${4:-}" = 1 ] && storm_at "$b" "$n"
  stop_broker $((120 + n / 5000))
  KEEP_DATA=1 NOWAIT=1 start_broker "$b"
  bin/vmq-bench "$cmd-probe" -broker "$b" -addr "127.0.0.1:$PORT" -t0 "$T0" -sessions "$n" -wait "$((120 + n / 2000))s" \
    -pid "$PID" -out "$out" || echo "bench: $b $cmd probe failed" >&2
  cleanup
}
run_park() { run_offline "$1" park "$PARK_N" "$(want 14 && echo 1)"; }

# Scenario 14: STORM_CLIENTS clean-session clients connect, 100 at a time, to an empty node (14a,
# 14b), then to a node holding PARK_SESSIONS offline sessions (14c-14e): scenario 12's node before
# its restart when 12 runs, else one parked here for it.
storm_at() { # $1 broker, $2 offline sessions the node holds
  bin/vmq-bench storm -broker "$1" -addr "127.0.0.1:$PORT" -sessions "$2" -clients "$STORM_CLIENTS" -par 100 \
    -pid "$PID" -out "$out" || echo "bench: $1 storm failed" >&2
}
run_storm() { # $1 broker
  local b=$1
  echo "bench: $b scenario 14 (connect storm, empty node)" >&2
  start_broker "$b" && storm_at "$b" 0
  cleanup
  want 12 && return 0
  echo "bench: $b scenario 14 (connect storm, $PARK_N offline sessions)" >&2
  if ! start_broker "$b"; then cleanup; return 0; fi
  bin/vmq-bench park -broker "$b" -addr "127.0.0.1:$PORT" -sessions "$PARK_N" -timeout "${PARK_TIMEOUT:-$((600 + PARK_N / 200))s}" \
    -out /dev/null && storm_at "$b" "$PARK_N"
  cleanup
}
PARK_N=${PARK_SESSIONS:-20000}
[ "$QUICK" = 1 ] && PARK_N=${PARK_SESSIONS:-2000}
SUBS_N=${SUBS_SESSIONS:-10000}
[ "$QUICK" = 1 ] && SUBS_N=${SUBS_SESSIONS:-1000}
STORM_CLIENTS=${STORM_CLIENTS:-10000}

# Scenario 10 on this broker: file plugins, then each database backend that can be started.
run_auth() {
  local users=1000 label
  [ "$QUICK" = 1 ] && users=200
  bin/vmq-bench authseed -users "$users" -dir "$WORK"
  THIS_AUTH="allow_anonymous = off
plugins.vmq_passwd = on
vmq_passwd.password_file = $WORK/passwd
plugins.vmq_acl = on
vmq_acl.acl_file = $WORK/acl.auth" run_group this 10 -auth files -auth-users "$users"
  local nodb="allow_anonymous = off
plugins.vmq_passwd = off
plugins.vmq_acl = off
plugins.vmq_diversity = on"
  label="auth vmq_diversity PostgreSQL (crypt, bcrypt cost 6): logins/s, $users distinct users 50 at a time (uncached)"
  if start_pg && bin/vmq-bench authseed -users "$users" -pg "postgres://vmq@127.0.0.1:$PG_PORT/postgres?sslmode=disable"; then
    THIS_AUTH="$nodb
vmq_diversity.auth_postgres.enabled = on
vmq_diversity.postgres.host = 127.0.0.1
vmq_diversity.postgres.port = $PG_PORT
vmq_diversity.postgres.user = vmq
vmq_diversity.postgres.password = unused-trust-auth
vmq_diversity.postgres.database = postgres
vmq_diversity.postgres.password_hash_method = crypt" run_group this 10 -auth postgres -auth-users "$users"
  else
    note this 10c "$label" "${AUTHDB_WHY:-could not seed PostgreSQL}"
  fi
  label="auth vmq_diversity Redis (bcrypt cost 6): logins/s, $users distinct users 50 at a time (uncached)"
  if start_redis && bin/vmq-bench authseed -users "$users" -redis "127.0.0.1:$REDIS_PORT"; then
    THIS_AUTH="$nodb
vmq_diversity.auth_redis.enabled = on
vmq_diversity.redis.host = 127.0.0.1
vmq_diversity.redis.port = $REDIS_PORT
vmq_diversity.redis.database = 0" run_group this 10 -auth redis -auth-users "$users"
  else
    note this 10e "$label" "${AUTHDB_WHY:-could not seed Redis}"
  fi
  stop_authdb
}

# Scenario 15: the same paced fan-out without a plugin, with vmq_webhooks on but no on_deliver endpoint,
# then with a webhook registering on_deliver(_m5) (served by vmq-bench on loopback); broker CPU and
# allocations per delivered message.
run_deliver() {
  local stats hook
  stats=$(bin/vmq-bench freeport); hook=$(bin/vmq-bench freeport)
  echo "bench: this scenario 15 (on_deliver hot path)" >&2
  THIS_STATS=$stats run_group this 15 -stats-url "http://127.0.0.1:$stats/" -deliver-hook none
  stats=$(bin/vmq-bench freeport)
  THIS_STATS=$stats THIS_EXTRA="plugins.vmq_webhooks = on
vmq_webhooks.gone.hook = on_client_gone
vmq_webhooks.gone.endpoint = http://127.0.0.1:$hook/" run_group this 15 -stats-url "http://127.0.0.1:$stats/" \
    -deliver-hook inactive -hook-listen "127.0.0.1:$hook"
  stats=$(bin/vmq-bench freeport)
  THIS_STATS=$stats THIS_EXTRA="plugins.vmq_webhooks = on
vmq_webhooks.bd.hook = on_deliver
vmq_webhooks.bd.endpoint = http://127.0.0.1:$hook/
vmq_webhooks.bd5.hook = on_deliver_m5
vmq_webhooks.bd5.endpoint = http://127.0.0.1:$hook/" run_group this 15 -stats-url "http://127.0.0.1:$stats/" \
    -deliver-hook webhook -hook-listen "127.0.0.1:$hook"
}

# Scenario 11: two nodes of this broker, B started alone; vmq-bench joins it to A (BENCH_JOIN)
# after subscribing on A, then measures cross-node forwarding.
start_node() { # $1 = node name; sets NPID, NPORT, NDATA, NCONF
  local d="$WORK/$1"
  rm -rf "$d"; mkdir -p "$d/data"
  NPORT=$(bin/vmq-bench freeport); NDATA=$(bin/vmq-bench freeport -pair); NCONF="$d/vernemq.conf"
  cat >"$NCONF" <<CONF
$THIS_AUTH_DEFAULT
nodename = $1@127.0.0.1
distributed_cookie = vmq-bench
platform_data_dir = $d/data
log.console = console
log.console.level = warning
systree_interval = 1000
listener.max_connections = infinity
listener.tcp.default = 127.0.0.1:$NPORT
listener.vmq.clustering = 127.0.0.1:$NDATA
CONF
  bin/vernemq console -c "$NCONF" >>"$WORK/$1.log" 2>&1 &
  NPID=$!
}
run_cluster() {
  local subs=100000 addrA confB
  [ "$QUICK" = 1 ] && subs=10000
  [ -x bin/vmq-admin ] || go build -o bin/ ./cmd/vmq-admin
  echo "bench: this scenario 11 (two nodes, $subs subscriptions)" >&2
  NAME=benchA; start_node benchA; PID=$NPID; addrA=127.0.0.1:$NDATA
  wait_port "$NPORT" || { cleanup; return 0; }
  local portA=$NPORT
  NAME=benchB; start_node benchB; PID2=$NPID; confB=$NCONF
  PID=$PID2 wait_port "$NPORT" || { cleanup; return 0; } # wait_port checks $PID is alive: B's here
  BENCH_NODE_B=127.0.0.1:$NPORT BENCH_CLUSTER_SUBS=$subs \
    BENCH_JOIN="bin/vmq-admin -c $confB cluster join discovery-node=$addrA" \
    bin/vmq-bench run -broker this -addr "127.0.0.1:$portA" -pid "$PID" -scenarios 11 -step "$STEP" -out "$out" ||
    echo "bench: this 11 failed" >&2
  cleanup
}

IFS=, read -ra LIST <<<"$BROKERS"
FILES=()
for b in "${LIST[@]}"; do
  out="$WORK/$b.jsonl"; : >"$out"; FILES+=("$out")
  # A fresh broker for the memory scenarios (6 idle, 6b idle TLS, 7 overload), so earlier load does not count.
  want 1-5 && run_group "$b" 1,2,3,4,5
  for group in 6 6b 7; do want "$group" && run_group "$b" "$group"; done
  # override_max_online_messages: otherwise a reconnecting session keeps only max_online_messages
  # (1000) of its offline queue and drops the rest, as VerneMQ does; Mosquitto delivers it all.
  case $b in
  this)
    want 8 && THIS_EXTRA="max_offline_messages = 100000
override_max_online_messages = on" run_group this 8
    want 9 && THIS_EXTRA="max_offline_messages = -1
override_max_online_messages = on" run_restart this
    want 10 && run_auth
    want 11 && run_cluster
    want 14 && run_storm this
    want 12 && run_park this
    want 13 && run_offline this subs "$SUBS_N"
    want 15 && run_deliver ;;
  mosquitto)
    # Mosquitto saves its in-memory store every autosave_interval (1800 s) and at shutdown, not per message.
    want 8 && MOSQ_PERSIST=true MOSQ_EXTRA="max_queued_messages 100000" run_group mosquitto 8
    want 9 && MOSQ_PERSIST=true MOSQ_EXTRA="max_queued_messages 20000" run_restart mosquitto
    want 10 && note mosquitto 10a "" "no vmq_passwd/vmq_diversity plugins"
    want 11 && note mosquitto 11a "" "this broker's clustering only"
    want 14 && MOSQ_PERSIST=true run_storm mosquitto
    want 12 && MOSQ_PERSIST=true run_park mosquitto
    want 13 && MOSQ_PERSIST=true run_offline mosquitto subs "$SUBS_N"
    want 15 && note mosquitto 15a "" "no on_deliver plugins" ;;
  mochi)
    want 8 && note mochi 8 "" "no persistence configured in the peer"
    want 9 && note mochi 9a "" "no persistence configured in the peer"
    want 10 && note mochi 10a "" "no auth plugins"
    want 11 && note mochi 11a "" "this broker's clustering only"
    want 12 && note mochi 12a "" "no persistence configured in the peer"
    want 13 && note mochi 13a "" "no persistence configured in the peer"
    want 14 && note mochi 14a "" "no persistence configured in the peer"
    want 15 && note mochi 15a "" "no on_deliver plugins" ;;
  esac
  true
done

TITLE="make bench"; [ "$QUICK" = 1 ] && TITLE="make bench (BENCH_QUICK=1 smoke run)"
NOTES+="Scenario 8/9: Mosquitto runs with persistence true and the default autosave_interval (1800 s): it keeps queued messages in memory and writes them at autosave and shutdown, not per message; this broker commits each message (fsync on, group commit) before its PUBACK. "
bin/vmq-bench report -brokers "$BROKERS" -md "$MD" -title "$TITLE" -notes "$NOTES" "${FILES[@]}"
