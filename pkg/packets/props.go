package packets

// Property identifiers (v5 section 2.2.2.2).
const (
	propPayloadFormat        = 0x01
	propMessageExpiry        = 0x02
	propContentType          = 0x03
	propResponseTopic        = 0x08
	propCorrelationData      = 0x09
	propSubscriptionID       = 0x0B
	propSessionExpiry        = 0x11
	propAssignedClientID     = 0x12
	propServerKeepAlive      = 0x13
	propAuthMethod           = 0x15
	propAuthData             = 0x16
	propRequestProblemInfo   = 0x17
	propWillDelay            = 0x18
	propRequestResponseInfo  = 0x19
	propResponseInfo         = 0x1A
	propServerReference      = 0x1C
	propReasonString         = 0x1F
	propReceiveMaximum       = 0x21
	propTopicAliasMaximum    = 0x22
	propTopicAlias           = 0x23
	propMaximumQoS           = 0x24
	propRetainAvailable      = 0x25
	propUser                 = 0x26
	propMaximumPacketSize    = 0x27
	propWildcardSubAvailable = 0x28
	propSubIDAvailable       = 0x29
	propSharedSubAvailable   = 0x2A
)

// propSet is a bitmask of property identifiers (all are < 64).
type propSet uint64

func set(ids ...uint) propSet {
	var s propSet
	for _, id := range ids {
		s |= 1 << id
	}
	return s
}

func (s propSet) has(id uint32) bool { return id < 64 && s&(1<<id) != 0 }

// Which properties each packet may carry (v5 section 2.2.2.2 table).
var (
	propsConnect = set(propSessionExpiry, propAuthMethod, propAuthData, propRequestProblemInfo,
		propRequestResponseInfo, propReceiveMaximum, propTopicAliasMaximum, propUser, propMaximumPacketSize)
	propsWill = set(propPayloadFormat, propMessageExpiry, propContentType, propResponseTopic,
		propCorrelationData, propWillDelay, propUser)
	propsConnack = set(propSessionExpiry, propAssignedClientID, propServerKeepAlive, propAuthMethod,
		propAuthData, propResponseInfo, propServerReference, propReasonString, propReceiveMaximum,
		propTopicAliasMaximum, propMaximumQoS, propRetainAvailable, propUser, propMaximumPacketSize,
		propWildcardSubAvailable, propSubIDAvailable, propSharedSubAvailable)
	propsPublish = set(propPayloadFormat, propMessageExpiry, propContentType, propResponseTopic,
		propCorrelationData, propSubscriptionID, propTopicAlias, propUser)
	propsAck         = set(propReasonString, propUser) // PUBACK..PUBCOMP, SUBACK, UNSUBACK
	propsSubscribe   = set(propSubscriptionID, propUser)
	propsUnsubscribe = set(propUser)
	propsDisconnect  = set(propSessionExpiry, propServerReference, propReasonString, propUser)
	propsAuth        = set(propAuthMethod, propAuthData, propReasonString, propUser)
	// Only PUBLISH may repeat the Subscription Identifier; User Property repeats anywhere.
	propsRepeatable = set(propUser)
)

// empty reports whether no property is set (nil counts as empty).
func (p *Properties) empty() bool {
	return p == nil || (p.PayloadFormat == nil && p.MessageExpiry == nil && p.ContentType == "" &&
		p.ResponseTopic == "" && p.CorrelationData == nil && len(p.SubscriptionIDs) == 0 &&
		p.SessionExpiry == nil && p.AssignedClientID == "" && p.ServerKeepAlive == nil &&
		p.AuthMethod == "" && p.AuthData == nil && p.RequestProblemInfo == nil && p.WillDelay == nil &&
		p.RequestResponseInfo == nil && p.ResponseInfo == "" && p.ServerReference == "" &&
		p.ReasonString == "" && p.ReceiveMaximum == nil && p.TopicAliasMaximum == nil &&
		p.TopicAlias == nil && p.MaximumQoS == nil && p.RetainAvailable == nil && len(p.User) == 0 &&
		p.MaximumPacketSize == nil && p.WildcardSubAvailable == nil && p.SubIDAvailable == nil &&
		p.SharedSubAvailable == nil)
}

// props reads a property length and the properties of packet kind `what`.
// It returns nil when no property is present so that absent and empty agree.
func (d *decoder) props(allowed propSet, what string) *Properties {
	n := d.varint("property length")
	if d.err != nil {
		return nil
	}
	if n == 0 {
		return nil
	}
	body := d.raw(int(n), "properties")
	if d.err != nil {
		return nil
	}
	pd := decoder{b: body, owned: d.owned}
	p := &Properties{}
	var seen propSet
	for len(pd.b) > 0 && pd.err == nil {
		id := pd.varint("property identifier")
		if pd.err != nil {
			break
		}
		if !allowed.has(id) {
			if id >= 64 || !allAllowed.has(id) {
				pd.fail(MalformedPacket, "unknown property identifier 0x%02X in %s", id, what)
			} else {
				pd.fail(ProtocolError, "property 0x%02X is not allowed in %s", id, what)
			}
			break
		}
		if seen.has(id) && !propsRepeatable.has(id) && !(id == propSubscriptionID && allowed == propsPublish) {
			pd.fail(ProtocolError, "property 0x%02X appears more than once in %s", id, what)
			break
		}
		seen |= 1 << id
		pd.prop(p, id)
	}
	if pd.err != nil {
		d.err = pd.err
		return nil
	}
	if p.AuthData != nil && p.AuthMethod == "" {
		d.fail(ProtocolError, "%s has Authentication Data without an Authentication Method", what)
		return nil
	}
	if p.empty() {
		return nil
	}
	return p
}

var allAllowed = propsConnect | propsWill | propsConnack | propsPublish | propsAck |
	propsSubscribe | propsDisconnect | propsAuth

// flag reads a property byte that must be 0 or 1.
func (d *decoder) flag(id uint32) *byte {
	v := d.u8("property value")
	if d.err == nil && v > 1 {
		d.fail(ProtocolError, "property 0x%02X must be 0 or 1, got %d", id, v)
	}
	return &v
}

// nonZero16 reads a two-byte property that the spec forbids to be 0.
func (d *decoder) nonZero16(id uint32, code ReasonCode) *uint16 {
	v := d.u16("property value")
	if d.err == nil && v == 0 {
		d.fail(code, "property 0x%02X must not be 0", id)
	}
	return &v
}

func (d *decoder) prop(p *Properties, id uint32) {
	switch id {
	case propPayloadFormat:
		p.PayloadFormat = d.flag(id)
	case propMessageExpiry:
		v := d.u32("message expiry")
		p.MessageExpiry = &v
	case propContentType:
		p.ContentType = d.str("content type")
	case propResponseTopic:
		p.ResponseTopic = d.str("response topic")
	case propCorrelationData:
		p.CorrelationData = d.bin("correlation data")
	case propSubscriptionID:
		v := d.varint("subscription identifier")
		if d.err == nil && v == 0 {
			d.fail(ProtocolError, "subscription identifier 0 is not allowed; use 1..268435455")
		}
		p.SubscriptionIDs = append(p.SubscriptionIDs, v)
	case propSessionExpiry:
		v := d.u32("session expiry")
		p.SessionExpiry = &v
	case propAssignedClientID:
		p.AssignedClientID = d.str("assigned client identifier")
	case propServerKeepAlive:
		v := d.u16("server keep alive")
		p.ServerKeepAlive = &v
	case propAuthMethod:
		p.AuthMethod = d.str("authentication method")
	case propAuthData:
		p.AuthData = d.bin("authentication data")
	case propRequestProblemInfo:
		p.RequestProblemInfo = d.flag(id)
	case propWillDelay:
		v := d.u32("will delay interval")
		p.WillDelay = &v
	case propRequestResponseInfo:
		p.RequestResponseInfo = d.flag(id)
	case propResponseInfo:
		p.ResponseInfo = d.str("response information")
	case propServerReference:
		p.ServerReference = d.str("server reference")
	case propReasonString:
		p.ReasonString = d.str("reason string")
	case propReceiveMaximum:
		p.ReceiveMaximum = d.nonZero16(id, ProtocolError)
	case propTopicAliasMaximum:
		v := d.u16("topic alias maximum")
		p.TopicAliasMaximum = &v
	case propTopicAlias:
		p.TopicAlias = d.nonZero16(id, TopicAliasInvalid)
	case propMaximumQoS:
		p.MaximumQoS = d.flag(id)
	case propRetainAvailable:
		p.RetainAvailable = d.flag(id)
	case propUser:
		k := d.str("user property key")
		v := d.str("user property value")
		p.User = append(p.User, UserProperty{Key: k, Value: v})
	case propMaximumPacketSize:
		v := d.u32("maximum packet size")
		if d.err == nil && v == 0 {
			d.fail(ProtocolError, "maximum packet size 0 is not allowed")
		}
		p.MaximumPacketSize = &v
	case propWildcardSubAvailable:
		p.WildcardSubAvailable = d.flag(id)
	case propSubIDAvailable:
		p.SubIDAvailable = d.flag(id)
	case propSharedSubAvailable:
		p.SharedSubAvailable = d.flag(id)
	}
}

// props writes the property length and the properties allowed for the
// packet; properties the packet may not carry are dropped, not sent.
func (e *encoder) props(p *Properties, allowed propSet) {
	start := e.begin()
	if p != nil {
		e.propFields(p, allowed)
	}
	e.end(start)
}

func (e *encoder) propFields(p *Properties, allowed propSet) {
	u8 := func(id byte, v *byte) {
		if v != nil && allowed.has(uint32(id)) {
			e.b = append(e.b, id, *v)
		}
	}
	u16 := func(id byte, v *uint16) {
		if v != nil && allowed.has(uint32(id)) {
			e.b = appendU16(append(e.b, id), *v)
		}
	}
	u32 := func(id byte, v *uint32) {
		if v != nil && allowed.has(uint32(id)) {
			e.b = appendU32(append(e.b, id), *v)
		}
	}
	str := func(id byte, v, what string) {
		if v != "" && allowed.has(uint32(id)) {
			e.b = append(e.b, id)
			e.str(what, v)
		}
	}
	bin := func(id byte, v []byte, what string) {
		if v != nil && allowed.has(uint32(id)) {
			e.b = append(e.b, id)
			e.bin(what, v)
		}
	}
	u8(propPayloadFormat, p.PayloadFormat)
	u32(propMessageExpiry, p.MessageExpiry)
	str(propContentType, p.ContentType, "content type")
	str(propResponseTopic, p.ResponseTopic, "response topic")
	bin(propCorrelationData, p.CorrelationData, "correlation data")
	if allowed.has(propSubscriptionID) {
		for _, id := range p.SubscriptionIDs {
			if id == 0 || id > maxRemaining {
				e.failf("subscription identifier %d is outside 1..268435455", id)
				return
			}
			e.b = appendVarint(append(e.b, propSubscriptionID), id)
		}
	}
	u32(propSessionExpiry, p.SessionExpiry)
	str(propAssignedClientID, p.AssignedClientID, "assigned client identifier")
	u16(propServerKeepAlive, p.ServerKeepAlive)
	str(propAuthMethod, p.AuthMethod, "authentication method")
	bin(propAuthData, p.AuthData, "authentication data")
	u8(propRequestProblemInfo, p.RequestProblemInfo)
	u32(propWillDelay, p.WillDelay)
	u8(propRequestResponseInfo, p.RequestResponseInfo)
	str(propResponseInfo, p.ResponseInfo, "response information")
	str(propServerReference, p.ServerReference, "server reference")
	str(propReasonString, p.ReasonString, "reason string")
	u16(propReceiveMaximum, p.ReceiveMaximum)
	u16(propTopicAliasMaximum, p.TopicAliasMaximum)
	u16(propTopicAlias, p.TopicAlias)
	u8(propMaximumQoS, p.MaximumQoS)
	u8(propRetainAvailable, p.RetainAvailable)
	u32(propMaximumPacketSize, p.MaximumPacketSize)
	u8(propWildcardSubAvailable, p.WildcardSubAvailable)
	u8(propSubIDAvailable, p.SubIDAvailable)
	u8(propSharedSubAvailable, p.SharedSubAvailable)
	if allowed.has(propUser) {
		for _, u := range p.User {
			e.b = append(e.b, propUser)
			e.str("user property key", u.Key)
			e.str("user property value", u.Value)
		}
	}
}
