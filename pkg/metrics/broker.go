package metrics

// Broker holds the hot-path metrics as plain fields so the publish path never looks up a name.
type Broker struct {
	Reg *Registry

	SocketOpen, SocketClose, SocketCloseTimeout, SocketError *Counter
	BytesReceived, BytesSent                                 *Counter

	ConnectReceived, PublishReceived, PubackReceived, PubrecReceived, PubrelReceived, PubcompReceived *Counter
	SubscribeReceived, UnsubscribeReceived, PingreqReceived, DisconnectReceived, AuthReceived         *Counter

	ConnackSent, PublishSent, PubackSent, PubrecSent, PubrelSent, PubcompSent *Counter
	SubackSent, UnsubackSent, PingrespSent, DisconnectSent, AuthSent          *Counter

	PublishAuthError, SubscribeAuthError, InvalidMsgSizeError, PubackInvalidError *Counter
	PubrecInvalidError, PubcompInvalidError, KeepaliveExpired                     *Counter
	PublishError, SubscribeError, UnsubscribeError                                *Counter

	QueueSetup, QueueTeardown, QueueMessageIn, QueueMessageOut, QueueMessageDrop *Counter
	QueueMessageExpired, QueueMessageUnhandled, QueueInitializedFromStorage      *Counter
	// Drops by reason, as on_message_drop reports them.
	DropQueueFull, DropExpired, DropMaxPacketSize *Counter

	RouterMatchesLocal, RouterMatchesRemote *Counter
	SessionExpired                          *Counter
	// PublishThrottled counts read pauses of publishers over max_message_rate.
	PublishThrottled *Counter

	ActiveConnections, ActiveWSConnections, QueueProcesses, RouterSubscriptions, RetainMessages *Gauge
}

// NewBroker registers the broker metrics in reg.
func NewBroker(reg *Registry) *Broker {
	c := func(name, help string) *Counter { return reg.Counter(name, help, nil) }
	drop := func(reason string) *Counter {
		return reg.Counter("queue_message_drop_reason", "Messages dropped from queues, by reason.", map[string]string{"reason": reason})
	}
	g := func(name, help string) *Gauge { return reg.Gauge(name, help, nil) }
	return &Broker{
		Reg:                         reg,
		SocketOpen:                  c("socket_open", "Sockets opened."),
		SocketClose:                 c("socket_close", "Sockets closed."),
		SocketCloseTimeout:          c("socket_close_timeout", "Sockets closed because of a keepalive or connect timeout."),
		SocketError:                 c("socket_error", "Socket errors."),
		BytesReceived:               c("bytes_received", "Bytes received from clients."),
		BytesSent:                   c("bytes_sent", "Bytes sent to clients."),
		ConnectReceived:             c("mqtt_connect_received", "CONNECT packets received."),
		PublishReceived:             c("mqtt_publish_received", "PUBLISH packets received."),
		PubackReceived:              c("mqtt_puback_received", "PUBACK packets received."),
		PubrecReceived:              c("mqtt_pubrec_received", "PUBREC packets received."),
		PubrelReceived:              c("mqtt_pubrel_received", "PUBREL packets received."),
		PubcompReceived:             c("mqtt_pubcomp_received", "PUBCOMP packets received."),
		SubscribeReceived:           c("mqtt_subscribe_received", "SUBSCRIBE packets received."),
		UnsubscribeReceived:         c("mqtt_unsubscribe_received", "UNSUBSCRIBE packets received."),
		PingreqReceived:             c("mqtt_pingreq_received", "PINGREQ packets received."),
		DisconnectReceived:          c("mqtt_disconnect_received", "DISCONNECT packets received."),
		AuthReceived:                c("mqtt_auth_received", "AUTH packets received."),
		ConnackSent:                 c("mqtt_connack_sent", "CONNACK packets sent."),
		PublishSent:                 c("mqtt_publish_sent", "PUBLISH packets sent."),
		PubackSent:                  c("mqtt_puback_sent", "PUBACK packets sent."),
		PubrecSent:                  c("mqtt_pubrec_sent", "PUBREC packets sent."),
		PubrelSent:                  c("mqtt_pubrel_sent", "PUBREL packets sent."),
		PubcompSent:                 c("mqtt_pubcomp_sent", "PUBCOMP packets sent."),
		SubackSent:                  c("mqtt_suback_sent", "SUBACK packets sent."),
		UnsubackSent:                c("mqtt_unsuback_sent", "UNSUBACK packets sent."),
		PingrespSent:                c("mqtt_pingresp_sent", "PINGRESP packets sent."),
		DisconnectSent:              c("mqtt_disconnect_sent", "DISCONNECT packets sent."),
		AuthSent:                    c("mqtt_auth_sent", "AUTH packets sent."),
		PublishAuthError:            c("mqtt_publish_auth_error", "PUBLISH refused by authorization."),
		SubscribeAuthError:          c("mqtt_subscribe_auth_error", "SUBSCRIBE refused by authorization."),
		InvalidMsgSizeError:         c("mqtt_invalid_msg_size_error", "Packets larger than max_message_size."),
		PubackInvalidError:          c("mqtt_puback_invalid_error", "PUBACK for an unknown packet id."),
		PubrecInvalidError:          c("mqtt_pubrec_invalid_error", "PUBREC for an unknown packet id."),
		PubcompInvalidError:         c("mqtt_pubcomp_invalid_error", "PUBCOMP for an unknown packet id."),
		KeepaliveExpired:            c("client_keepalive_expired", "Clients disconnected after 1.5 x keepalive without a packet."),
		PublishError:                c("mqtt_publish_error", "PUBLISH refused during a netsplit."),
		SubscribeError:              c("mqtt_subscribe_error", "SUBSCRIBE refused during a netsplit."),
		UnsubscribeError:            c("mqtt_unsubscribe_error", "UNSUBSCRIBE refused during a netsplit."),
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
	}
}
