package listener

import (
	"context"
	"crypto/tls"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsClient dials through a transport that records the client's TCP address
// and optionally writes a PROXY header first.
type wsClient struct {
	mu     sync.Mutex
	local  net.Addr
	header func(net.Conn) error
	tls    *tls.Config
}

func (w *wsClient) httpClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			w.mu.Lock()
			w.local = c.LocalAddr()
			w.mu.Unlock()
			if w.header != nil {
				if err := w.header(c); err != nil {
					c.Close()
					return nil, err
				}
			}
			if w.tls != nil {
				tc := tls.Client(c, w.tls)
				if err := tc.HandshakeContext(ctx); err != nil {
					c.Close()
					return nil, err
				}
				return tc, nil
			}
			return c, nil
		},
	}}
}

func (w *wsClient) dial(t *testing.T, url string, subprotocols ...string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if w.tls != nil {
		url = strings.Replace(url, "wss://", "ws://", 1) // TLS already in DialContext
	}
	return websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: w.httpClient(), Subprotocols: subprotocols})
}

func wsEcho(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageBinary, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	typ, got, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if typ != websocket.MessageBinary || string(got) != msg {
		t.Fatalf("got %v %q, want binary %q", typ, got, msg)
	}
}

func TestWebSocketRoundTrip(t *testing.T) {
	l, rec := start(t, Options{Type: "ws", Name: "web"})
	for _, proto := range []string{"mqtt", "mqttv3.1"} {
		wc := &wsClient{}
		c, _, err := wc.dial(t, "ws://"+l.Addr().String()+"/mqtt", proto)
		if err != nil {
			t.Fatal(err)
		}
		if c.Subprotocol() != proto {
			t.Fatalf("subprotocol = %q, want %q", c.Subprotocol(), proto)
		}
		wsEcho(t, c, "\x10\x0c\x00\x04MQTT")
		p := rec.next(t)
		if p.Type != "ws" || p.Listener != "ws/web" || p.Addr.String() != wc.local.String() {
			t.Fatalf("peer = %+v, want ws/web from %v", p, wc.local)
		}
		c.Close(websocket.StatusNormalClosure, "")
	}
	eventually.True(t, eventually.Wait, "Active 0", func() bool { return l.Stats().Active == 0 })
	if s := l.Stats(); s.Accepted != 2 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestWebSocketRejectsWithoutSubprotocolOrWrongPath(t *testing.T) {
	l, rec := start(t, Options{Type: "ws"})
	wc := &wsClient{}
	c, _, err := wc.dial(t, "ws://"+l.Addr().String()+"/mqtt")
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _, err = c.Read(ctx)
		if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
			t.Fatalf("no subprotocol: read err = %v, want policy violation close", err)
		}
	}
	_, resp, err := wc.dial(t, "ws://"+l.Addr().String()+"/other", "mqtt")
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("wrong path: err = %v resp = %v, want 404", err, resp)
	}
	rec.none(t)
	eventually.True(t, eventually.Wait, "Active 0", func() bool { return l.Stats().Active == 0 })
}

func TestWebSocketProxyProtocol(t *testing.T) {
	l, rec := start(t, Options{Type: "ws", ProxyProtocol: true, ProxyProtocolUseCNAsUsername: true})
	wc := &wsClient{header: func(c net.Conn) error {
		_, err := proxyHeader(t, 2, "203.0.113.99:7000", "device-42", true).WriteTo(c)
		return err
	}}
	c, _, err := wc.dial(t, "ws://"+l.Addr().String()+"/mqtt", "mqtt")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	wsEcho(t, c, "hi")
	p := rec.next(t)
	if p.Addr.String() != "203.0.113.99:7000" || p.CN != "device-42" || !p.CNAsUsername {
		t.Fatalf("peer = %+v", p)
	}
}

func TestWSSClientCertAndStop(t *testing.T) {
	p := newPKI(t)
	o := sslOptions(p)
	o.Type, o.RequireCertificate, o.UseIdentityAsUsername = "wss", true, true
	l, rec := start(t, o)
	wc := &wsClient{tls: p.clientTLS(&p.client)}
	c, _, err := wc.dial(t, "wss://"+l.Addr().String()+"/mqtt", "mqtt")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	wsEcho(t, c, "secure")
	peer := rec.next(t)
	if peer.Type != "wss" || peer.CN != "device-42" || !peer.CNAsUsername || peer.Addr.String() != wc.local.String() {
		t.Fatalf("peer = %+v", peer)
	}
	// Upgraded connections survive Stop; CloseConnections ends them.
	if err := l.Stop(); err != nil {
		t.Fatal(err)
	}
	wsEcho(t, c, "after stop")
	l.CloseConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("read after CloseConnections = %v, want connection closed", err)
	}
	eventually.True(t, eventually.Wait, "Active 0", func() bool { return l.Stats().Active == 0 })
}
