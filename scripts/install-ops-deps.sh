#!/usr/bin/env bash
# Installs what test/ops needs (Debian): prometheus (with promtool) and chromium
# for the headless status-page test. Idempotent: installs only what is missing;
# no system service is started (the tests run their own Prometheus in a temp dir).
set -euo pipefail
need=()
{ command -v promtool >/dev/null && command -v prometheus >/dev/null; } || need+=(prometheus)
{ command -v chromium >/dev/null || command -v chromium-browser >/dev/null; } || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  echo "install-ops-deps: ok (already installed)"
  exit 0
fi
echo "install-ops-deps: installing ${need[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
# policy-rc.d keeps the prometheus postinst from starting a system service on :9090.
policy=/usr/sbin/policy-rc.d; created=0
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null; $SUDO chmod +x "$policy"; created=1; fi
trap '[ "$created" = 1 ] && $SUDO rm -f "$policy"' EXIT
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
# A system prometheus, if systemd started one anyway, would hold :9090; tests use their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
  $SUDO systemctl stop prometheus || true
  $SUDO systemctl disable prometheus >/dev/null 2>&1 || true
fi
echo "install-ops-deps: ok"
