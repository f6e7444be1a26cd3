# Sourced by scripts/bench.sh: PostgreSQL and Redis for scenario 10, on 127.0.0.1 in temp
# dirs, run as user nobody when root (PostgreSQL refuses root). Missing servers are skipped.
#   start_pg     sets PG_PORT, PG_PID (returns 1 with a reason in AUTHDB_WHY when it cannot)
#   start_redis  sets REDIS_PORT, REDIS_PID
#   stop_authdb  stops whatever was started

PG_PID=""; REDIS_PID=""; AUTHDB_DIRS=(); AUTHDB_WHY=""

as_server() { # runs "$@" as nobody when root; exec, so that `as_server ... &` leaves $! = the server's pid
  if [ "$(id -u)" = 0 ]; then exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; else exec "$@"; fi
}

authdb_dir() { # sets d: a temp dir the server user can write (mktemp's parent /tmp is open to it)
  d=$(mktemp -d "/tmp/vmq-bench-$1.XXXXXX")
  if [ "$(id -u)" = 0 ]; then chown nobody:nogroup "$d"; fi
  AUTHDB_DIRS+=("$d")
}

wait_db_port() { # $1 port, $2 pid, $3 name: polls 20 s at most
  for _ in $(seq 400); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { AUTHDB_WHY="$3 exited at start"; return 1; }
    sleep 0.05
  done
  AUTHDB_WHY="$3 did not listen on $1 within 20 s"; return 1
}

start_pg() {
  local bin d
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$bin" ] || [ ! -x "$bin/postgres" ]; then
    AUTHDB_WHY="PostgreSQL not installed (scripts/install-authdb.sh installs it)"; return 1
  fi
  authdb_dir pg
  if ! (as_server "$bin/initdb" -D "$d/data" -U vmq --auth=trust -E UTF8 --no-sync --locale=C) >"$d/initdb.log" 2>&1; then
    AUTHDB_WHY="initdb failed, see $d/initdb.log"; return 1
  fi
  PG_PORT=$(bin/vmq-bench freeport)
  as_server "$bin/postgres" -D "$d/data" -p "$PG_PORT" -k "$d" -c listen_addresses=127.0.0.1 \
    -c fsync=off -c shared_buffers=32MB >"$d/log" 2>&1 &
  PG_PID=$!
  wait_db_port "$PG_PORT" "$PG_PID" postgres
}

start_redis() {
  local bin d
  bin=$(command -v redis-server || true)
  if [ -z "$bin" ]; then AUTHDB_WHY="redis-server not installed (scripts/install-authdb.sh installs it)"; return 1; fi
  authdb_dir redis
  REDIS_PORT=$(bin/vmq-bench freeport)
  as_server "$bin" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$d" >"$d/log" 2>&1 &
  REDIS_PID=$!
  wait_db_port "$REDIS_PORT" "$REDIS_PID" redis-server
}

stop_authdb() {
  local p
  for p in $PG_PID $REDIS_PID; do
    kill -INT "$p" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  PG_PID=""; REDIS_PID=""
  for p in "${AUTHDB_DIRS[@]}"; do rm -rf "$p"; done
  AUTHDB_DIRS=()
}
