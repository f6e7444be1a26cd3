package packets

import "strings"

// CONNECT flag bits (v5 3.1.2.3).
const (
	flagReserved   = 0x01
	flagCleanStart = 0x02
	flagWill       = 0x04
	flagWillQoS    = 0x18
	flagWillRetain = 0x20
	flagPassword   = 0x40
	flagUsername   = 0x80
)

// decodeConnect returns a partial *Connect with the error once the protocol
// level is known, so the caller can answer in the client's version. It decodes into
// into (a reader's scratch) unless that is nil.
func decodeConnect(d *decoder, into *Connect) (*Connect, error) {
	name := protocolName(d, d.rawStr("protocol name"))
	level := d.u8("protocol level")
	if d.err != nil {
		return nil, d.err
	}
	c := into
	if c == nil {
		c = new(Connect)
	}
	*c = Connect{ProtocolName: name, ProtocolLevel: level}
	v := level &^ 0x80
	switch {
	case name == "MQTT" && (v == V311 || v == V5) && (level&0x80 == 0 || v == V311):
	case name == "MQIsdp" && v == V31:
	default:
		return c, Errorf(UnsupportedProtocolVersion, "protocol %q level %d is not supported; use MQIsdp/3, MQTT/4 or MQTT/5", name, level)
	}
	flags := d.u8("connect flags")
	c.KeepAlive = d.u16("keep alive")
	if d.err != nil {
		return c, d.err
	}
	if flags&flagReserved != 0 {
		return c, Errorf(MalformedPacket, "CONNECT reserved flag bit 0 is set")
	}
	c.CleanStart = flags&flagCleanStart != 0
	willQoS := flags & flagWillQoS >> 3
	if willQoS == 3 {
		return c, Errorf(MalformedPacket, "CONNECT will QoS 3 is invalid")
	}
	if flags&flagWill == 0 && flags&(flagWillQoS|flagWillRetain) != 0 {
		return c, Errorf(MalformedPacket, "CONNECT sets will QoS or retain without the will flag")
	}
	if v != V5 && flags&flagPassword != 0 && flags&flagUsername == 0 {
		return c, Errorf(ProtocolError, "CONNECT has a password without a username; MQTT %d requires both", v)
	}
	if v == V5 {
		c.Props = d.props(propsConnect, "CONNECT")
	}
	c.ClientID = d.str("client identifier")
	if flags&flagWill != 0 {
		w := &Will{QoS: willQoS, Retain: flags&flagWillRetain != 0}
		if v == V5 {
			w.Props = d.props(propsWill, "will")
		}
		w.Topic = d.str("will topic")
		if d.err == nil {
			if err := checkTopicName(w.Topic, "will topic"); err != nil {
				return c, err
			}
		}
		if w.Payload = d.bin("will payload"); len(w.Payload) == 0 {
			w.Payload = nil
		}
		c.Will = w
	}
	if flags&flagUsername != 0 {
		u := d.str("username")
		c.Username = &u
	}
	if flags&flagPassword != 0 {
		c.Password = d.bin("password")
	}
	if d.err != nil {
		return c, d.err
	}
	return c, nil
}

// protocolName is b as a string; the two names MQTT knows are constants, not a copy each.
func protocolName(d *decoder, b []byte) string {
	switch string(b) { // compared without a copy
	case "MQTT":
		return "MQTT"
	case "MQIsdp":
		return "MQIsdp"
	}
	return d.ownStr(b)
}

// checkTopicName applies the spec's rules for a topic name carried as a
// complete name (PUBLISH without alias, will topic): non-empty, no wildcards.
func checkTopicName(topic, what string) error {
	if topic == "" {
		return Errorf(TopicNameInvalid, "%s is empty; a topic name needs at least one character", what)
	}
	if strings.ContainsAny(topic, "+#") {
		return Errorf(TopicNameInvalid, "%s %q contains a wildcard; only topic filters may use + and #", what, topic)
	}
	return nil
}

func encodeConnect(e *encoder, c *Connect, v byte) {
	level := c.ProtocolLevel
	if level == 0 {
		level = v
	}
	name := c.ProtocolName
	if name == "" {
		name = "MQTT"
		if v == V31 {
			name = "MQIsdp"
		}
	}
	e.str("protocol name", name)
	e.b = append(e.b, level)
	var flags byte
	if c.CleanStart {
		flags |= flagCleanStart
	}
	if w := c.Will; w != nil {
		if w.QoS > 2 {
			e.failf("will QoS %d is above 2", w.QoS)
			return
		}
		flags |= flagWill | w.QoS<<3
		if w.Retain {
			flags |= flagWillRetain
		}
	}
	if c.Password != nil {
		if v != V5 && c.Username == nil {
			e.failf("MQTT %d needs a username when a password is set", v)
			return
		}
		flags |= flagPassword
	}
	if c.Username != nil {
		flags |= flagUsername
	}
	e.b = append(e.b, flags)
	e.b = appendU16(e.b, c.KeepAlive)
	if v == V5 {
		e.props(c.Props, propsConnect)
	}
	e.str("client identifier", c.ClientID)
	if w := c.Will; w != nil {
		if v == V5 {
			e.props(w.Props, propsWill)
		}
		e.str("will topic", w.Topic)
		e.bin("will payload", w.Payload)
	}
	if c.Username != nil {
		e.str("username", *c.Username)
	}
	if c.Password != nil {
		e.bin("password", c.Password)
	}
}

// connackCodesV5 are the reason codes a v5 CONNACK may carry.
var connackCodesV5 = codeSet(0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A,
	0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F)

func decodeConnack(d *decoder, v byte) *Connack {
	flags := d.u8("connack flags")
	c := &Connack{ReasonCode: ReasonCode(d.u8("connack reason code"))}
	if d.err != nil {
		return nil
	}
	if v == V31 {
		// 3.1 has no session present flag; the byte is unused.
		if c.ReasonCode > ConnRefusedNotAuthorized {
			d.fail(ProtocolError, "CONNACK return code %d is reserved", c.ReasonCode)
		}
		return c
	}
	if flags&0xFE != 0 {
		d.fail(MalformedPacket, "CONNACK acknowledge flags 0x%02X set reserved bits", flags)
		return nil
	}
	c.SessionPresent = flags&1 != 0
	if v == V5 {
		if !connackCodesV5[c.ReasonCode] {
			d.fail(ProtocolError, "0x%02X is not a CONNACK reason code", byte(c.ReasonCode))
		}
		c.Props = d.props(propsConnack, "CONNACK")
	} else if c.ReasonCode > ConnRefusedNotAuthorized {
		d.fail(ProtocolError, "CONNACK return code %d is reserved", c.ReasonCode)
	}
	if d.err == nil && c.SessionPresent && c.ReasonCode != Success {
		d.fail(ProtocolError, "CONNACK refuses the connection but sets session present")
	}
	return c
}

func encodeConnack(e *encoder, c *Connack, v byte) {
	var flags byte
	// A refusal never has a session ([MQTT-3.2.2-4], [MQTT-3.2.2-6]); 3.1 has no such flag.
	if c.SessionPresent && v != V31 && c.ReasonCode == Success {
		flags = 1
	}
	switch v {
	case V5:
		e.b = append(e.b, flags, byte(connackV5Code(c.ReasonCode)))
		e.props(c.Props, propsConnack)
	default:
		e.b = append(e.b, flags, byte(connackV3Code(c.ReasonCode)))
	}
}

// connackV3Code maps a v5 reason code to the nearest 3.1/3.1.1 return code.
func connackV3Code(rc ReasonCode) ReasonCode {
	if rc <= ConnRefusedNotAuthorized {
		return rc
	}
	switch rc {
	case UnsupportedProtocolVersion:
		return ConnRefusedProtocolVersion
	case ClientIDNotValid:
		return ConnRefusedIdentifier
	case BadUsernameOrPassword:
		return ConnRefusedBadCredentials
	case NotAuthorized, Banned, BadAuthenticationMethod:
		return ConnRefusedNotAuthorized
	}
	return ConnRefusedServerUnavailable
}

// connackV5Code maps a 3.1.1 return code (1-5) to its v5 reason code.
func connackV5Code(rc ReasonCode) ReasonCode {
	switch rc {
	case ConnRefusedProtocolVersion:
		return UnsupportedProtocolVersion
	case ConnRefusedIdentifier:
		return ClientIDNotValid
	case ConnRefusedServerUnavailable:
		return ServerUnavailable
	case ConnRefusedBadCredentials:
		return BadUsernameOrPassword
	case ConnRefusedNotAuthorized:
		return NotAuthorized
	}
	return rc
}

// codeSet builds a lookup table of valid reason codes.
func codeSet(codes ...byte) *[256]bool {
	var s [256]bool
	for _, c := range codes {
		s[c] = true
	}
	return &s
}
