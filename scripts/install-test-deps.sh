#!/usr/bin/env bash
# Installs what `make test` needs (Debian). Idempotent: installs only what is missing.
set -euo pipefail
need=()
command -v mosquitto_pub >/dev/null || need+=(mosquitto-clients)
command -v mosquitto >/dev/null || need+=(mosquitto)
command -v haproxy >/dev/null || need+=(haproxy)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)       # vmq_http_pub tests (pkg/node)
command -v ip >/dev/null || need+=(iproute2)   # network namespaces for the cluster partition test
if [ ${#need[@]} -gt 0 ]; then
  echo "install-test-deps: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  # policy-rc.d keeps postinst scripts from starting system services (a system mosquitto would take :1883).
  policy=/usr/sbin/policy-rc.d; created=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null; $SUDO chmod +x "$policy"; created=1; fi
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
  [ "$created" = 1 ] && $SUDO rm -f "$policy"
fi
# The Debian package starts a system mosquitto on :1883; tests start their own, so stop it.
if command -v systemctl >/dev/null && systemctl is-active --quiet mosquitto 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO systemctl stop mosquitto || true
  $SUDO systemctl disable mosquitto >/dev/null 2>&1 || true
fi
# Without systemd the package's init script runs it as user mosquitto: stop that one only,
# never a mosquitto of this user (a test's own, or a second make test running beside).
pkill -x -u mosquitto mosquitto 2>/dev/null || true
# Database servers for the auth plugin tests (PostgreSQL, MariaDB, Redis) and FerretDB for MongoDB.
bash scripts/install-authdb.sh
bash scripts/build-ferretdb.sh
# Prometheus (promtool) and Chromium for test/ops.
bash scripts/install-ops-deps.sh
echo "install-test-deps: ok"
