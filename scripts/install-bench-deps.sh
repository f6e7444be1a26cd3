#!/usr/bin/env bash
# Installs the Mosquitto peer of `make bench` (Debian) when missing. Idempotent.
set -euo pipefail
if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
  echo "install-bench-deps: installing mosquitto"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  # policy-rc.d keeps the postinst from starting a system mosquitto on :1883.
  policy=/usr/sbin/policy-rc.d; created=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null; $SUDO chmod +x "$policy"; created=1; fi
  $SUDO apt-get install -y -qq --no-install-recommends mosquitto
  [ "$created" = 1 ] && $SUDO rm -f "$policy"
fi
echo "install-bench-deps: ok"
