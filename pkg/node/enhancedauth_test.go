package node

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	pahopackets "github.com/eclipse/paho.golang/packets"
	paho "github.com/eclipse/paho.golang/paho"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

const tokenMethod = "TOKEN-2STEP"

// authService is an on_auth_m5 webhook: a two-step challenge for method TOKEN-2STEP.
// CONNECT data "hello" gets the challenge (continue, 0x18); "answer:challenge" succeeds
// with "welcome"; a re-authentication "again" succeeds with "re-ok"; anything else is
// refused; another method is not its business (next).
type authService struct {
	mu     sync.Mutex
	bodies []map[string]any
}

func (s *authService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	s.bodies = append(s.bodies, body)
	s.mu.Unlock()
	props, _ := body["properties"].(map[string]any)
	data, _ := base64.StdEncoding.DecodeString(props["p_authentication_data"].(string))
	answer := func(code int, out string) {
		io.WriteString(w, `{"result":"ok","modifiers":{"reason_code":`+map[int]string{0: "0", 24: "24"}[code]+
			`,"properties":{"p_authentication_method":"`+tokenMethod+`","p_authentication_data":"`+b64s(out)+`"}}}`)
	}
	switch {
	case props["p_authentication_method"] != tokenMethod:
		io.WriteString(w, `{"result":"next"}`)
	case string(data) == "hello":
		answer(24, "challenge")
	case string(data) == "answer:challenge":
		answer(0, "welcome")
	case string(data) == "again":
		answer(0, "re-ok")
	default:
		io.WriteString(w, `{"result":{"error":"not_authorized"}}`)
	}
}

func (s *authService) all() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...)
}

// answerer is the Paho client side of TOKEN-2STEP: it answers the challenge.
type answerer struct{ answer string }

func (a *answerer) Authenticate(in *paho.Auth) *paho.Auth {
	data := a.answer
	if data == "" {
		data = "answer:" + string(in.Properties.AuthData)
	}
	return &paho.Auth{ReasonCode: 0x18, Properties: &paho.AuthProperties{AuthMethod: tokenMethod, AuthData: []byte(data)}}
}

func (a *answerer) Authenticated() {}

func dialAuth(t *testing.T, addr, id, method, data, answer string) (*paho.Client, *paho.Connack, chan *paho.Disconnect, error) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	disc := make(chan *paho.Disconnect, 1)
	c := paho.NewClient(paho.ClientConfig{Conn: pahopackets.NewThreadSafeConn(nc), AuthHandler: &answerer{answer: answer},
		OnServerDisconnect: func(d *paho.Disconnect) { disc <- d }})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cp := &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}
	if method != "" {
		cp.Properties = &paho.ConnectProperties{AuthMethod: method, AuthData: []byte(data)}
	}
	ack, err := c.Connect(ctx, cp)
	if err == nil {
		t.Cleanup(func() { c.Disconnect(&paho.Disconnect{}) })
	}
	return c, ack, disc, err
}

// Enhanced authentication with the Paho v5 client through the plugin chain (an on_auth_m5
// webhook): a continue round at CONNECT, re-authentication, and the refusals' reason codes.
func TestEnhancedAuthentication(t *testing.T) {
	svc := &authService{}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	n, addr := startNode(t, "plugins.vmq_webhooks = on", "vmq_webhooks.a.hook = on_auth_m5", "vmq_webhooks.a.endpoint = "+srv.URL)

	c, ack, disc, err := dialAuth(t, addr, "alice", tokenMethod, "hello", "")
	if err != nil || ack.ReasonCode != 0 || ack.Properties == nil || ack.Properties.AuthMethod != tokenMethod ||
		string(ack.Properties.AuthData) != "welcome" {
		t.Fatalf("two-round login: %v %+v, want CONNACK 0 with method %s and data welcome", err, ack, tokenMethod)
	}
	b := svc.all()
	if len(b) != 2 || b[0]["client_id"] != "alice" || b[0]["properties"].(map[string]any)["p_authentication_data"] != b64s("hello") ||
		b[1]["properties"].(map[string]any)["p_authentication_data"] != b64s("answer:challenge") {
		t.Fatalf("on_auth_m5 bodies %v", b)
	}
	if m := metricSum(n, "mqtt_auth_sent"); m != 1 {
		t.Errorf("mqtt_auth_sent = %v, want 1 (the challenge)", m)
	}

	// Re-authentication on the live connection (0x19), answered with AUTH 0x00.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Authenticate(ctx, &paho.Auth{ReasonCode: 0x19, Properties: &paho.AuthProperties{AuthMethod: tokenMethod, AuthData: []byte("again")}})
	// (Paho's AuthResponse drops the data; TestEnhancedAuthenticationBadSequences reads it raw.)
	if err != nil || !res.Success || res.ReasonCode != 0 {
		t.Fatalf("re-authentication: %v %+v", err, res)
	}
	if b := svc.all(); len(b) != 3 || b[2]["properties"].(map[string]any)["p_authentication_data"] != b64s("again") {
		t.Fatalf("re-authentication body %v", b[len(b)-1])
	}
	// A failed re-authentication ends the connection with DISCONNECT 0x87.
	res, err = c.Authenticate(ctx, &paho.Auth{ReasonCode: 0x19, Properties: &paho.AuthProperties{AuthMethod: tokenMethod, AuthData: []byte("bad")}})
	if err == nil && res.Success {
		t.Fatalf("failed re-authentication succeeded: %+v", res)
	}
	select {
	case d := <-disc:
		if d.ReasonCode != 0x87 {
			t.Fatalf("failed re-authentication: DISCONNECT %#x, want 0x87", d.ReasonCode)
		}
	case <-time.After(eventually.Wait):
		t.Fatal("no DISCONNECT after a failed re-authentication")
	}

	for _, c := range []struct {
		what, method, data, answer string
		code                       byte
	}{
		{"wrong answer to the challenge", tokenMethod, "hello", "answer:wrong", 0x87},
		{"refused at the first round", tokenMethod, "nope", "", 0x87},
		{"method no plugin takes", "SCRAM-SHA-1", "x", "", 0x8C},
	} {
		if _, ack, _, err := dialAuth(t, addr, "bob", c.method, c.data, c.answer); err == nil || ack == nil || ack.ReasonCode != c.code {
			t.Errorf("%s: %v %+v, want CONNACK %#x", c.what, err, ack, c.code)
		}
	}

	// Clients without an authentication method are unaffected; their AUTH is a protocol error.
	plain, ack, pdisc, err := dialAuth(t, addr, "plain", "", "", "")
	if err != nil || ack.ReasonCode != 0 || ack.Properties.AuthMethod != "" {
		t.Fatalf("plain client: %v %+v", err, ack)
	}
	plain.Authenticate(ctx, &paho.Auth{ReasonCode: 0x19, Properties: &paho.AuthProperties{AuthMethod: tokenMethod}})
	select {
	case d := <-pdisc:
		if d.ReasonCode != 0x82 {
			t.Fatalf("AUTH without enhanced authentication: DISCONNECT %#x, want 0x82", d.ReasonCode)
		}
	case <-time.After(eventually.Wait):
		t.Fatal("no DISCONNECT for an AUTH from a client that did not use enhanced authentication")
	}
	// Re-authentication with another method: 0x82 [MQTT-4.12.1-1].
	c2, _, disc2, err := dialAuth(t, addr, "carol", tokenMethod, "hello", "")
	if err != nil {
		t.Fatal(err)
	}
	c2.Authenticate(ctx, &paho.Auth{ReasonCode: 0x19, Properties: &paho.AuthProperties{AuthMethod: "OTHER", AuthData: []byte("again")}})
	select {
	case d := <-disc2:
		if d.ReasonCode != 0x82 {
			t.Fatalf("re-authentication with another method: DISCONNECT %#x, want 0x82", d.ReasonCode)
		}
	case <-time.After(eventually.Wait):
		t.Fatal("no DISCONNECT for a re-authentication with another method")
	}
}

// Bad sequences during the CONNECT exchange get CONNACK 0x82 (protocol error), with raw packets.
func TestEnhancedAuthenticationBadSequences(t *testing.T) {
	svc := &authService{}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	_, addr := startNode(t, "plugins.vmq_webhooks = on", "vmq_webhooks.a.hook = on_auth_m5", "vmq_webhooks.a.endpoint = "+srv.URL)
	for _, c := range []struct {
		what string
		next packets.Packet
	}{
		{"PINGREQ instead of AUTH", &packets.Pingreq{}},
		{"AUTH 0x19 instead of 0x18", &packets.Auth{ReasonCode: 0x19, Props: &packets.Properties{AuthMethod: tokenMethod}}},
		{"AUTH with another method", &packets.Auth{ReasonCode: 0x18, Props: &packets.Properties{AuthMethod: "OTHER"}}},
	} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(nc)
		write := func(p packets.Packet) {
			b, _ := packets.Encode(nil, p, packets.V5)
			nc.Write(b)
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		write(&packets.Connect{ProtocolName: "MQTT", ProtocolLevel: 5, CleanStart: true, ClientID: "raw",
			Props: &packets.Properties{AuthMethod: tokenMethod, AuthData: []byte("hello")}})
		p, err := packets.ReadPacket(br, packets.V5, 0)
		if a, ok := p.(*packets.Auth); err != nil || !ok || a.ReasonCode != packets.ContinueAuthentication ||
			string(a.Props.AuthData) != "challenge" {
			t.Fatalf("%s: first answer %v %#v, want AUTH 0x18 with the challenge", c.what, err, p)
		}
		write(c.next)
		p, err = packets.ReadPacket(br, packets.V5, 0)
		if ca, ok := p.(*packets.Connack); err != nil || !ok || ca.ReasonCode != packets.ProtocolError {
			t.Errorf("%s: got %v %#v, want CONNACK 0x82", c.what, err, p)
		}
		nc.Close()
	}

	// The whole exchange raw, checking what Paho does not show: CONNACK and AUTH 0x00 data.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	step := func(p packets.Packet) packets.Packet {
		t.Helper()
		b, _ := packets.Encode(nil, p, packets.V5)
		nc.Write(b)
		in, err := packets.ReadPacket(br, packets.V5, 0)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	step(&packets.Connect{ProtocolName: "MQTT", ProtocolLevel: 5, CleanStart: true, ClientID: "raw-ok",
		Props: &packets.Properties{AuthMethod: tokenMethod, AuthData: []byte("hello")}})
	in := step(&packets.Auth{ReasonCode: 0x18, Props: &packets.Properties{AuthMethod: tokenMethod, AuthData: []byte("answer:challenge")}})
	if ca, ok := in.(*packets.Connack); !ok || ca.ReasonCode != 0 || ca.Props.AuthMethod != tokenMethod || string(ca.Props.AuthData) != "welcome" {
		t.Fatalf("CONNACK %#v", in)
	}
	in = step(&packets.Auth{ReasonCode: 0x19, Props: &packets.Properties{AuthMethod: tokenMethod, AuthData: []byte("again")}})
	if a, ok := in.(*packets.Auth); !ok || a.ReasonCode != 0 || a.Props.AuthMethod != tokenMethod || string(a.Props.AuthData) != "re-ok" {
		t.Fatalf("re-authentication answer %#v, want AUTH 0x00 with method and data re-ok", in)
	}
	// AUTH 0x18 when no re-authentication is going on.
	in = step(&packets.Auth{ReasonCode: 0x18, Props: &packets.Properties{AuthMethod: tokenMethod, AuthData: []byte("again")}})
	if d, ok := in.(*packets.Disconnect); !ok || d.ReasonCode != packets.ProtocolError {
		t.Fatalf("unexpected AUTH 0x18: %#v, want DISCONNECT 0x82", in)
	}
}
