package packets

import "unsafe"

func decodePublish(d *decoder, header byte, v byte, into *Publish) *Publish {
	p := into
	if p == nil {
		p = new(Publish)
	}
	*p = Publish{
		Dup:    header&0x08 != 0,
		QoS:    header >> 1 & 0x03,
		Retain: header&0x01 != 0,
	}
	topic := d.rawStr("PUBLISH topic")
	if p.QoS > 0 {
		if p.PacketID = d.u16("packet identifier"); d.err == nil && p.PacketID == 0 {
			d.fail(ProtocolError, "PUBLISH QoS %d has packet identifier 0; use 1..65535", p.QoS)
		}
	} else if p.Dup && v == V5 {
		d.fail(ProtocolError, "PUBLISH QoS 0 must not set DUP")
	}
	if v == V5 {
		p.Props = d.props(propsPublish, "PUBLISH")
	}
	if d.err != nil {
		return nil
	}
	payload := d.b
	d.b = nil
	// One allocation holds topic and payload unless the buffer is already private.
	if !d.owned {
		buf := make([]byte, len(topic)+len(payload))
		copy(buf, topic)
		copy(buf[len(topic):], payload)
		topic, payload = buf[:len(topic)], buf[len(topic):]
	}
	if len(topic) > 0 {
		p.Topic = unsafe.String(&topic[0], len(topic))
	}
	if len(payload) > 0 {
		p.Payload = payload[:len(payload):len(payload)]
	}
	if v == V5 && p.Topic == "" && p.Props != nil && p.Props.TopicAlias != nil {
		return p // the topic comes from the alias
	}
	if err := checkTopicName(p.Topic, "PUBLISH topic"); err != nil {
		if v == V5 && p.Topic == "" {
			d.err = Errorf(ProtocolError, "PUBLISH has neither a topic name nor a topic alias")
		} else {
			d.err = err.(*Error)
		}
		return nil
	}
	return p
}

// encodePublish writes the variable header and payload and returns the fixed header flags.
func encodePublish(e *encoder, p *Publish, v byte) byte {
	if p.QoS > 2 {
		e.failf("PUBLISH QoS %d is above 2", p.QoS)
		return 0
	}
	if p.QoS > 0 && p.PacketID == 0 {
		e.failf("PUBLISH QoS %d needs a packet identifier other than 0", p.QoS)
		return 0
	}
	flags := p.QoS << 1
	if p.Dup {
		flags |= 0x08
	}
	if p.Retain {
		flags |= 0x01
	}
	e.str("PUBLISH topic", p.Topic)
	if p.QoS > 0 {
		e.b = appendU16(e.b, p.PacketID)
	}
	if v == V5 {
		e.props(p.Props, propsPublish)
	}
	e.b = append(e.b, p.Payload...)
	return flags
}
