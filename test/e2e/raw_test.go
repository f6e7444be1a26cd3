package e2e

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// raw is a bare MQTT client over a TCP socket, built on pkg/packets, for
// protocol edge cases that real client libraries refuse to produce.
type raw struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
	v byte // protocol level used to encode and decode
}

func dialRaw(t *testing.T, addr string, v byte) *raw {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &raw{t: t, c: c, r: bufio.NewReader(c), v: v}
}

// send encodes and writes p.
func (r *raw) send(p packets.Packet) {
	r.t.Helper()
	b, err := packets.Encode(nil, p, r.v)
	if err != nil {
		r.t.Fatalf("encode %T: %v", p, err)
	}
	r.sendBytes(b)
}

func (r *raw) sendBytes(b []byte) {
	r.t.Helper()
	_ = r.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// read returns the next packet, or an error (a timeout is a net.Error).
func (r *raw) read(d time.Duration) (packets.Packet, error) {
	_ = r.c.SetReadDeadline(time.Now().Add(d))
	return packets.ReadPacket(r.r, r.v, 0)
}

// next reads a packet of type T, failing on anything else.
func next[T packets.Packet](r *raw, d time.Duration) T {
	r.t.Helper()
	p, err := r.read(d)
	if err != nil {
		r.t.Fatalf("waiting for %T: %v", *new(T), err)
	}
	v, ok := p.(T)
	if !ok {
		r.t.Fatalf("got %T %+v, want %T", p, p, *new(T))
	}
	return v
}

// connect sends c (protocol level from r.v when unset) and returns the CONNACK.
func (r *raw) connect(c *packets.Connect) *packets.Connack {
	r.t.Helper()
	if c.ProtocolLevel == 0 {
		c.ProtocolLevel = r.v
	}
	if c.ProtocolName == "" {
		c.ProtocolName = "MQTT"
		if c.ProtocolLevel == packets.V31 {
			c.ProtocolName = "MQIsdp"
		}
	}
	r.send(c)
	return next[*packets.Connack](r, 3*time.Second)
}

// mustConnect connects with a fresh clean session and requires success.
func (r *raw) mustConnect(id string) *packets.Connack {
	r.t.Helper()
	ack := r.connect(&packets.Connect{ClientID: id, CleanStart: true, KeepAlive: 60})
	if ack.ReasonCode != packets.Success {
		r.t.Fatalf("CONNACK %s: 0x%02X, want 0x00", id, byte(ack.ReasonCode))
	}
	return ack
}

// subscribe sends one SUBSCRIBE and returns the SUBACK codes.
func (r *raw) subscribe(id uint16, props *packets.Properties, subs ...packets.Subscription) []packets.ReasonCode {
	r.t.Helper()
	r.send(&packets.Subscribe{PacketID: id, Props: props, Subscriptions: subs})
	ack := next[*packets.Suback](r, 3*time.Second)
	if ack.PacketID != id {
		r.t.Fatalf("SUBACK packet id %d, want %d", ack.PacketID, id)
	}
	return ack.ReasonCodes
}

// publish sends p and completes its QoS flow; it returns the PUBACK/PUBREC reason.
func (r *raw) publish(p *packets.Publish) packets.ReasonCode {
	r.t.Helper()
	r.send(p)
	switch p.QoS {
	case 1:
		ack := next[*packets.Ack](r, 3*time.Second)
		if ack.Kind != packets.PUBACK || ack.PacketID != p.PacketID {
			r.t.Fatalf("got %s id %d, want PUBACK id %d", ack.Kind, ack.PacketID, p.PacketID)
		}
		return ack.ReasonCode
	case 2:
		rec := next[*packets.Ack](r, 3*time.Second)
		if rec.Kind != packets.PUBREC || rec.PacketID != p.PacketID {
			r.t.Fatalf("got %s id %d, want PUBREC id %d", rec.Kind, rec.PacketID, p.PacketID)
		}
		if rec.ReasonCode >= 0x80 {
			return rec.ReasonCode
		}
		r.send(&packets.Ack{Kind: packets.PUBREL, PacketID: p.PacketID})
		comp := next[*packets.Ack](r, 3*time.Second)
		if comp.Kind != packets.PUBCOMP {
			r.t.Fatalf("got %s, want PUBCOMP", comp.Kind)
		}
	}
	return packets.Success
}

// recvPublish reads the next PUBLISH and acknowledges it per its QoS.
func (r *raw) recvPublish(d time.Duration) *packets.Publish {
	r.t.Helper()
	p := next[*packets.Publish](r, d)
	r.ackPublish(p)
	return p
}

func (r *raw) ackPublish(p *packets.Publish) {
	r.t.Helper()
	switch p.QoS {
	case 1:
		r.send(&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID})
	case 2:
		r.send(&packets.Ack{Kind: packets.PUBREC, PacketID: p.PacketID})
		comp := next[*packets.Ack](r, 3*time.Second)
		if comp.Kind != packets.PUBREL {
			r.t.Fatalf("got %s, want PUBREL", comp.Kind)
		}
		r.send(&packets.Ack{Kind: packets.PUBCOMP, PacketID: p.PacketID})
	}
}

// expectNothing fails if any packet arrives within d.
func (r *raw) expectNothing(d time.Duration, why string) {
	r.t.Helper()
	p, err := r.read(d)
	if err == nil {
		r.t.Fatalf("%s: got unexpected %T %+v", why, p, p)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		r.t.Fatalf("%s: connection broke: %v", why, err)
	}
}

// expectDisconnect reads a v5 DISCONNECT with code, then requires the close.
func (r *raw) expectDisconnect(code packets.ReasonCode, d time.Duration) {
	r.t.Helper()
	dis := next[*packets.Disconnect](r, d)
	if dis.ReasonCode != code {
		r.t.Fatalf("DISCONNECT reason 0x%02X, want 0x%02X", byte(dis.ReasonCode), byte(code))
	}
	r.expectClosed(2 * time.Second)
}

// expectClosed requires the server to close the connection within d.
func (r *raw) expectClosed(d time.Duration) {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 256)
	for {
		n, err := r.r.Read(buf)
		if err == nil {
			r.t.Fatalf("expected close, got %d more bytes % X", n, buf[:n])
		}
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || !isTimeout(err) {
			return
		}
		r.t.Fatalf("connection still open after %v", d)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func ptr[T any](v T) *T { return &v }

func dialQuick(addr string) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, 300*time.Millisecond)
}
