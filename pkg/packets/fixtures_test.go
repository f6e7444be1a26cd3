package packets

// Fixture is one packet in wire form and decoded form, for symmetric
// Decode/Encode tests here and for other packages' tests. Version is the
// protocol level the bytes are encoded in (CONNECT decodes at session level 0).
type Fixture struct {
	Name    string
	Version byte
	Bytes   []byte
	Packet  Packet
}

// ErrorFixture is a wire packet that must be rejected with Code when read
// at session protocol level Version.
type ErrorFixture struct {
	Name    string
	Version byte
	Bytes   []byte
	Code    ReasonCode
}

func ptr[T any](v T) *T { return &v }

// Fixtures covers every packet type for v3.1.1 and v5 (with properties) and
// the v3.1 CONNECT. Bytes were written by hand from the specifications.
var Fixtures = []Fixture{
	// MQTT 3.1
	{"v31 connect", V31, []byte{0x10, 0x10, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 0x02, 0, 60, 0, 2, 'i', 'd'},
		&Connect{ProtocolName: "MQIsdp", ProtocolLevel: V31, CleanStart: true, KeepAlive: 60, ClientID: "id"}},
	{"v31 bridge connect", V31, []byte{0x10, 0x10, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 0x83, 0x00, 0, 60, 0, 2, 'i', 'd'},
		&Connect{ProtocolName: "MQIsdp", ProtocolLevel: V31Bridge, KeepAlive: 60, ClientID: "id"}},
	{"v31 connack", V31, []byte{0x20, 2, 0, 2}, &Connack{ReasonCode: ConnRefusedIdentifier}},
	{"v31 subscribe", V31, []byte{0x82, 6, 0, 7, 0, 1, 'a', 1},
		&Subscribe{PacketID: 7, Subscriptions: []Subscription{{Filter: "a", Options: SubOptions{QoS: 1}}}}},

	// MQTT 3.1.1
	{"v311 connect minimal", V311, []byte{0x10, 0x0F, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 3, 'a', 'b', 'c'},
		&Connect{ProtocolName: "MQTT", ProtocolLevel: V311, CleanStart: true, KeepAlive: 60, ClientID: "abc"}},
	{"v311 connect will+credentials", V311, []byte{0x10, 0x1E, 0, 4, 'M', 'Q', 'T', 'T', 4, 0xEE, 0, 10,
		0, 2, 'c', '1', 0, 3, 'w', '/', 't', 0, 3, 'b', 'y', 'e', 0, 1, 'u', 0, 1, 'p'},
		&Connect{ProtocolName: "MQTT", ProtocolLevel: V311, CleanStart: true, KeepAlive: 10, ClientID: "c1",
			Will:     &Will{Topic: "w/t", Payload: []byte("bye"), QoS: 1, Retain: true},
			Username: ptr("u"), Password: []byte("p")}},
	{"v311 bridge connect", V311, []byte{0x10, 0x0F, 0, 4, 'M', 'Q', 'T', 'T', 0x84, 0x02, 0, 60, 0, 3, 'a', 'b', 'c'},
		&Connect{ProtocolName: "MQTT", ProtocolLevel: V311Bridge, CleanStart: true, KeepAlive: 60, ClientID: "abc"}},
	{"v311 connack session present", V311, []byte{0x20, 2, 1, 0}, &Connack{SessionPresent: true}},
	{"v311 connack not authorized", V311, []byte{0x20, 2, 0, 5}, &Connack{ReasonCode: ConnRefusedNotAuthorized}},
	{"v311 publish qos0", V311, []byte{0x30, 7, 0, 3, 'a', '/', 'b', 'h', 'i'},
		&Publish{Topic: "a/b", Payload: []byte("hi")}},
	{"v311 publish qos1 dup retain", V311, []byte{0x3B, 6, 0, 1, 't', 0, 10, 'x'},
		&Publish{Dup: true, QoS: 1, Retain: true, Topic: "t", PacketID: 10, Payload: []byte("x")}},
	{"v311 publish qos2 empty", V311, []byte{0x34, 5, 0, 1, 't', 0, 1},
		&Publish{QoS: 2, Topic: "t", PacketID: 1}},
	{"v311 puback", V311, []byte{0x40, 2, 0, 10}, &Ack{Kind: PUBACK, PacketID: 10}},
	{"v311 pubrec", V311, []byte{0x50, 2, 0, 10}, &Ack{Kind: PUBREC, PacketID: 10}},
	{"v311 pubrel", V311, []byte{0x62, 2, 0, 10}, &Ack{Kind: PUBREL, PacketID: 10}},
	{"v311 pubcomp", V311, []byte{0x70, 2, 0, 10}, &Ack{Kind: PUBCOMP, PacketID: 10}},
	{"v311 subscribe", V311, []byte{0x82, 12, 0, 1, 0, 3, 'a', '/', '#', 1, 0, 1, 'b', 2},
		&Subscribe{PacketID: 1, Subscriptions: []Subscription{
			{Filter: "a/#", Options: SubOptions{QoS: 1}}, {Filter: "b", Options: SubOptions{QoS: 2}}}}},
	{"v311 suback", V311, []byte{0x90, 5, 0, 1, 1, 2, 0x80},
		&Suback{PacketID: 1, ReasonCodes: []ReasonCode{GrantedQoS1, GrantedQoS2, UnspecifiedError}}},
	{"v311 unsubscribe", V311, []byte{0xA2, 10, 0, 2, 0, 3, 'a', '/', '#', 0, 1, 'b'},
		&Unsubscribe{PacketID: 2, Filters: []string{"a/#", "b"}}},
	{"v311 unsuback", V311, []byte{0xB0, 2, 0, 2}, &Unsuback{PacketID: 2}},
	{"v311 pingreq", V311, []byte{0xC0, 0}, &Pingreq{}},
	{"v311 pingresp", V311, []byte{0xD0, 0}, &Pingresp{}},
	{"v311 disconnect", V311, []byte{0xE0, 0}, &Disconnect{}},

	// MQTT 5.0
	{"v5 connect minimal", V5, []byte{0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60, 0, 0, 3, 'a', 'b', 'c'},
		&Connect{ProtocolName: "MQTT", ProtocolLevel: V5, CleanStart: true, KeepAlive: 60, ClientID: "abc"}},
	{"v5 connect props will credentials", V5, []byte{0x10, 0x32, 0, 4, 'M', 'Q', 'T', 'T', 5, 0xC6, 0, 30,
		15, 0x11, 0, 0, 0, 120, 0x21, 0, 20, 0x26, 0, 1, 'a', 0, 1, 'b',
		0, 2, 'v', '5',
		7, 0x01, 1, 0x18, 0, 0, 0, 5,
		0, 2, 'l', 'w', 0, 1, 'x',
		0, 1, 'u', 0, 0},
		&Connect{ProtocolName: "MQTT", ProtocolLevel: V5, CleanStart: true, KeepAlive: 30, ClientID: "v5",
			Props: &Properties{SessionExpiry: ptr[uint32](120), ReceiveMaximum: ptr[uint16](20),
				User: []UserProperty{{"a", "b"}}},
			Will: &Will{Topic: "lw", Payload: []byte("x"),
				Props: &Properties{PayloadFormat: ptr[byte](1), WillDelay: ptr[uint32](5)}},
			Username: ptr("u"), Password: []byte{}}},
	{"v5 connack props", V5, []byte{0x20, 0x0E, 0, 0, 11, 0x12, 0, 3, 'x', 'y', 'z', 0x22, 0, 10, 0x24, 1},
		&Connack{Props: &Properties{AssignedClientID: "xyz", TopicAliasMaximum: ptr[uint16](10), MaximumQoS: ptr[byte](1)}}},
	{"v5 connack not authorized", V5, []byte{0x20, 3, 0, 0x87, 0}, &Connack{ReasonCode: NotAuthorized}},
	{"v5 publish qos1 all props", V5, []byte{0x32, 0x35, 0, 3, 'a', '/', 'b', 0, 5,
		40, 0x01, 1, 0x02, 0, 0, 0, 60, 0x03, 0, 4, 't', 'e', 'x', 't', 0x08, 0, 3, 'r', '/', '1',
		0x09, 0, 2, 0xCA, 0xFE, 0x0B, 1, 0x0B, 0x80, 0x01, 0x23, 0, 2, 0x26, 0, 1, 'k', 0, 1, 'v',
		'h', 'e', 'l', 'l', 'o'},
		&Publish{QoS: 1, Topic: "a/b", PacketID: 5, Payload: []byte("hello"), Props: &Properties{
			PayloadFormat: ptr[byte](1), MessageExpiry: ptr[uint32](60), ContentType: "text",
			ResponseTopic: "r/1", CorrelationData: []byte{0xCA, 0xFE}, SubscriptionIDs: []uint32{1, 128},
			TopicAlias: ptr[uint16](2), User: []UserProperty{{"k", "v"}}}}},
	{"v5 publish alias only", V5, []byte{0x30, 7, 0, 0, 3, 0x23, 0, 7, 'p'},
		&Publish{Payload: []byte("p"), Props: &Properties{TopicAlias: ptr[uint16](7)}}},
	{"v5 publish qos0", V5, []byte{0x30, 0x0B, 0, 3, 'a', '/', 'b', 0, 'h', 'e', 'l', 'l', 'o'},
		&Publish{Topic: "a/b", Payload: []byte("hello")}},
	{"v5 puback short", V5, []byte{0x40, 2, 0, 1}, &Ack{Kind: PUBACK, PacketID: 1}},
	{"v5 puback reason", V5, []byte{0x40, 3, 0, 1, 0x10}, &Ack{Kind: PUBACK, PacketID: 1, ReasonCode: NoMatchingSubscribers}},
	{"v5 pubrec reason props", V5, []byte{0x50, 0x0B, 0, 2, 0x80, 7, 0x1F, 0, 4, 'o', 'o', 'p', 's'},
		&Ack{Kind: PUBREC, PacketID: 2, ReasonCode: UnspecifiedError, Props: &Properties{ReasonString: "oops"}}},
	{"v5 pubrel not found", V5, []byte{0x62, 3, 0, 2, 0x92}, &Ack{Kind: PUBREL, PacketID: 2, ReasonCode: PacketIDNotFound}},
	{"v5 pubcomp", V5, []byte{0x70, 2, 0, 2}, &Ack{Kind: PUBCOMP, PacketID: 2}},
	{"v5 subscribe options props", V5, []byte{0x82, 0x1F, 0, 3, 9, 0x0B, 5, 0x26, 0, 1, 'a', 0, 1, 'b',
		0, 3, 'a', '/', '+', 0x2D, 0, 10, '$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 'x', 0x02},
		&Subscribe{PacketID: 3, Props: &Properties{SubscriptionIDs: []uint32{5}, User: []UserProperty{{"a", "b"}}},
			Subscriptions: []Subscription{
				{Filter: "a/+", Options: SubOptions{QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2}},
				{Filter: "$share/g/x", Options: SubOptions{QoS: 2}}}}},
	{"v5 suback", V5, []byte{0x90, 6, 0, 3, 0, 1, 2, 0xA2},
		&Suback{PacketID: 3, ReasonCodes: []ReasonCode{GrantedQoS1, GrantedQoS2, WildcardSubsNotSupported}}},
	{"v5 unsubscribe props", V5, []byte{0xA2, 0x0F, 0, 4, 7, 0x26, 0, 1, 'k', 0, 1, 'v', 0, 3, 'a', '/', '+'},
		&Unsubscribe{PacketID: 4, Props: &Properties{User: []UserProperty{{"k", "v"}}}, Filters: []string{"a/+"}}},
	{"v5 unsuback", V5, []byte{0xB0, 5, 0, 4, 0, 0, 0x11},
		&Unsuback{PacketID: 4, ReasonCodes: []ReasonCode{Success, NoSubscriptionExisted}}},
	{"v5 pingreq", V5, []byte{0xC0, 0}, &Pingreq{}},
	{"v5 pingresp", V5, []byte{0xD0, 0}, &Pingresp{}},
	{"v5 disconnect normal", V5, []byte{0xE0, 0}, &Disconnect{}},
	{"v5 disconnect reason only", V5, []byte{0xE0, 1, 0x8E}, &Disconnect{ReasonCode: SessionTakenOver}},
	{"v5 disconnect with will props", V5, []byte{0xE0, 0x0D, 0x04, 11, 0x11, 0, 0, 0, 0, 0x1F, 0, 3, 'b', 'y', 'e'},
		&Disconnect{ReasonCode: DisconnectWithWill, Props: &Properties{SessionExpiry: ptr[uint32](0), ReasonString: "bye"}}},
	{"v5 auth empty", V5, []byte{0xF0, 0}, &Auth{}},
	{"v5 auth continue", V5, []byte{0xF0, 0x10, 0x18, 14, 0x15, 0, 5, 'S', 'C', 'R', 'A', 'M', 0x16, 0, 3, 1, 2, 3},
		&Auth{ReasonCode: ContinueAuthentication, Props: &Properties{AuthMethod: "SCRAM", AuthData: []byte{1, 2, 3}}}},
}

// ErrorFixtures are malformed or forbidden packets with the reason code the
// decoder must report.
var ErrorFixtures = []ErrorFixture{
	{"remaining length 5 bytes", V311, []byte{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}, MalformedPacket},
	{"reserved type 0", V311, []byte{0x00, 0}, MalformedPacket},
	{"subscribe flags 0", V311, []byte{0x80, 6, 0, 1, 0, 1, 'a', 0}, MalformedPacket},
	{"pubrel flags 0", V311, []byte{0x60, 2, 0, 1}, MalformedPacket},
	{"unsubscribe flags 0", V5, []byte{0xA0, 6, 0, 1, 0, 0, 1, 'a'}, MalformedPacket},
	{"puback flags set", V311, []byte{0x41, 2, 0, 1}, MalformedPacket},
	{"publish qos 3", V311, []byte{0x36, 5, 0, 1, 't', 0, 1}, MalformedPacket},
	{"v5 publish qos0 dup", V5, []byte{0x38, 4, 0, 1, 't', 0}, ProtocolError},
	{"publish qos1 packet id 0", V311, []byte{0x32, 5, 0, 1, 't', 0, 0}, ProtocolError},
	{"publish wildcard topic", V311, []byte{0x30, 3, 0, 1, '#'}, TopicNameInvalid},
	{"publish empty topic v311", V311, []byte{0x30, 2, 0, 0}, TopicNameInvalid},
	{"publish bad utf8 topic", V311, []byte{0x30, 4, 0, 2, 0xC3, 0x28}, MalformedPacket},
	{"publish surrogate topic", V311, []byte{0x30, 5, 0, 3, 0xED, 0xA0, 0x80}, MalformedPacket},
	{"publish U+0000 topic", V311, []byte{0x30, 4, 0, 2, 'a', 0}, MalformedPacket},
	{"v5 publish empty topic no alias", V5, []byte{0x30, 3, 0, 0, 0}, ProtocolError},
	{"v5 publish topic alias 0", V5, []byte{0x30, 7, 0, 1, 't', 3, 0x23, 0, 0}, TopicAliasInvalid},
	{"v5 publish duplicate property", V5, []byte{0x30, 8, 0, 1, 't', 4, 0x01, 0, 0x01, 0}, ProtocolError},
	{"v5 publish property not allowed", V5, []byte{0x30, 9, 0, 1, 't', 5, 0x11, 0, 0, 0, 1}, ProtocolError},
	{"v5 publish unknown property", V5, []byte{0x30, 6, 0, 1, 't', 2, 0x04, 0}, MalformedPacket},
	{"v5 publish payload format 2", V5, []byte{0x30, 6, 0, 1, 't', 2, 0x01, 2}, ProtocolError},
	{"v5 property length past end", V5, []byte{0x30, 5, 0, 1, 't', 5, 0}, MalformedPacket},
	{"connect unknown level", 0, []byte{0x10, 0x0F, 0, 4, 'M', 'Q', 'T', 'T', 6, 0x02, 0, 60, 0, 3, 'a', 'b', 'c'}, UnsupportedProtocolVersion},
	{"connect MQIsdp level 4", 0, []byte{0x10, 0x10, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 4, 0x02, 0, 60, 0, 2, 'i', 'd'}, UnsupportedProtocolVersion},
	{"connect unknown name", 0, []byte{0x10, 0x0F, 0, 4, 'M', 'Q', 'T', 'X', 4, 0x02, 0, 60, 0, 3, 'a', 'b', 'c'}, UnsupportedProtocolVersion},
	{"connect reserved flag", 0, []byte{0x10, 0x0F, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x03, 0, 60, 0, 3, 'a', 'b', 'c'}, MalformedPacket},
	{"connect will qos without will", 0, []byte{0x10, 0x0F, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x0A, 0, 60, 0, 3, 'a', 'b', 'c'}, MalformedPacket},
	{"connect will qos 3", 0, []byte{0x10, 0x0F, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x1E, 0, 60, 0, 3, 'a', 'b', 'c'}, MalformedPacket},
	{"v311 connect password without username", 0, []byte{0x10, 0x0F, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x42, 0, 60, 0, 3, 'a', 'b', 'c'}, ProtocolError},
	{"connect truncated payload", 0, []byte{0x10, 0x0E, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 3, 'a', 'b'}, MalformedPacket},
	{"v5 connect receive maximum 0", 0, []byte{0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60, 3, 0x21, 0, 0, 0, 0}, ProtocolError},
	{"first packet not connect", 0, []byte{0x40, 2, 0, 1}, ProtocolError},
	{"puback extra bytes v311", V311, []byte{0x40, 3, 0, 1, 0}, MalformedPacket},
	{"puback truncated", V311, []byte{0x40, 1, 0}, MalformedPacket},
	{"puback packet id 0", V311, []byte{0x40, 2, 0, 0}, ProtocolError},
	{"v5 puback invalid reason", V5, []byte{0x40, 3, 0, 1, 0x92}, ProtocolError},
	{"connack reserved flags", V311, []byte{0x20, 2, 2, 0}, MalformedPacket},
	{"connack reserved return code", V311, []byte{0x20, 2, 0, 6}, ProtocolError},
	{"subscribe no topics", V311, []byte{0x82, 2, 0, 1}, ProtocolError},
	{"v311 subscribe qos 3", V311, []byte{0x82, 6, 0, 1, 0, 1, 'a', 3}, MalformedPacket},
	{"v311 subscribe reserved bits", V311, []byte{0x82, 6, 0, 1, 0, 1, 'a', 4}, MalformedPacket},
	{"v5 subscribe reserved option bits", V5, []byte{0x82, 7, 0, 1, 0, 0, 1, 'a', 0x40}, MalformedPacket},
	{"v5 subscribe retain handling 3", V5, []byte{0x82, 7, 0, 1, 0, 0, 1, 'a', 0x30}, ProtocolError},
	{"v5 subscribe subscription id 0", V5, []byte{0x82, 9, 0, 1, 2, 0x0B, 0, 0, 1, 'a', 0}, ProtocolError},
	{"v5 subscribe two subscription ids", V5, []byte{0x82, 11, 0, 1, 4, 0x0B, 1, 0x0B, 2, 0, 1, 'a', 0}, ProtocolError},
	{"v5 shared subscription no local", V5, []byte{0x82, 16, 0, 1, 0, 0, 10, '$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 'x', 0x04}, ProtocolError},
	{"unsubscribe no topics", V311, []byte{0xA2, 2, 0, 1}, ProtocolError},
	{"v311 suback invalid code", V311, []byte{0x90, 3, 0, 1, 3}, ProtocolError},
	{"auth before v5", V311, []byte{0xF0, 0}, MalformedPacket},
	{"v5 auth data without method", V5, []byte{0xF0, 6, 0x18, 4, 0x16, 0, 1, 1}, ProtocolError},
	{"pingreq with body", V311, []byte{0xC0, 1, 0}, MalformedPacket},
	{"v5 disconnect invalid reason", V5, []byte{0xE0, 1, 0x01}, ProtocolError},
	{"v311 disconnect with body", V311, []byte{0xE0, 1, 0}, MalformedPacket},
}
