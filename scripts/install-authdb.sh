#!/usr/bin/env bash
# Installs the database servers the pkg/auth tests run against (PostgreSQL with
# pgcrypto, MariaDB, Redis), from Debian packages, only what is missing.
# Idempotent: a second run installs nothing. The tests start their own servers
# on loopback in temp dirs; this script never starts a system service.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$2" ]; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }
pgb="$(pg_bin || true)"
if [ -z "$pgb" ] || [ ! -x "$pgb/initdb" ]; then
	need+=(postgresql postgresql-contrib)
else
	ver="$(basename "$(dirname "$pgb")")"
	# pgcrypto ships in the server package since 10 on Debian; contrib only for older layouts.
	if ! ls "/usr/share/postgresql/$ver/extension/pgcrypto.control" >/dev/null 2>&1; then
		need+=("postgresql-contrib")
	fi
fi
have mariadbd /usr/sbin/mariadbd || have mysqld /usr/sbin/mysqld || need+=(mariadb-server)
have redis-server /usr/bin/redis-server || need+=(redis-server)

if [ "${#need[@]}" -eq 0 ]; then
	echo "install-authdb: postgresql, mariadb, redis already installed"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "install-authdb: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps the packages' postinst from starting system-wide services.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod +x "$policy"
	created_policy=1
fi
trap '[ "$created_policy" = 1 ] && $SUDO rm -f "$policy"' EXIT
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
echo "install-authdb: done"
