package listeners

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	pahopackets "github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

// msg is one received application message.
type msg struct{ topic, payload string }

// v5 is a paho.golang MQTT v5 client and what it received.
type v5 struct {
	*paho.Client
	conn net.Conn
	in   chan msg
}

// dialV5 connects a v5 client over conn (plain or TLS); username "" sends none.
func dialV5(conn net.Conn, id, username string) (*v5, error) {
	c := &v5{conn: conn, in: make(chan msg, 64)}
	c.Client = paho.NewClient(paho.ClientConfig{
		Conn: pahopackets.NewThreadSafeConn(conn), // one packet per write: paho writes from several goroutines
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			select {
			case c.in <- msg{pr.Packet.Topic, string(pr.Packet.Payload)}:
			default:
			}
			return true, nil
		}},
		OnClientError: func(error) {},
	})
	cp := &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: true}
	if username != "" {
		cp.Username, cp.UsernameFlag = username, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, cp); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// mustV5 connects a plain-TCP v5 client to addr and closes it at test end.
func mustV5(t *testing.T, addr, id string) *v5 {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c, err := dialV5(conn, id, "")
	if err != nil {
		t.Fatalf("connect %s to %s: %v", id, addr, err)
	}
	t.Cleanup(c.close)
	return c
}

// tlsV5 handshakes with cfg and connects a v5 client; the error is the
// handshake's or the CONNECT's.
func tlsV5(addr string, cfg *tls.Config, id, username string) (*v5, error) {
	d := &net.Dialer{Timeout: 3 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	return dialV5(conn, id, username)
}

func (c *v5) close() {
	_ = c.Disconnect(&paho.Disconnect{})
	_ = c.conn.Close()
}

func (c *v5) subscribe(t *testing.T, filter string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ack, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}})
	if err != nil {
		t.Fatalf("subscribe %s: %v", filter, err)
	}
	if len(ack.Reasons) != 1 || ack.Reasons[0] >= 0x80 {
		t.Fatalf("subscribe %s refused: %v", filter, ack.Reasons)
	}
}

// publish sends QoS 1 and returns the PUBACK reason code (0x87 = not authorized).
func (c *v5) publish(t *testing.T, topic, payload string) byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	pr, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(payload)})
	if pr == nil {
		t.Fatalf("publish %s: no PUBACK: %v", topic, err)
	}
	return pr.ReasonCode
}

// expect waits for a message with payload, skipping others.
func (c *v5) expect(t *testing.T, topic, payload string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-c.in:
			if m.payload == payload {
				if m.topic != topic {
					t.Fatalf("payload %q arrived on %q, want %q", payload, m.topic, topic)
				}
				return
			}
		case <-deadline:
			t.Fatalf("message %q on %s not received within %v", payload, topic, d)
		}
	}
}

// none fails if a message with payload arrives within d.
func (c *v5) none(t *testing.T, payload string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-c.in:
			if m.payload == payload {
				t.Fatalf("message %q on %s was delivered but must have been refused", payload, m.topic)
			}
		case <-deadline:
			return
		}
	}
}

// roundTrip proves a client still works: it subscribes to topic and publishes to it.
func (c *v5) roundTrip(t *testing.T, topic, payload string) {
	t.Helper()
	c.subscribe(t, topic)
	if rc := c.publish(t, topic, payload); rc >= 0x80 {
		t.Fatalf("publish %s: PUBACK 0x%02x", topic, rc)
	}
	c.expect(t, topic, payload, 5*time.Second)
}

// mosquittoPub runs mosquitto_pub with args and returns its combined output and error.
func mosquittoPub(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "mosquitto_pub", args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("mosquitto_pub %v did not finish within 10 s:\n%s", args, out)
	}
	return string(out), err
}

// expectClosed fails unless the server closes c within d; data sent before the close is ignored.
func expectClosed(t *testing.T, c net.Conn, d time.Duration, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 512)
	for i := 0; i < 100; i++ {
		_, err := c.Read(buf)
		if err == nil {
			continue // e.g. a TLS alert or an HTTP error body before the close
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: connection still open after %v", what, d)
		}
		return
	}
	t.Fatalf("%s: server kept sending instead of closing", what)
}

// refusedTLS fails unless the TLS connection with cfg is refused during or right after the handshake.
func refusedTLS(t *testing.T, addr string, cfg *tls.Config, what string) {
	t.Helper()
	c, err := tlsV5(addr, cfg, "refused-"+strings.ReplaceAll(what, " ", "-"), "")
	if err == nil {
		c.close()
		t.Fatalf("%s: connected, want the TLS handshake refused", what)
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		t.Fatalf("%s: the client rejected the server (%v); the test PKI is wrong", what, err)
	}
}

func splitHostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}
