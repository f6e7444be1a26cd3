package auth

import (
	"net"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// Result is a plugin's answer in an all_till_ok chain. The zero value is
// Next so a plugin that returns an empty Decision passes the request on.
type Result int

const (
	Next  Result = iota // not my business, ask the next plugin
	OK                  // allowed; ends the chain
	Error               // refused; ends the chain
)

func (r Result) String() string {
	switch r {
	case Next:
		return "next"
	case OK:
		return "ok"
	case Error:
		return "error"
	}
	return "unknown"
}

// Reasons the chain itself produces, and the one plugins use for bad passwords.
const (
	ReasonInvalidCredentials = "invalid_credentials"
	ReasonChainExhausted     = "chain_exhausted"
	ReasonNoMatchingHook     = "no_matching_hook_found"
	ReasonAllowAnonymous     = "allow_anonymous"
	ReasonSysTopic           = "sys_topic" // a client may not publish into the broker's own $SYS tree
	ReasonInvalidModifiers   = "invalid_modifiers"
)

// MQTT v5 reason codes used on refusal; the broker maps them to v3 CONNACK codes.
const (
	CodeBadCredentials byte = 0x86 // v3 CONNACK 4
	CodeNotAuthorized  byte = 0x87 // v3 CONNACK 5
	CodeSubRejected    byte = 0x80 // per-filter rejection in Topic.QoS (SUBACK failure)
)

// Decision is a plugin's (and the chain's) verdict.
type Decision struct {
	Result Result
	Reason string // free text, or one of the Reason* constants
	Code   byte   // MQTT v5 reason code on refusal; 0 = default (0x87, 0x86 for invalid_credentials)
}

// Allow is Decision{Result: OK}.
func Allow() Decision { return Decision{Result: OK} }

// Pass is Decision{Result: Next}.
func Pass() Decision { return Decision{Result: Next} }

// Deny refuses with reason and the default code.
func Deny(reason string) Decision { return Decision{Result: Error, Reason: reason} }

// SubscriberID is VerneMQ's {Mountpoint, ClientId}.
type SubscriberID struct {
	Mountpoint string
	ClientID   string
}

// Client is what the hooks know about the session.
type Client struct {
	Mountpoint      string
	ClientID        string
	Username        string // "" = no user name sent
	Password        []byte // nil = no password sent
	Peer            net.Addr
	ProtocolVersion byte // 3, 4, 5 (131/132 for bridges, as VerneMQ)
	CleanStart      bool
	Listener        string // listener name, e.g. "tcp.default"
	CN              string // TLS client certificate common name, if any

	// Props are the MQTT 5 properties of the packet a hook is asked about: CONNECT for
	// auth_on_register_m5 and on_register_m5, SUBSCRIBE for auth_on_subscribe_m5 and
	// on_subscribe_m5, UNSUBSCRIBE for on_unsubscribe_m5, CONNECT or AUTH for on_auth_m5
	// (VerneMQ's Properties argument). nil for older clients or a packet without any.
	// Read-only: the packet owns it.
	Props *packets.Properties
}

// SubscriberID returns {Mountpoint, ClientID}.
func (c *Client) SubscriberID() SubscriberID {
	return SubscriberID{Mountpoint: c.Mountpoint, ClientID: c.ClientID}
}

// RegisterModifiers are auth_on_register's {ok, Modifiers}; nil fields keep the default.
type RegisterModifiers struct {
	Mountpoint *string // subscriber_id mountpoint
	ClientID   *string // subscriber_id client id
	Username   *string
	CleanStart *bool // clean_session / clean_start

	MaxMessageSize        *int
	MaxConnectionLifetime *time.Duration
	MaxMessageRate        *int // messages per second, 0 = unlimited
	MaxInflight           *int // max_inflight_messages
	MaxOnlineMessages     *int
	MaxOfflineMessages    *int
	RetryInterval         *time.Duration
	UpgradeQoS            *bool
	QueueType             *string // "fifo" | "lifo"
	SharedSubPolicy       *string // shared_subscription_policy
	MaxDrainTime          *time.Duration
	MaxMsgsPerDrainStep   *int
	RegView               *string

	// Per-client netsplit (CAP) overrides.
	AllowRegister    *bool
	AllowPublish     *bool
	AllowSubscribe   *bool
	AllowUnsubscribe *bool

	// MQTT v5 only.
	SessionExpiryInterval *uint32 // session_expiry_interval or properties.p_session_expiry_interval
	MaxPacketSize         *uint32 // the largest packet sent to the client
	ReceiveMax            *uint16 // fc_receive_max_client: in-flight QoS 1/2 towards the client, at most the client's own
	ReceiveMaxBroker      *uint16 // fc_receive_max_broker: Receive Maximum announced in CONNACK and enforced
	TopicAliasMax         *uint16 // topic aliases the client may use (CONNACK Topic Alias Maximum)
	RequestProblemInfo    *bool
	UserProperties        []UserProperty
}

// UserProperty is an MQTT v5 user property.
type UserProperty struct{ Key, Value string }

// Publish is the message an auth_on_publish / on_deliver / notification hook sees.
type Publish struct {
	Topic   string
	QoS     byte
	Retain  bool
	Payload []byte
	Props   *packets.Properties // MQTT 5 properties (nil: none); read-only, shared with the message
}

// PublishModifiers are auth_on_publish's and on_deliver's {ok, Modifiers}; nil keeps the value.
type PublishModifiers struct {
	Topic      *string
	QoS        *byte
	Payload    []byte // nil = unchanged
	Retain     *bool
	Mountpoint *string
	Throttle   time.Duration // pause the publisher's reads (auth_on_publish only), 0 = none

	// MQTT v5 only.
	MessageExpiry   *uint32
	ContentType     *string
	ResponseTopic   *string
	CorrelationData []byte
	PayloadFormat   *byte
	UserProperties  []UserProperty

	// Props, when non-nil, replaces the message's MQTT 5 properties as a whole
	// (VerneMQ's "properties" modifier of auth_on_publish_m5 and on_deliver_m5: a
	// property it leaves out is removed). Applied before the single fields above.
	Props *packets.Properties
}

// Topic is one SUBSCRIBE entry. A SubscribeAuthorizer may return a changed
// list; QoS CodeSubRejected (0x80) rejects that one filter.
type Topic struct {
	Filter string
	QoS    byte

	// MQTT 5 subscription options (zero for older clients).
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte // 0 send_retain, 1 send_if_new_sub, 2 dont_send
}

// PluginInfo is one row of `vmq-admin plugin show`.
type PluginInfo struct {
	Name  string
	Hooks []string // VerneMQ hook names, e.g. "auth_on_register"
}

// AuthRequest is one enhanced-authentication round a client asks for (on_auth_m5).
type AuthRequest struct {
	Method string // Authentication Method
	Data   []byte // Authentication Data (nil: none sent)
	ReAuth bool   // an AUTH on a live connection (0x19 and its 0x18 rounds), not CONNECT's
}

// AuthResult is a plugin's answer to an AuthRequest: VerneMQ's on_auth_m5 modifiers.
type AuthResult struct {
	Continue     bool   // reason code 0x18 (continue_authentication): another round; false: success (0x00)
	Method       string // must be the request's method ("" means the same)
	Data         []byte // Authentication Data sent back to the client
	ReasonString string
}
