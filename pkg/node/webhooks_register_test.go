package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.golang/paho"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// registerModService answers auth_on_register(_m5) with the modifiers kept for the
// client id, as a user's webhook service would, and records on_session_expired.
type registerModService struct {
	mods    map[string]string // client_id -> "modifiers" JSON
	mu      sync.Mutex
	expired []string
}

func (s *registerModService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ClientID string `json:"client_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	switch r.Header.Get("vernemq-hook") {
	case "auth_on_register", "auth_on_register_m5":
		if m, ok := s.mods[body.ClientID]; ok {
			io.WriteString(w, `{"result":"ok","modifiers":`+m+`}`)
			return
		}
		io.WriteString(w, `{"result":"ok"}`)
	case "on_session_expired":
		s.mu.Lock()
		s.expired = append(s.expired, body.ClientID)
		s.mu.Unlock()
		io.WriteString(w, `{}`)
	default:
		io.WriteString(w, `{"result":"ok"}`)
	}
}

func (s *registerModService) hasExpired(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.expired {
		if e == id {
			return true
		}
	}
	return false
}

// auth_on_register_m5 modifiers from a webhook change the session as VerneMQ's FSM does:
// properties.p_session_expiry_interval replaces the client's, fc_receive_max_broker and
// topic_alias_max are announced in CONNACK and enforced, max_message_size bounds what the
// client may send, max_connection_lifetime ends the connection with 0xA0, and a bad
// modifier refuses the client.
func TestWebhooksRegisterM5Modifiers(t *testing.T) {
	svc := &registerModService{mods: map[string]string{
		"short":  `{"properties":{"p_session_expiry_interval":1}}`,
		"caps":   `{"fc_receive_max_broker":7,"topic_alias_max":5,"max_message_size":256}`,
		"life":   `{"max_connection_lifetime":1}`,
		"badmax": `{"fc_receive_max_broker":0}`,
		"q2":     `{"max_offline_messages":2}`,
		"upq":    `{"upgrade_qos":true}`,
		"retry1": `{"retry_interval":1000}`,
	}}
	hs := httptest.NewServer(svc)
	t.Cleanup(hs.Close)
	// allow_anonymous off: VerneMQ asks auth_on_register only then (vmq_mqtt5_fsm check_user).
	n, addr := startNode(t, append(webhookConf(hs.URL, "auth_on_register", "auth_on_register_m5", "auth_on_publish_m5",
		"auth_on_subscribe", "auth_on_subscribe_m5", "on_session_expired"), "allow_anonymous = off")...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Session expiry: both clients ask for an hour; the hook gives "short" one second.
	hour := uint32(3600)
	for _, id := range []string{"short", "long"} {
		c, _ := dialV5Opts(t, addr, id, true, &paho.ConnectProperties{SessionExpiryInterval: &hour})
		if _, err := c.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "keep/" + id, QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		c.c.Disconnect(&paho.Disconnect{})
	}
	eventually.True(t, 10*time.Second, "the modified session expires (on_session_expired)", func() bool { return svc.hasExpired("short") })
	if svc.hasExpired("long") {
		t.Fatal("the unmodified session (expiry 3600 s) expired too")
	}
	if _, ack := dialV5Opts(t, addr, "short", false, &paho.ConnectProperties{SessionExpiryInterval: &hour}); ack.SessionPresent {
		t.Fatal("the session with the modified expiry is still present")
	}
	if _, ack := dialV5Opts(t, addr, "long", false, &paho.ConnectProperties{SessionExpiryInterval: &hour}); !ack.SessionPresent {
		t.Fatal("the unmodified session is gone")
	}

	// max_offline_messages 2 (fifo): of 5 messages queued while q2 is away, it keeps the
	// first 2; the marker published after its return comes after whatever was kept.
	q2, _ := dialV5Opts(t, addr, "q2", true, &paho.ConnectProperties{SessionExpiryInterval: &hour})
	if _, err := q2.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "q/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	q2.c.Disconnect(&paho.Disconnect{})
	// Offline first: messages queued while the session is still online go to the store with it, unbounded.
	eventually.True(t, eventually.Wait, "q2 offline", func() bool {
		s := n.Broker.Session(idOf("q2"))
		return s != nil && !s.Online()
	})
	qpub, _ := dialV5Opts(t, addr, "qpub", true, nil)
	for i := range 5 {
		if _, err := qpub.c.Publish(ctx, &paho.Publish{Topic: "q/x", QoS: 1, Payload: []byte{byte('0' + i)}}); err != nil {
			t.Fatal(err)
		}
	}
	q2, _ = dialV5Opts(t, addr, "q2", false, &paho.ConnectProperties{SessionExpiryInterval: &hour})
	if _, err := qpub.c.Publish(ctx, &paho.Publish{Topic: "q/end", QoS: 1, Payload: []byte("e")}); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, eventually.Wait, "the marker after q2's return", func() bool {
		return slices.Contains(payloads(q2.received()), "q/end=e")
	})
	if got := payloads(q2.received()); !slices.Equal(got, []string{"q/x=0", "q/x=1", "q/end=e"}) {
		t.Fatalf("q2 (max_offline_messages 2) received %q, want the first 2 and the marker", got)
	}

	// upgrade_qos: a QoS 0 message reaches upq's QoS 1 subscription at QoS 1, and the plain
	// subscriber's at QoS 0.
	upq, _ := dialV5Opts(t, addr, "upq", true, nil)
	low, _ := dialV5Opts(t, addr, "low", true, nil)
	for _, c := range []*v5client{upq, low} {
		if _, err := c.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "u/#", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := qpub.c.Publish(ctx, &paho.Publish{Topic: "u/x", QoS: 0, Payload: []byte("u")}); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, eventually.Wait, "u/x at both", func() bool { return len(upq.received()) == 1 && len(low.received()) == 1 })
	if up, lo := upq.received()[0].QoS, low.received()[0].QoS; up != 1 || lo != 0 {
		t.Fatalf("QoS 0 publish delivered at QoS %d with upgrade_qos (want 1), %d without (want 0)", up, lo)
	}

	// retry_interval 1000 ms (the node's is 20 s): a 3.1.1 subscriber that does not
	// acknowledge gets the message again, DUP set, within seconds.
	raw := dial311(t, addr, "retry1", 30, nil)
	raw.send(t, &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "r/#", Options: packets.SubOptions{QoS: 1}}}})
	if _, ok := raw.read(t).(*packets.Suback); !ok {
		t.Fatal("no SUBACK")
	}
	if _, err := qpub.c.Publish(ctx, &paho.Publish{Topic: "r/x", QoS: 1, Payload: []byte("r")}); err != nil {
		t.Fatal(err)
	}
	first, ok := raw.read(t).(*packets.Publish)
	if !ok || first.Dup {
		t.Fatalf("first delivery %+v", first)
	}
	again, ok := raw.read(t).(*packets.Publish) // read waits 5 s at most
	if !ok || !again.Dup || again.PacketID != first.PacketID {
		t.Fatalf("resend %+v, want the same packet id with DUP", again)
	}

	// CONNACK carries the modified Receive Maximum and Topic Alias Maximum.
	caps, ack := dialV5Opts(t, addr, "caps", true, nil)
	if ack.Properties == nil || ack.Properties.ReceiveMaximum == nil || *ack.Properties.ReceiveMaximum != 7 ||
		ack.Properties.TopicAliasMaximum == nil || *ack.Properties.TopicAliasMaximum != 5 {
		t.Fatalf("CONNACK properties %+v, want Receive Maximum 7 and Topic Alias Maximum 5", ack.Properties)
	}
	plain, ack := dialV5Opts(t, addr, "plain", true, nil)
	if ack.Properties != nil && (ack.Properties.ReceiveMaximum != nil || ack.Properties.TopicAliasMaximum != nil) {
		t.Fatalf("a client without modifiers got %+v", ack.Properties)
	}
	// max_message_size 256: a 1 KiB publish closes that client only.
	big := make([]byte, 1024)
	if _, err := plain.c.Publish(ctx, &paho.Publish{Topic: "x", QoS: 1, Payload: big}); err != nil {
		t.Fatalf("a client without the modifier cannot publish 1 KiB: %v", err)
	}
	caps.c.Publish(ctx, &paho.Publish{Topic: "x", QoS: 0, Payload: big})
	caps.wantDisconnect(t, 0x95, "over its max_message_size (0x95 packet too large)")

	// max_connection_lifetime 1 s: DISCONNECT 0xA0 maximum connect time.
	life, _ := dialV5Opts(t, addr, "life", true, nil)
	life.wantDisconnect(t, 0xA0, "max_connection_lifetime over (0xA0 maximum connect time)")

	// An invalid modifier refuses the client (vmq_plugin_util refuses it).
	if _, ack := dialRaw(t, addr, &packets.Connect{ProtocolLevel: 5, ClientID: "badmax", CleanStart: true, KeepAlive: 30}); ack.ReasonCode == packets.Success {
		t.Fatal("a client with fc_receive_max_broker 0 was accepted")
	}
}

// wantDisconnect waits for the server's DISCONNECT with code; why says when it is due.
func (vc *v5client) wantDisconnect(t *testing.T, code byte, why string) {
	t.Helper()
	select {
	case d := <-vc.disc:
		if d.ReasonCode != code {
			t.Fatalf("%s: DISCONNECT 0x%02x, want 0x%02x", why, d.ReasonCode, code)
		}
	case <-time.After(eventually.Wait):
		t.Fatalf("no DISCONNECT within %v: %s", eventually.Wait, why)
	}
}
