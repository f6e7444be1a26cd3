#!/bin/sh
# Container entrypoint in the style of VerneMQ's docker-vernemq vernemq.sh:
# renders /vernemq/etc/vernemq.conf from a template plus DOCKER_VERNEMQ_* variables,
# starts the broker, joins a cluster (DOCKER_VERNEMQ_DISCOVERY_NODE or Kubernetes
# headless-service DNS) and leaves it gracefully on SIGTERM when asked to.
#
#   vernemq.sh                    render the conf, run the broker (the image's CMD)
#   vernemq.sh --dry-run          render the conf (and vmq.passwd), print it and the peers, exit
#   vernemq.sh leave-if-scaled-down   preStop hook: `cluster leave` when this pod's ordinal
#                                 is not wanted any more by its StatefulSet (Kubernetes API)
#
# VERNEMQ_ENTRYPOINT_DRY_RUN=1 is the same as --dry-run.
# Other variables (not DOCKER_VERNEMQ_*, so the broker never sees them):
#   VERNEMQ_HOME            install root (default /vernemq: bin/, etc/, data/, log/)
#   VERNEMQ_IP_ADDRESS      address put in place of ###IPADDRESS### (default: first of hostname -i)
#   VERNEMQ_LEAVE_ON_SIGTERM  1: `cluster leave --kill_sessions` before stopping; default 1 with
#                           DOCKER_VERNEMQ_DISCOVERY_NODE outside Kubernetes, else 0
#   VERNEMQ_JOIN_TIMEOUT    seconds to wait for the node and a peer to join (default 60)
set -eu

HOME_DIR=${VERNEMQ_HOME:-/vernemq}
ETC=$HOME_DIR/etc
BIN=$HOME_DIR/bin
CONF=$ETC/vernemq.conf
CLUSTER_PORT=44053
DRY_RUN=${VERNEMQ_ENTRYPOINT_DRY_RUN:-0}
MODE=run

log() { echo "vernemq.sh: $*" >&2; }
die() { log "$*"; exit 1; }

case "${1:-}" in
--dry-run) DRY_RUN=1 ;;
leave-if-scaled-down) MODE=prestop ;;
"") ;;
*) die "unknown argument $1 (use --dry-run, leave-if-scaled-down or none)" ;;
esac

# ip_address picks the container's address: the one other containers reach us on.
ip_address() {
	if [ -n "${VERNEMQ_IP_ADDRESS:-}" ]; then
		echo "$VERNEMQ_IP_ADDRESS"
		return
	fi
	ip=$(hostname -i 2>/dev/null | awk '{print $1}')
	[ -n "$ip" ] || ip=127.0.0.1
	echo "$ip"
}

# conf_key turns DOCKER_VERNEMQ_LOG__CONSOLE__LEVEL into log.console.level.
conf_key() {
	echo "$1" | sed -e 's/^DOCKER_VERNEMQ_//' -e 's/__/./g' | tr 'A-Z' 'a-z'
}

# is_special: variables this script consumes itself instead of writing to the conf.
is_special() {
	case "$1" in
	DOCKER_VERNEMQ_DISCOVERY_* | DOCKER_VERNEMQ_KUBERNETES_* | DOCKER_VERNEMQ_USER_* | \
		DOCKER_VERNEMQ_SWARM | DOCKER_VERNEMQ_COMPOSE | DOCKER_VERNEMQ_ACCEPT_EULA) return 0 ;;
	esac
	return 1
}

docker_vars() {
	env | sed -n 's/^\(DOCKER_VERNEMQ_[A-Za-z0-9_]*\)=.*/\1/p' | sort
}

is_kubernetes() { [ "${DOCKER_VERNEMQ_DISCOVERY_KUBERNETES:-0}" = 1 ]; }

# kube_nodename is VerneMQ's name for a StatefulSet pod: VerneMQ@pod.subdomain.ns.svc.cluster.
kube_nodename() {
	pod=${MY_POD_NAME:-$(hostname)}
	sub=${DOCKER_VERNEMQ_KUBERNETES_SUBDOMAIN:-$(kube_service)}
	ns=$(kube_namespace)
	echo "VerneMQ@$pod.$sub.$ns.svc.${DOCKER_VERNEMQ_KUBERNETES_CLUSTER_NAME:-cluster.local}"
}

kube_namespace() {
	if [ -n "${DOCKER_VERNEMQ_KUBERNETES_NAMESPACE:-}" ]; then
		echo "$DOCKER_VERNEMQ_KUBERNETES_NAMESPACE"
	elif [ -r /var/run/secrets/kubernetes.io/serviceaccount/namespace ]; then
		cat /var/run/secrets/kubernetes.io/serviceaccount/namespace
	else
		echo default
	fi
}

kube_service() { echo "${DOCKER_VERNEMQ_KUBERNETES_SERVICE:-vernemq-headless}"; }

# render writes $CONF: the template, with the lines of keys set in the
# environment commented out (the broker refuses a key set twice), then those keys.
render() {
	ip=$1
	tmpl=$ETC/vernemq.conf.local
	[ -f "$tmpl" ] || tmpl=$ETC/vernemq.conf.default
	[ -f "$tmpl" ] || die "no conf template: mount $ETC/vernemq.conf.local or keep $ETC/vernemq.conf.default"
	keys=$(mktemp)
	block=$(mktemp)
	trap 'rm -f "$keys" "$block"' EXIT
	for v in $(docker_vars); do
		is_special "$v" && continue
		k=$(conf_key "$v")
		eval "val=\${$v}"
		echo "$k" >>"$keys"
		printf '%s = %s\n' "$k" "$val" >>"$block"
	done
	if is_kubernetes && [ -z "${DOCKER_VERNEMQ_NODENAME:-}" ]; then
		echo nodename >>"$keys"
		printf 'nodename = %s\n' "$(kube_nodename)" >>"$block"
	fi
	# awk instead of sed: keys contain dots and the template may use any spacing.
	awk -v keysfile="$keys" -v ip="$ip" '
		BEGIN { while ((getline k < keysfile) > 0) drop[k] = 1 }
		{
			gsub(/###IPADDRESS###/, ip)
			line = $0; sub(/^[ \t]+/, "", line)
			if (line !~ /^#/ && index(line, "=") > 0) {
				k = substr(line, 1, index(line, "=") - 1); gsub(/[ \t]+$/, "", k)
				if (k in drop) { print "## replaced by DOCKER_VERNEMQ_ below: " $0; next }
			}
			print
		}' "$tmpl" >"$CONF.tmp"
	{
		echo ""
		echo "## ---- from DOCKER_VERNEMQ_* variables (vernemq.sh) ----"
		cat "$block"
	} >>"$CONF.tmp"
	mv "$CONF.tmp" "$CONF"
	rm -f "$keys" "$block"
	trap - EXIT
}

# conf_value prints the value of key in the rendered conf (last line wins).
conf_value() {
	awk -v key="$1" '
		{ line = $0; sub(/^[ \t]+/, "", line) }
		line !~ /^#/ && index(line, "=") > 0 {
			k = substr(line, 1, index(line, "=") - 1); gsub(/[ \t]+$/, "", k)
			if (k == key) { v = substr(line, index(line, "=") + 1); sub(/#.*/, "", v); gsub(/^[ \t]+|[ \t]+$/, "", v) }
		}
		END { print v }' "$CONF"
}

# users writes DOCKER_VERNEMQ_USER_<name>=<password> into vmq.passwd, hashed by vmq-passwd -U.
users() {
	file=$(conf_value vmq_passwd.password_file | sed "s|\$(platform_etc_dir)|$ETC|")
	[ -n "$file" ] || file=$ETC/vmq.passwd
	found=0
	for v in $(docker_vars); do
		case "$v" in DOCKER_VERNEMQ_USER_*) ;; *) continue ;; esac
		name=$(echo "$v" | sed 's/^DOCKER_VERNEMQ_USER_//')
		eval "pw=\${$v}"
		if [ -f "$file" ]; then
			# Replace an existing entry of the same user.
			grep -v "^$name:" "$file" >"$file.tmp" || true
			mv "$file.tmp" "$file"
		fi
		printf '%s:%s\n' "$name" "$pw" >>"$file"
		found=1
	done
	if [ "$found" = 1 ]; then
		"$BIN/vmq-passwd" -U "$file" >/dev/null || die "vmq-passwd -U $file failed"
		chmod 600 "$file"
	fi
	[ -f "$ETC/vmq.acl" ] || echo "topic #" >"$ETC/vmq.acl"
}

# peers prints the cluster addresses (host:port) to try joining, one a line.
peers() {
	self=$1
	port=$(conf_value listener.vmq.clustering | sed 's/.*://')
	[ -n "$port" ] || port=$CLUSTER_PORT
	if [ -n "${DOCKER_VERNEMQ_DISCOVERY_NODE:-}" ]; then
		n=${DOCKER_VERNEMQ_DISCOVERY_NODE#*@} # VerneMQ@host and host are both accepted
		case "$n" in *:*) echo "$n" ;; *) echo "$n:$port" ;; esac
	fi
	if is_kubernetes; then
		# The headless service has one A record per pod (publishNotReadyAddresses).
		svc=$(kube_service).$(kube_namespace).svc.${DOCKER_VERNEMQ_KUBERNETES_CLUSTER_NAME:-cluster.local}
		[ "${DOCKER_VERNEMQ_KUBERNETES_SERVICE_FQDN:-}" = "" ] || svc=$DOCKER_VERNEMQ_KUBERNETES_SERVICE_FQDN
		resolve4 "$svc" | sort -u | grep -vx "$self" | sed "s/\$/:$port/" || true
	fi
}

# resolve4 prints the IPv4 addresses of a name: getent where there is one (Alpine image),
# else busybox nslookup (the FROM-scratch image), whose answer follows the "Name:" line.
resolve4() {
	if command -v getent >/dev/null 2>&1; then
		getent ahostsv4 "$1" 2>/dev/null | awk '{print $1}'
	else
		nslookup "$1" 2>/dev/null | awk '/^Name:/ {ans=1; next} ans && /^Address/ {sub(/^Address( [0-9]+)?:[ \t]*/, ""); if ($0 ~ /^[0-9.]+$/) print}'
	fi
}

# vmq-admin finds admin.socket through the rendered conf.
admin() { VERNEMQ_CONF=$CONF "$BIN/vmq-admin" "$@"; }

# join waits for the local node, then joins the first peer that accepts.
join() {
	self=$1
	list=$(peers "$self")
	[ -n "$list" ] || return 0
	deadline=$(($(date +%s) + ${VERNEMQ_JOIN_TIMEOUT:-60}))
	until admin cluster show >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$deadline" ] || { log "node not answering vmq-admin; not joining"; return 0; }
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 1
	done
	while [ "$(date +%s)" -lt "$deadline" ]; do
		for p in $list; do
			if admin cluster join discovery-node="$p"; then
				log "joined the cluster through $p"
				return 0
			fi
		done
		sleep 2
	done
	log "could not join any of: $list (join by hand: vmq-admin cluster join discovery-node=HOST:PORT)"
}

leave_on_sigterm() {
	if [ -n "${VERNEMQ_LEAVE_ON_SIGTERM:-}" ]; then
		[ "$VERNEMQ_LEAVE_ON_SIGTERM" = 1 ]
		return
	fi
	[ -n "${DOCKER_VERNEMQ_DISCOVERY_NODE:-}" ] && ! is_kubernetes
}

# prestop: a StatefulSet scale-down removes the highest ordinals; only those leave.
prestop() {
	pod=${MY_POD_NAME:-$(hostname)}
	ordinal=${pod##*-}
	sts=${pod%-*}
	token=/var/run/secrets/kubernetes.io/serviceaccount/token
	ca=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt
	api=https://${KUBERNETES_SERVICE_HOST:-kubernetes.default.svc}:${KUBERNETES_SERVICE_PORT:-443}
	url=$api/apis/apps/v1/namespaces/$(kube_namespace)/statefulsets/$sts
	json=$(wget -q -O - --header "Authorization: Bearer $(cat $token)" --ca-certificate=$ca "$url" 2>/dev/null ||
		curl -sf --cacert $ca -H "Authorization: Bearer $(cat $token)" "$url" 2>/dev/null) ||
		{ log "cannot read statefulset $sts; staying a member"; return 0; }
	replicas=$(echo "$json" | tr -d ' \n' | sed -n 's/.*"spec":{[^}]*"replicas":\([0-9]*\).*/\1/p' | head -n1)
	[ -n "$replicas" ] || { log "no spec.replicas in statefulset $sts; staying a member"; return 0; }
	if [ "$ordinal" -ge "$replicas" ]; then
		node=$(conf_value nodename)
		log "scale-down ($pod, replicas=$replicas): leaving the cluster as $node"
		admin cluster leave node="$node" --kill_sessions
	fi
}

if [ "$MODE" = prestop ]; then
	prestop
	exit 0
fi

IP=$(ip_address)
render "$IP"
users
if [ "$DRY_RUN" = 1 ]; then
	cat "$CONF"
	for p in $(peers "$IP"); do echo "## would join: $p"; done
	exit 0
fi

# The broker reads DOCKER_VERNEMQ_* too: hide them, their lines are in the conf now.
for v in $(docker_vars); do unset "$v"; done

"$BIN/vernemq" console -c "$CONF" &
pid=$!
terminating=0
on_term() {
	terminating=1
	if leave_on_sigterm; then
		node=$(conf_value nodename)
		log "SIGTERM: leaving the cluster as $node"
		admin cluster leave node="$node" --kill_sessions || log "cluster leave failed; stopping anyway"
	fi
	kill -TERM "$pid" 2>/dev/null || true
}
trap on_term TERM INT
join "$IP" || true
# wait returns early (>128) when a trapped signal arrives: then wait again for the
# broker's own exit code.
rc=0
wait "$pid" || rc=$?
n=0
while [ "$terminating" = 1 ] && [ "$rc" -gt 128 ] && [ "$n" -lt 100 ]; do
	rc=0
	wait "$pid" || rc=$?
	n=$((n + 1))
done
exit "$rc"
