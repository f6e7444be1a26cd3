#!/usr/bin/env bash
# Installs HAProxy from Debian's packages for the pkg/listener PROXY-protocol
# tests. Idempotent: does nothing when the haproxy binary is already present.
# The tests run their own haproxy in a temp dir; no system service is started.
set -euo pipefail

if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then
	echo "install-haproxy: haproxy already installed ($( (command -v haproxy || echo /usr/sbin/haproxy) ))"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-haproxy: installing haproxy"
$SUDO apt-get update -qq
# policy-rc.d keeps the package's postinst from starting the system-wide service.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod +x "$policy"
	created_policy=1
fi
trap '[ "$created_policy" = 1 ] && $SUDO rm -f "$policy"' EXIT
$SUDO apt-get install -y -qq --no-install-recommends haproxy
echo "install-haproxy: done ($(haproxy -v | head -n1))"
