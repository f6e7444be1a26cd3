// Package session holds the state of one MQTT session: its queue of deliveries
// (bounded, fifo or lifo drop), the outgoing inflight window, QoS 2 receive
// state, and the single writer that sends a batch of packets with one write.
package session

import (
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// Message is one published message as routed; shared read-only by every session it reaches.
type Message struct {
	Mountpoint string
	Topic      string
	Payload    []byte
	QoS        byte
	Retain     bool
	Props      *packets.Properties // application properties only (user, content type, response topic...)
	Expiry     time.Time           // zero when the message does not expire
	From       string              // publisher's client id, for No Local
	Node       string              // node the publish entered the cluster on ("" here)
}

// Expired reports whether m's message expiry has passed at now.
func (m *Message) Expired(now time.Time) bool {
	return !m.Expiry.IsZero() && !now.Before(m.Expiry)
}

// Delivery is a message on its way to one session.
type Delivery struct {
	Msg    *Message
	QoS    byte     // granted: min(publish QoS, subscription QoS), or upgraded
	Retain bool     // retain flag as sent: set for retained deliveries on subscribe or with Retain As Published
	SubIDs []uint32 // v5 subscription identifiers of the matching subscriptions
	Seq    uint64   // the message store's sequence number when the delivery is persisted, else 0
	hooked bool     // has been through the on_deliver hook (deliver.go)
}

// DropReason names why a delivery was dropped, as on_message_drop reports it.
type DropReason string

const (
	DropQueueFull     DropReason = "queue_full"
	DropExpired       DropReason = "expired"
	DropMaxPacketSize DropReason = "max_packet_size_exceeded"
	DropOfflineQoS0   DropReason = "offline_qos0"
)
