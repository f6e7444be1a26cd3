package metrics

import "github.com/vernemq-go/vernemq/pkg/packets"

// Broker holds the hot-path metrics as plain fields so the publish path never looks up a name.
type Broker struct {
	Reg *Registry

	SocketOpen, SocketClose, SocketCloseTimeout, SocketError *Counter
	BytesReceived, BytesSent                                 *Counter

	// V4 and V5 hold the per-protocol packet counters (mqtt_version="4" and "5"); Proto picks one.
	V4, V5 *Proto

	QueueSetup, QueueTeardown, QueueMessageIn, QueueMessageOut, QueueMessageDrop *Counter
	QueueMessageExpired, QueueMessageUnhandled, QueueInitializedFromStorage      *Counter
	// Drops by reason, as on_message_drop reports them.
	DropQueueFull, DropExpired, DropMaxPacketSize *Counter

	RouterMatchesLocal, RouterMatchesRemote *Counter
	SessionExpired                          *Counter
	// PublishThrottled counts read pauses of publishers over max_message_rate.
	PublishThrottled *Counter

	ActiveConnections, ActiveWSConnections, QueueProcesses, RouterSubscriptions, RetainMessages *Gauge
	RouterMemory, RetainMemory                                                                  *Gauge
}

// Proto returns the counters of a protocol level: 5 for MQTT 5, anything else (3, 4, and
// the 0x80 bridge flag variants) for 3.1/3.1.1, which VerneMQ labels mqtt_version="4".
func (b *Broker) Proto(version byte) *Proto {
	if version == 5 {
		return b.V5
	}
	return b.V4
}

// NewBroker registers the broker metrics in reg, every label combination at zero.
func NewBroker(reg *Registry) *Broker {
	c := func(name, help string) *Counter { return reg.Counter(name, help, nil) }
	drop := func(reason string) *Counter {
		return reg.Counter("queue_message_drop_reason", "Messages dropped from queues, by reason.", map[string]string{"reason": reason})
	}
	g := func(name, help string) *Gauge { return reg.Gauge(name, help, nil) }
	b := &Broker{
		Reg:                         reg,
		SocketOpen:                  c("socket_open", "The number of times an MQTT socket has been opened."),
		SocketClose:                 c("socket_close", "The number of times an MQTT socket has been closed."),
		SocketCloseTimeout:          c("socket_close_timeout", "The number of times an MQTT socket was closed because no CONNECT came in time."),
		SocketError:                 c("socket_error", "The total number of socket errors that have occurred."),
		BytesReceived:               c("bytes_received", "The total number of bytes received."),
		BytesSent:                   c("bytes_sent", "The total number of bytes sent."),
		V4:                          newProto(reg, "4"),
		V5:                          newProto(reg, "5"),
		QueueSetup:                  c("queue_setup", "Queues (sessions) created."),
		QueueTeardown:               c("queue_teardown", "Queues (sessions) removed."),
		QueueMessageIn:              c("queue_message_in", "Messages put in a queue."),
		QueueMessageOut:             c("queue_message_out", "Messages taken from a queue for delivery."),
		QueueMessageDrop:            c("queue_message_drop", "Messages dropped from queues (all reasons)."),
		QueueMessageExpired:         c("queue_message_expired", "Messages dropped because their expiry passed."),
		QueueMessageUnhandled:       c("queue_message_unhandled", "QoS 0 messages for offline sessions, not stored."),
		QueueInitializedFromStorage: c("queue_initialized_from_storage", "Queues restored from the message store at start."),
		DropQueueFull:               drop("queue_full"),
		DropExpired:                 drop("expired"),
		DropMaxPacketSize:           drop("max_packet_size_exceeded"),
		RouterMatchesLocal:          c("router_matches_local", "Local subscribers matched by publishes."),
		RouterMatchesRemote:         c("router_matches_remote", "Remote nodes matched by publishes."),
		SessionExpired:              c("session_expired", "Sessions removed after their expiry interval."),
		PublishThrottled:            c("mqtt_publish_throttled", "Times a publisher's reads were paused because it exceeded max_message_rate."),
		ActiveConnections:           g("active_mqtt_connections", "Open MQTT connections (tcp and ssl)."),
		ActiveWSConnections:         g("active_mqttws_connections", "Open MQTT connections over WebSocket."),
		QueueProcesses:              g("queue_processes", "Sessions (queues) held by this node."),
		RouterSubscriptions:         g("router_subscriptions", "Subscriptions in the routing index."),
		RetainMessages:              g("retain_messages", "Retained messages held."),
		RouterMemory:                g("router_memory", "Estimated bytes of memory used by the routing index."),
		RetainMemory:                g("retain_memory", "Estimated bytes of memory used by retained messages."),
	}
	// The cluster's counters exist from the start, as VerneMQ's, also on a node that never
	// clustered (dashboards and alert rules query them); pkg/cluster counts into the same ones.
	for _, m := range [][2]string{
		{"cluster_bytes_sent", "Bytes sent to other nodes on the data link."},
		{"cluster_bytes_received", "Bytes received from other nodes on the data link."},
		{"cluster_bytes_dropped", "Bytes dropped because a peer's outgoing buffer was full."},
		{"netsplit_detected", "Times a cluster member was detected as failed."},
		{"netsplit_resolved", "Times a failed cluster member came back."},
	} {
		reg.Counter(m[0], m[1], nil)
	}
	reg.Gauge("total_active_connections", "Open MQTT connections, all listeners.", nil).Func(func() int64 {
		return b.ActiveConnections.Read() + b.ActiveWSConnections.Read()
	})
	// VerneMQ's CONNACK counters of MQTT 3.1.1, one name per return code (VerneMQ 2 keeps the
	// names at 0; here they count, read from mqtt_connack_sent{mqtt_version="4",return_code}).
	for _, d := range []struct {
		name string
		code byte
	}{{"accepted", 0}, {"unacceptable_protocol", 1}, {"identifier_rejected", 2},
		{"server_unavailable", 3}, {"bad_credentials", 4}, {"not_authorized", 5}} {
		code := d.code
		reg.CounterFunc("mqtt_connack_"+d.name+"_sent", "CONNACK packets sent to MQTT 3.1/3.1.1 clients with return code "+
			string('0'+code)+".", map[string]string{"mqtt_version": "4"},
			func() uint64 { return b.V4.ConnackSent.Value(packets.ReasonCode(code)) })
	}
	// client_expired is VerneMQ 1's name for persistent sessions removed after persistent_client_expiration.
	reg.CounterFunc("client_expired", "Sessions removed after their expiry interval (same as session_expired).", nil,
		b.SessionExpired.Value)
	return b
}
