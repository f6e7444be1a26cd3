package config

import (
	"fmt"
	"math"
	"os"
	"strings"
	"time"
)

// coreKeys: auth, sessions, queues and MQTT limits (VerneMQ vmq_server.schema, §3a).
func coreKeys() []*Key {
	return []*Key{
		{Name: "allow_anonymous", Type: TypeBool, Default: "off", Runtime: true,
			Doc: "Allow clients to connect without authentication; on disables all auth plugins."},
		{Name: "allow_register_during_netsplit", Type: TypeBool, Default: "off", Runtime: true,
			Doc: "Accept new connections while the cluster is inconsistent."},
		{Name: "allow_publish_during_netsplit", Type: TypeBool, Default: "off", Runtime: true,
			Doc: "Accept publishes while the cluster is inconsistent."},
		{Name: "allow_subscribe_during_netsplit", Type: TypeBool, Default: "off", Runtime: true,
			Doc: "Accept subscriptions while the cluster is inconsistent."},
		{Name: "allow_unsubscribe_during_netsplit", Type: TypeBool, Default: "off", Runtime: true,
			Doc: "Accept unsubscribes while the cluster is inconsistent."},
		rng(&Key{Name: "max_client_id_size", Type: TypeInt, Default: "100", Runtime: true, Unit: "chars",
			Doc: "Longest accepted client identifier."}, 1, 65535),
		{Name: "persistent_client_expiration", Type: TypeDuration, Default: "never", Never: "never",
			Expiry: true, Runtime: true,
			Doc: "Remove persistent (clean_session=false) sessions offline for longer than this; never keeps them."},
		{Name: "retry_interval", Type: TypeDuration, Default: "20s", Unit: "s", Runtime: true,
			MinDur: 1e9, Doc: "Resend un-acknowledged QoS 1/2 messages after this time."},
		rng(&Key{Name: "max_inflight_messages", Type: TypeInt, Default: "20", Runtime: true, Unit: "msgs",
			Doc: "QoS 1/2 messages in flight per session; 0 = unlimited, 1 = strict ordering."}, 0, 65535),
		atLeast(&Key{Name: "max_online_messages", Type: TypeInt, Default: "1000", Runtime: true, Unit: "msgs",
			Doc: "Online queue length per session; -1 = unlimited, 0 blocks delivery."}, -1),
		atLeast(&Key{Name: "max_offline_messages", Type: TypeInt, Default: "1000", Runtime: true, Unit: "msgs",
			Doc: "Offline queue length (QoS 1/2) per session; -1 = unlimited, 0 stores nothing."}, -1),
		{Name: "override_max_online_messages", Type: TypeBool, Default: "off", Runtime: true,
			Doc: "Move the whole offline queue online on reconnect even above max_online_messages."},
		{Name: "queue_type", Type: TypeEnum, Default: "fifo", Enum: []string{"fifo", "lifo"}, Runtime: true,
			Doc: "Queue order; fifo drops the newest message when full, lifo the oldest."},
		{Name: "queue_deliver_mode", Warn: "accepted and ignored: one session per client id, deliveries always fan out", Type: TypeEnum, Default: "fanout", Enum: []string{"fanout", "balance"},
			Runtime: true, Doc: "Delivery to multiple sessions of one queue (only fanout is meaningful)."},
		atLeast(&Key{Name: "max_message_rate", Type: TypeInt, Default: "0", Runtime: true, Unit: "msgs/s",
			Doc: "Incoming publishes per second per session; 0 = unlimited."}, 0),
		rng(&Key{Name: "max_message_size", Type: TypeBytes, Default: "0", Runtime: true, Unit: "bytes",
			Doc: "Largest accepted incoming PUBLISH; 0 = unlimited (MQTT max 256MB)."}, 0, 268435455),
		{Name: "uniform_auth_failure", Type: TypeBool, Default: "off", Runtime: true,
			Doc: "Answer every refused login \"not authorized\" (0x87 / 3.1.1 code 5), so that an unknown user and a wrong password look alike; off answers as VerneMQ (0x86 / 4 for a wrong password). Not in VerneMQ."},
		atLeast(&Key{Name: "failed_login_limit", Type: TypeInt, Default: "0", Runtime: true,
			Doc: "Failed logins per source address within failed_login_window after which that source's CONNECTs are refused (0x9F / 3) without asking the plugins until the window ends; 0 = off. Not in VerneMQ."}, 0),
		{Name: "failed_login_window", Type: TypeDuration, Default: "60s", Unit: "s", Runtime: true, MinDur: 1e9,
			Doc: "The window of failed_login_limit. Not in VerneMQ."},
		{Name: "session_binding", Type: TypeBool, Default: "off", Runtime: true,
			Doc: "A session belongs to the user name (within its mountpoint) that created it: a client of another user with the same client id is refused (not authorized) instead of taking the session over, and a resumed session's subscriptions are authorized again. Not in VerneMQ (off there)."},
		rng(&Key{Name: "max_connect_message_size", Type: TypeBytes, Default: "64KB", Runtime: true, Unit: "bytes",
			Doc: "Largest packet accepted before CONNECT is accepted (a CONNECT with its will); then max_message_size applies. Not in VerneMQ: it bounds what unauthenticated peers can make the node hold."}, 128, 268435455),
		atLeast(&Key{Name: "max_subscriptions_per_client", Type: TypeInt, Default: "0", Runtime: true,
			Doc: "Subscriptions per client; 0 = unlimited."}, 0),
		{Name: "upgrade_outgoing_qos", Type: TypeBool, Default: "off", Runtime: true,
			Doc: "Deliver with the subscription QoS even if published with a lower QoS (non-standard)."},
		{Name: "shared_subscription_policy", Type: TypeEnum, Default: "prefer_local", Runtime: true,
			Enum: []string{"prefer_local", "local_only", "random", "prefer_online_before_local"},
			Doc:  "How a shared-subscription group member is chosen."},
		{Name: "shared_subscription_timeout_action", Warn: "accepted and ignored: shared deliveries to other nodes go over the buffered cluster link", Type: TypeEnum, Default: "ignore", Runtime: true,
			Enum: []string{"ignore", "requeue"},
			Doc:  "On remote delivery timeout: ignore (may lose) or requeue (may duplicate)."},
		{Name: "suppress_lwt_on_session_takeover", Type: TypeBool, Default: "off", Runtime: true,
			Doc: "Do not publish the will when the same client id takes over the session."},
		rng(&Key{Name: "topic_max_depth", Type: TypeInt, Default: "10", Runtime: true, Unit: "levels",
			Doc: "Deepest accepted topic; deeper topics disconnect the client."}, 1, 65535),
		{Name: "max_last_will_delay", Type: TypeDuration, Default: "client", Never: "client", Expiry: false,
			Unit: "s", Runtime: true, MinDur: 1e9,
			Doc: "Cap on the MQTT 5 will delay; client honours the client's value (read as 0 = no cap)."},
		rng(&Key{Name: "receive_max_broker", Type: TypeInt, Default: "65535", Runtime: true,
			Doc: "MQTT 5 Receive Maximum the broker advertises in CONNACK."}, 1, 65535),
		rng(&Key{Name: "receive_max_client", Type: TypeInt, Default: "65535", Runtime: true,
			Doc: "Upper bound on QoS 1/2 messages in flight to an MQTT 5 client."}, 1, 65535),
		rng(&Key{Name: "topic_alias_max_broker", Type: TypeInt, Default: "0", Runtime: true,
			Doc: "MQTT 5 topic aliases accepted from clients; 0 disables."}, 0, 65535),
		rng(&Key{Name: "topic_alias_max_client", Type: TypeInt, Default: "0", Runtime: true,
			Doc: "MQTT 5 topic aliases the broker may use towards clients; 0 disables."}, 0, 65535),
		{Name: "expire_retain_cache", Warn: "accepted and ignored: retained messages are kept until replaced, deleted or their v5 expiry", Type: TypeDuration, Default: "0", Unit: "s",
			Doc: "Interval of the sweeper for expired MQTT 5 retained messages; 0 = off."},
		{Name: "subscriber_retain_mode", Warn: "accepted and ignored: retained messages are always sent immediately after the SUBACK", Type: TypeEnum, Default: "immediate", Enum: []string{"immediate", "syncwait"},
			Doc: "Send retained messages immediately or after the retain store synced."},
		{Name: "disconnect_on_unauthorized_publish_v3", Type: TypeBool, Default: "off", Runtime: true,
			Doc: "Disconnect MQTT 3.1 clients on unauthorized publish instead of dropping silently."},
		{Name: "park_idle_connections_after", Type: TypeDuration, Default: "2s", Runtime: true,
			Doc: "A plain or TLS connection that sends nothing for this long gives up its reader goroutine and read buffer until data arrives (about 9 KiB less per idle client); 0 = never."},
		rng(&Key{Name: "gc_heap_floor", Type: TypeBytes, Default: "16MB", Unit: "bytes",
			Doc: "Let the Go heap grow to this before collecting while it is small (fewer GC cycles under load, costs at most this much RSS); 0 = Go default. A GOGC environment variable overrides it."}, 0, math.MaxInt64),
		{Name: "max_keepalive", Type: TypeDuration, Default: "0", Unit: "s", Runtime: true, MaxDur: 65535 * time.Second,
			Doc: "Cap on the client keep alive (ours, as Mosquitto's): a larger or zero keep alive is lowered to it, announced to MQTT 5 clients as Server Keep Alive and enforced on 3.x clients; 0 = no cap. At most 65535s."},
		{Name: "mqtt_connect_timeout", Type: TypeDuration, Default: "5000ms", Unit: "ms", MinDur: 1e6,
			Doc: "Close sockets that send no CONNECT within this time."},
		rng(&Key{Name: "max_ws_frame_size", Type: TypeBytes, Default: "256MB", Unit: "bytes", Infinity: true,
			Doc: "Largest accepted WebSocket frame; larger frames disconnect; infinity reads as the 256MB default."}, 1, math.MaxInt64),
		{Name: "logging.keepalive_as_warning", Type: TypeBool, Default: "on", Runtime: true,
			Doc: "Log keepalive expiry at warning (on) or debug (off) level."},
	}
}

// clusterKeys: node identity, netsplit behaviour and inter-node buffers (§3b).
func clusterKeys() []*Key {
	return []*Key{
		{Name: "nodename", Type: TypeString, Default: "VerneMQ@127.0.0.1", NonEmpty: true, Check: checkNodename, Canon: addHost,
			Doc: "Unique node name name@host (a name without @host gets this machine's host name, as Erlang's -name does); do not change after first start."},
		{Name: "distributed_cookie", Type: TypeString, Default: "vmq", NonEmpty: true,
			Doc: "Shared secret of cluster nodes; change it from the default."},
		{Name: "coordinate_registrations", Type: TypeBool, Default: "on", Runtime: true,
			Doc: "Serialize client-id registrations cluster-wide for immediate takeover."},
		{Name: "metadata_plugin", Type: TypeEnum, Default: "vmq_swc", Enum: []string{"vmq_swc", "vmq_plumtree"},
			Warn: "accepted and ignored: this broker has one built-in metadata store",
			Doc:  "Metadata store implementation (VerneMQ); ignored here."},
		rng(&Key{Name: "outgoing_clustering_buffer_size", Type: TypeBytes, Default: "64MB", Unit: "bytes",
			Doc: "Bytes buffered per unreachable peer before dropping."}, 0, math.MaxInt64),
		rng(&Key{Name: "incoming_clustering_buffer_size", Type: TypeBytes, Default: "64MB", Unit: "bytes",
			Doc: "Largest accepted inter-node frame."}, 1, math.MaxInt64),
		{Name: "remote_enqueue_timeout", Warn: "accepted and ignored: remote deliveries are queued on the cluster link", Type: TypeDuration, Default: "5000ms", Unit: "ms", MinDur: 1e6, Never: "infinity",
			Doc: "Timeout for enqueueing to a queue on another node."},
		rng(&Key{Name: "max_drain_time", Warn: "accepted and ignored: a migrating queue moves to its new node over the cluster link in one stream", Type: TypeInt, Default: "500", Unit: "ms",
			Doc: "Keep a migrated queue this long for late messages."}, 0, math.MaxInt32),
		rng(&Key{Name: "max_msgs_per_drain_step", Warn: "accepted and ignored: a migrating queue moves to its new node over the cluster link in one stream", Type: TypeInt, Default: "100",
			Doc: "Messages per batch when migrating a queue to another node."}, 1, math.MaxInt32),
	}
}

// addHost completes a nodename without @host the way Erlang's -name does, with this
// machine's host name (the Docker image's nodename = vernemq-docker relies on it).
func addHost(s string) string {
	if s == "" || strings.Contains(s, "@") {
		return s
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "127.0.0.1"
	}
	return s + "@" + host
}

// checkNodename requires VerneMQ's name@host form.
func checkNodename(s string) error {
	name, host, ok := strings.Cut(s, "@")
	if !ok || name == "" || host == "" || strings.ContainsAny(s, " \t") {
		return fmt.Errorf("%q is not name@host (e.g. VerneMQ@127.0.0.1)", s)
	}
	return nil
}
