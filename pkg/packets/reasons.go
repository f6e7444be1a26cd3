package packets

import "fmt"

// ReasonCode is a v5 reason code; for v3/v4 CONNACK it holds the return code
// (0-5) and SUBACK uses 0x80 for failure, which both versions share.
type ReasonCode byte

const (
	Success                    ReasonCode = 0x00 // also Normal disconnection, Granted QoS 0
	GrantedQoS1                ReasonCode = 0x01
	GrantedQoS2                ReasonCode = 0x02
	DisconnectWithWill         ReasonCode = 0x04
	NoMatchingSubscribers      ReasonCode = 0x10
	NoSubscriptionExisted      ReasonCode = 0x11
	ContinueAuthentication     ReasonCode = 0x18
	ReAuthenticate             ReasonCode = 0x19
	UnspecifiedError           ReasonCode = 0x80
	MalformedPacket            ReasonCode = 0x81
	ProtocolError              ReasonCode = 0x82
	ImplementationSpecific     ReasonCode = 0x83
	UnsupportedProtocolVersion ReasonCode = 0x84
	ClientIDNotValid           ReasonCode = 0x85
	BadUsernameOrPassword      ReasonCode = 0x86
	NotAuthorized              ReasonCode = 0x87
	ServerUnavailable          ReasonCode = 0x88
	ServerBusy                 ReasonCode = 0x89
	Banned                     ReasonCode = 0x8A
	ServerShuttingDown         ReasonCode = 0x8B
	BadAuthenticationMethod    ReasonCode = 0x8C
	KeepAliveTimeout           ReasonCode = 0x8D
	SessionTakenOver           ReasonCode = 0x8E
	TopicFilterInvalid         ReasonCode = 0x8F
	TopicNameInvalid           ReasonCode = 0x90
	PacketIDInUse              ReasonCode = 0x91
	PacketIDNotFound           ReasonCode = 0x92
	ReceiveMaximumExceeded     ReasonCode = 0x93
	TopicAliasInvalid          ReasonCode = 0x94
	PacketTooLarge             ReasonCode = 0x95
	MessageRateTooHigh         ReasonCode = 0x96
	QuotaExceeded              ReasonCode = 0x97
	AdministrativeAction       ReasonCode = 0x98
	PayloadFormatInvalid       ReasonCode = 0x99
	RetainNotSupported         ReasonCode = 0x9A
	QoSNotSupported            ReasonCode = 0x9B
	UseAnotherServer           ReasonCode = 0x9C
	ServerMoved                ReasonCode = 0x9D
	SharedSubNotSupported      ReasonCode = 0x9E
	ConnectionRateExceeded     ReasonCode = 0x9F
	MaximumConnectTime         ReasonCode = 0xA0
	SubIDsNotSupported         ReasonCode = 0xA1
	WildcardSubsNotSupported   ReasonCode = 0xA2
)

// 3.1/3.1.1 CONNACK return codes.
const (
	ConnAccepted                 ReasonCode = 0x00
	ConnRefusedProtocolVersion   ReasonCode = 0x01
	ConnRefusedIdentifier        ReasonCode = 0x02
	ConnRefusedServerUnavailable ReasonCode = 0x03
	ConnRefusedBadCredentials    ReasonCode = 0x04
	ConnRefusedNotAuthorized     ReasonCode = 0x05
)

var reasonNames = map[ReasonCode]string{
	0x00: "success", 0x01: "granted_qos1", 0x02: "granted_qos2", 0x04: "disconnect_with_will_msg",
	0x10: "no_matching_subscribers", 0x11: "no_subscription_existed", 0x18: "continue_authentication",
	0x19: "reauthenticate", 0x80: "unspecified_error", 0x81: "malformed_packet", 0x82: "protocol_error",
	0x83: "impl_specific_error", 0x84: "unsupported_protocol_version", 0x85: "client_identifier_not_valid",
	0x86: "bad_username_or_password", 0x87: "not_authorized", 0x88: "server_unavailable", 0x89: "server_busy",
	0x8A: "banned", 0x8B: "server_shutting_down", 0x8C: "bad_authentication_method", 0x8D: "keep_alive_timeout",
	0x8E: "session_taken_over", 0x8F: "topic_filter_invalid", 0x90: "topic_name_invalid",
	0x91: "packet_id_in_use", 0x92: "packet_id_not_found", 0x93: "receive_max_exceeded",
	0x94: "topic_alias_invalid", 0x95: "packet_too_large", 0x96: "message_rate_too_high",
	0x97: "quota_exceeded", 0x98: "administrative_action", 0x99: "payload_format_invalid",
	0x9A: "retain_not_supported", 0x9B: "qos_not_supported", 0x9C: "use_another_server",
	0x9D: "server_moved", 0x9E: "shared_subs_not_supported", 0x9F: "connection_rate_exceeded",
	0xA0: "max_connect_time", 0xA1: "subscription_ids_not_supported", 0xA2: "wildcard_subs_not_supported",
}

// String gives VerneMQ's snake_case name, used as the reason_code metric label.
func (r ReasonCode) String() string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return fmt.Sprintf("reason_0x%02x", byte(r))
}

// Error is a decode or protocol error carrying the reason code to send back
// (CONNACK before the session exists, DISCONNECT after).
type Error struct {
	Code ReasonCode
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Msg) }

// Errorf builds an *Error.
func Errorf(code ReasonCode, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}
