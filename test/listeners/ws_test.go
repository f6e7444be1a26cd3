package listeners

import (
	"crypto/tls"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// pahoWS connects paho.mqtt.golang (MQTT 3.1.1) to url (ws:// or wss://) and
// delivers received messages to the returned channel.
func pahoWS(t *testing.T, url, id string, tlsCfg *tls.Config) (mqtt.Client, chan msg) {
	t.Helper()
	in := make(chan msg, 16)
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second)
	if tlsCfg != nil {
		o.SetTLSConfig(tlsCfg)
	}
	o.SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
		select {
		case in <- msg{m.Topic(), string(m.Payload())}:
		default:
		}
	})
	c := mqtt.NewClient(o)
	waitTok(t, c.Connect(), "connect "+url)
	t.Cleanup(func() { c.Disconnect(50) })
	return c, in
}

func waitTok(t *testing.T, tok mqtt.Token, what string) {
	t.Helper()
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatalf("%s: timed out", what)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func receive(t *testing.T, in chan msg, topic, payload string) {
	t.Helper()
	select {
	case m := <-in:
		if m.topic != topic || m.payload != payload {
			t.Fatalf("received %q on %q, want %q on %q", m.payload, m.topic, payload, topic)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%q on %s not received within 5s", payload, topic)
	}
}

// TestWebSocket: paho over ws:// and over wss:// with a client certificate whose
// CN is the username (the ACL lets only device-42 write devices/device-42/#).
func TestWebSocket(t *testing.T) {
	t.Parallel()
	n := startNode(t, deviceACL, map[string]string{
		"listener.ws.default":                   freeAddr(t),
		"listener.wss.default":                  freeAddr(t),
		"listener.wss.cafile":                   certs.CAFile,
		"listener.wss.certfile":                 certs.ServerCert,
		"listener.wss.keyfile":                  certs.ServerKey,
		"listener.wss.require_certificate":      "on",
		"listener.wss.use_identity_as_username": "on",
	})
	ws, in := pahoWS(t, "ws://"+n.addr("listener.ws.default")+"/mqtt", "ws-client", nil)
	waitTok(t, ws.Subscribe("probe/ws", 1, nil), "ws subscribe probe/ws")
	waitTok(t, ws.Subscribe("devices/#", 1, nil), "ws subscribe devices/#")
	waitTok(t, ws.Publish("probe/ws", 1, false, "over websocket"), "ws publish")
	receive(t, in, "probe/ws", "over websocket")

	wss, wssIn := pahoWS(t, "wss://"+n.addr("listener.wss.default")+"/mqtt", "wss-client", certs.tlsConfig("device-42"))
	waitTok(t, wss.Subscribe("devices/device-42/#", 1, nil), "wss subscribe")
	waitTok(t, wss.Publish("devices/device-42/ws", 1, false, "over secure websocket"), "wss publish")
	receive(t, wssIn, "devices/device-42/ws", "over secure websocket")
	receive(t, in, "devices/device-42/ws", "over secure websocket")

	// Without a client certificate the wss handshake is refused.
	o := mqtt.NewClientOptions().AddBroker("wss://" + n.addr("listener.wss.default") + "/mqtt").
		SetClientID("wss-nocert").SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(3 * time.Second).SetTLSConfig(certs.tlsConfig(""))
	c := mqtt.NewClient(o)
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		c.Disconnect(0)
		t.Fatal("wss without a client certificate connected, want refused (require_certificate = on)")
	}
}
