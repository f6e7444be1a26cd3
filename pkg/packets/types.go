// Package packets is the MQTT 3.1, 3.1.1 and 5.0 wire codec: one type per
// control packet, properties, reason codes and the fixed header framing.
package packets

// Type is the MQTT control packet type (high nibble of the fixed header).
type Type byte

const (
	Reserved Type = iota
	CONNECT
	CONNACK
	PUBLISH
	PUBACK
	PUBREC
	PUBREL
	PUBCOMP
	SUBSCRIBE
	SUBACK
	UNSUBSCRIBE
	UNSUBACK
	PINGREQ
	PINGRESP
	DISCONNECT
	AUTH
)

var typeNames = [...]string{"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL",
	"PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "UNKNOWN"
}

// Protocol levels as carried in CONNECT.
const (
	V31  byte = 3
	V311 byte = 4
	V5   byte = 5
	// V31Bridge and V311Bridge are the non-standard "try_private" bridge levels (0x80|level).
	V31Bridge  byte = 0x83
	V311Bridge byte = 0x84
)

// Packet is any decoded control packet.
type Packet interface {
	Type() Type
}

// UserProperty is one v5 User Property pair (order and duplicates are kept).
type UserProperty struct {
	Key, Value string
}

// Properties holds v5 properties. Pointer fields are nil when absent so that
// "absent" and "zero" stay distinct, as the spec requires for several of them.
type Properties struct {
	PayloadFormat        *byte          // 0x01
	MessageExpiry        *uint32        // 0x02
	ContentType          string         // 0x03
	ResponseTopic        string         // 0x08
	CorrelationData      []byte         // 0x09
	SubscriptionIDs      []uint32       // 0x0B (PUBLISH may carry several; SUBSCRIBE one)
	SessionExpiry        *uint32        // 0x11
	AssignedClientID     string         // 0x12
	ServerKeepAlive      *uint16        // 0x13
	AuthMethod           string         // 0x15
	AuthData             []byte         // 0x16
	RequestProblemInfo   *byte          // 0x17
	WillDelay            *uint32        // 0x18
	RequestResponseInfo  *byte          // 0x19
	ResponseInfo         string         // 0x1A
	ServerReference      string         // 0x1C
	ReasonString         string         // 0x1F
	ReceiveMaximum       *uint16        // 0x21
	TopicAliasMaximum    *uint16        // 0x22
	TopicAlias           *uint16        // 0x23
	MaximumQoS           *byte          // 0x24
	RetainAvailable      *byte          // 0x25
	User                 []UserProperty // 0x26
	MaximumPacketSize    *uint32        // 0x27
	WildcardSubAvailable *byte          // 0x28
	SubIDAvailable       *byte          // 0x29
	SharedSubAvailable   *byte          // 0x2A
}

// Will is the will message carried by CONNECT.
type Will struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	Props   *Properties // v5 will properties; nil when none
}

// Connect is the CONNECT packet.
type Connect struct {
	ProtocolName  string // "MQIsdp" (3.1) or "MQTT"
	ProtocolLevel byte   // V31, V311, V5, or a bridge level
	CleanStart    bool   // clean session in 3.1/3.1.1
	KeepAlive     uint16 // seconds
	ClientID      string
	Will          *Will // nil when the will flag is 0
	Username      *string
	Password      []byte // nil when the password flag is 0
	Props         *Properties
}

// Connack is the CONNACK packet. ReasonCode is the 3.1.1 return code for v3/v4.
type Connack struct {
	SessionPresent bool
	ReasonCode     ReasonCode
	Props          *Properties
}

// Publish is the PUBLISH packet. PacketID is 0 for QoS 0.
type Publish struct {
	Dup      bool
	QoS      byte
	Retain   bool
	Topic    string
	PacketID uint16
	Props    *Properties
	Payload  []byte
}

// Ack is PUBACK, PUBREC, PUBREL or PUBCOMP; Kind says which.
// In v5 an omitted reason code decodes as Success.
type Ack struct {
	Kind       Type
	PacketID   uint16
	ReasonCode ReasonCode
	Props      *Properties
}

// SubOptions are the per-filter options of SUBSCRIBE (only QoS exists before v5).
type SubOptions struct {
	QoS               byte
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte // 0 send, 1 send if new subscription, 2 do not send
}

// Subscription is one topic filter of a SUBSCRIBE.
type Subscription struct {
	Filter  string
	Options SubOptions
}

// Subscribe is the SUBSCRIBE packet.
type Subscribe struct {
	PacketID      uint16
	Props         *Properties
	Subscriptions []Subscription
}

// Suback is the SUBACK packet: one reason code (granted QoS or failure) per filter.
type Suback struct {
	PacketID    uint16
	Props       *Properties
	ReasonCodes []ReasonCode
}

// Unsubscribe is the UNSUBSCRIBE packet.
type Unsubscribe struct {
	PacketID uint16
	Props    *Properties
	Filters  []string
}

// Unsuback is the UNSUBACK packet (reason codes only in v5).
type Unsuback struct {
	PacketID    uint16
	Props       *Properties
	ReasonCodes []ReasonCode
}

// Pingreq is the PINGREQ packet.
type Pingreq struct{}

// Pingresp is the PINGRESP packet.
type Pingresp struct{}

// Disconnect is the DISCONNECT packet (reason and properties only in v5).
type Disconnect struct {
	ReasonCode ReasonCode
	Props      *Properties
}

// Auth is the v5 AUTH packet.
type Auth struct {
	ReasonCode ReasonCode
	Props      *Properties
}

func (*Connect) Type() Type     { return CONNECT }
func (*Connack) Type() Type     { return CONNACK }
func (*Publish) Type() Type     { return PUBLISH }
func (a *Ack) Type() Type       { return a.Kind }
func (*Subscribe) Type() Type   { return SUBSCRIBE }
func (*Suback) Type() Type      { return SUBACK }
func (*Unsubscribe) Type() Type { return UNSUBSCRIBE }
func (*Unsuback) Type() Type    { return UNSUBACK }
func (*Pingreq) Type() Type     { return PINGREQ }
func (*Pingresp) Type() Type    { return PINGRESP }
func (*Disconnect) Type() Type  { return DISCONNECT }
func (*Auth) Type() Type        { return AUTH }
