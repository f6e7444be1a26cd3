package metrics

import (
	"sync/atomic"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// Proto holds the packet counters that VerneMQ splits by protocol: one set labelled
// mqtt_version="4" (MQTT 3.1 and 3.1.1 share it, as in VerneMQ) and one mqtt_version="5".
// MQTT 5 acknowledgements, CONNACK, DISCONNECT and AUTH are further split by reason_code,
// and 3.1.1 CONNACK by return_code, with VerneMQ's label values.
type Proto struct {
	ConnectReceived, PublishReceived, SubscribeReceived, UnsubscribeReceived, PingreqReceived *Counter
	PubackReceived, PubrecReceived, PubrelReceived, PubcompReceived                           *ByReason
	DisconnectReceived, AuthReceived                                                          *ByReason

	ConnackSent, PubackSent, PubrecSent, PubrelSent, PubcompSent, DisconnectSent, AuthSent *ByReason
	PublishSent, SubackSent, UnsubackSent, PingrespSent                                    *Counter

	PublishAuthError, SubscribeAuthError, InvalidMsgSizeError        *Counter
	PubackInvalidError, PubrecInvalidError, PubcompInvalidError      *Counter
	PublishError, SubscribeError, UnsubscribeError, KeepaliveExpired *Counter
}

// Reason codes VerneMQ exports for each MQTT 5 packet (vmq_metrics: every one at zero from the start).
var (
	pubackCodes  = []packets.ReasonCode{0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99}
	pubrelCodes  = []packets.ReasonCode{0x00, 0x92}
	authCodes    = []packets.ReasonCode{0x00, 0x18, 0x19}
	connackCodes = []packets.ReasonCode{0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
		0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F}
	disconnectRecvCodes = []packets.ReasonCode{0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x90, 0x93, 0x94, 0x95,
		0x96, 0x97, 0x98, 0x99}
	disconnectSentCodes = []packets.ReasonCode{0x00, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E,
		0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2}
	// 3.1.1 CONNACK return codes 0-5, named as VerneMQ names them (after the MQTT 5 code they map to).
	v4ConnackNames = map[packets.ReasonCode]string{0: "success", 1: "unsupported_protocol_version",
		2: "client_identifier_not_valid", 3: "server_unavailable", 4: "bad_username_or_password", 5: "not_authorized"}
	v4ConnackCodes = []packets.ReasonCode{0, 1, 2, 3, 4, 5}
)

// disconnectName names DISCONNECT's 0x00 "normal_disconnect" (it is "success" elsewhere).
func disconnectName(c packets.ReasonCode) string {
	if c == 0 {
		return "normal_disconnect"
	}
	return c.String()
}

func newProto(reg *Registry, version string) *Proto {
	c := func(name, help string) *Counter {
		return reg.Counter(name, help, map[string]string{"mqtt_version": version})
	}
	p := &Proto{
		ConnectReceived:     c("mqtt_connect_received", "The number of CONNECT packets received."),
		PublishReceived:     c("mqtt_publish_received", "The number of PUBLISH packets received."),
		SubscribeReceived:   c("mqtt_subscribe_received", "The number of SUBSCRIBE packets received."),
		UnsubscribeReceived: c("mqtt_unsubscribe_received", "The number of UNSUBSCRIBE packets received."),
		PingreqReceived:     c("mqtt_pingreq_received", "The number of PINGREQ packets received."),
		PublishSent:         c("mqtt_publish_sent", "The number of PUBLISH packets sent."),
		SubackSent:          c("mqtt_suback_sent", "The number of SUBACK packets sent."),
		UnsubackSent:        c("mqtt_unsuback_sent", "The number of UNSUBACK packets sent."),
		PingrespSent:        c("mqtt_pingresp_sent", "The number of PINGRESP packets sent."),
		PublishAuthError:    c("mqtt_publish_auth_error", "The number of unauthorized publish attempts."),
		SubscribeAuthError:  c("mqtt_subscribe_auth_error", "The number of unauthorized subscription attempts."),
		InvalidMsgSizeError: c("mqtt_invalid_msg_size_error", "The number of packets exceeding the maximum allowed size."),
		PubackInvalidError:  c("mqtt_puback_invalid_error", "The number of unexpected PUBACK messages received."),
		PubrecInvalidError:  c("mqtt_pubrec_invalid_error", "The number of unexpected PUBREC messages received."),
		PubcompInvalidError: c("mqtt_pubcomp_invalid_error", "The number of unexpected PUBCOMP messages received."),
		PublishError:        c("mqtt_publish_error", "The number of times a PUBLISH operation failed due to a netsplit."),
		SubscribeError:      c("mqtt_subscribe_error", "The number of times a SUBSCRIBE operation failed due to a netsplit."),
		UnsubscribeError:    c("mqtt_unsubscribe_error", "The number of times an UNSUBSCRIBE operation failed due to a netsplit."),
		KeepaliveExpired:    c("client_keepalive_expired", "The number of clients which failed to communicate within the keepalive time period."),
	}
	// by builds a reason-coded counter for MQTT 5; 3.1.1 has one series per packet type.
	by := func(name, help string, codes []packets.ReasonCode, namer func(packets.ReasonCode) string) *ByReason {
		if version == "5" {
			return newByReason(reg, name, help, version, "reason_code", codes, namer)
		}
		return newByReason(reg, name, help, version, "", nil, nil)
	}
	str := packets.ReasonCode.String
	p.PubackReceived = by("mqtt_puback_received", "The number of PUBACK packets received.", pubackCodes, str)
	p.PubrecReceived = by("mqtt_pubrec_received", "The number of PUBREC packets received.", pubackCodes, str)
	p.PubrelReceived = by("mqtt_pubrel_received", "The number of PUBREL packets received.", pubrelCodes, str)
	p.PubcompReceived = by("mqtt_pubcomp_received", "The number of PUBCOMP packets received.", pubrelCodes, str)
	p.PubackSent = by("mqtt_puback_sent", "The number of PUBACK packets sent.", pubackCodes, str)
	p.PubrecSent = by("mqtt_pubrec_sent", "The number of PUBREC packets sent.", pubackCodes, str)
	p.PubrelSent = by("mqtt_pubrel_sent", "The number of PUBREL packets sent.", pubrelCodes, str)
	p.PubcompSent = by("mqtt_pubcomp_sent", "The number of PUBCOMP packets sent.", pubrelCodes, str)
	p.DisconnectReceived = by("mqtt_disconnect_received", "The number of DISCONNECT packets received.", disconnectRecvCodes, disconnectName)
	if version == "5" {
		p.ConnackSent = by("mqtt_connack_sent", "The number of CONNACK packets sent.", connackCodes, str)
		p.DisconnectSent = by("mqtt_disconnect_sent", "The number of DISCONNECT packets sent.", disconnectSentCodes, disconnectName)
		p.AuthSent = by("mqtt_auth_sent", "The number of AUTH packets sent.", authCodes, str)
		p.AuthReceived = by("mqtt_auth_received", "The number of AUTH packets received.", authCodes, str)
	} else {
		// 3.1.1 has no AUTH and the broker sends it no DISCONNECT: those stay nil (Inc is a no-op).
		p.ConnackSent = newByReason(reg, "mqtt_connack_sent", "The number of CONNACK packets sent.", version, "return_code",
			v4ConnackCodes, func(c packets.ReasonCode) string {
				if n, ok := v4ConnackNames[c]; ok {
					return n
				}
				return c.String()
			})
	}
	return p
}

// ByReason counts one packet type by reason code. Each code's counter is found with one
// atomic load; codes outside VerneMQ's list get their series on first use.
type ByReason struct {
	reg                      *Registry
	name, help, version, key string
	namer                    func(packets.ReasonCode) string
	byCode                   [256]atomic.Pointer[Counter]
}

// newByReason registers name{mqtt_version, key=<code name>} for each of codes at zero.
// With key "" all codes share one series name{mqtt_version}.
func newByReason(reg *Registry, name, help, version, key string, codes []packets.ReasonCode, namer func(packets.ReasonCode) string) *ByReason {
	r := &ByReason{reg: reg, name: name, help: help, version: version, key: key, namer: namer}
	if key == "" {
		c := reg.Counter(name, help, map[string]string{"mqtt_version": version})
		for i := range r.byCode {
			r.byCode[i].Store(c)
		}
		return r
	}
	for _, code := range codes {
		r.add(code)
	}
	return r
}

func (r *ByReason) add(code packets.ReasonCode) *Counter {
	c := r.reg.Counter(r.name, r.help, map[string]string{"mqtt_version": r.version, r.key: r.namer(code)})
	r.byCode[code].Store(c)
	return c
}

// Inc counts one packet with code; a nil ByReason counts nothing.
func (r *ByReason) Inc(code packets.ReasonCode) {
	if r == nil {
		return
	}
	c := r.byCode[code].Load()
	if c == nil {
		c = r.add(code)
	}
	c.Inc()
}

// Value is the count of code.
func (r *ByReason) Value(code packets.ReasonCode) uint64 {
	if r == nil {
		return 0
	}
	if c := r.byCode[code].Load(); c != nil {
		return c.Value()
	}
	return 0
}
