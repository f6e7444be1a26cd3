package e2e

import (
	"context"
	"net"
	"testing"
	"time"

	pahopackets "github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// msg is one received application message, whatever the client library.
type msg struct {
	topic   string
	payload string
	qos     byte
	retain  bool
	subIDs  []int
}

// inbox buffers received messages for assertions.
type inbox chan msg

func newInbox() inbox { return make(inbox, 4096) }

func (b inbox) next(t *testing.T, d time.Duration) msg {
	t.Helper()
	select {
	case m := <-b:
		return m
	case <-time.After(d):
		t.Fatalf("no message within %v", d)
		return msg{}
	}
}

// none fails if a message arrives within d.
func (b inbox) none(t *testing.T, d time.Duration, why string) {
	t.Helper()
	select {
	case m := <-b:
		t.Fatalf("%s: got unexpected message %+v", why, m)
	case <-time.After(d):
	}
}

// pahoV3 connects a paho.mqtt.golang client at protocol level 3 or 4.
func pahoV3(t *testing.T, addr, id string, level uint, clean bool, in inbox) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetProtocolVersion(level).SetCleanSession(clean).SetAutoReconnect(false).
		SetConnectRetry(false).SetOrderMatters(true).SetConnectTimeout(3 * time.Second)
	o.SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
		in <- msg{topic: m.Topic(), payload: string(m.Payload()), qos: m.Qos(), retain: m.Retained()}
	})
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("paho v3 connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

// waitTok waits for a paho v3 token and fails on error or timeout.
func waitTok(t *testing.T, tok mqtt.Token, what string) {
	t.Helper()
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatalf("%s: timed out", what)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// v5client is a paho.golang client and the messages it received.
type v5client struct {
	*paho.Client
	in    inbox
	disco chan *paho.Disconnect
}

// pahoV5 connects a paho.golang v5 client; cp gets ClientID and KeepAlive if unset.
func pahoV5(t *testing.T, addr string, cp *paho.Connect) (*v5client, *paho.Connack) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	vc := &v5client{in: newInbox(), disco: make(chan *paho.Disconnect, 1)}
	vc.Client = paho.NewClient(paho.ClientConfig{
		Conn: pahopackets.NewThreadSafeConn(conn), // one packet per write: paho writes from several goroutines
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			m := msg{topic: pr.Packet.Topic, payload: string(pr.Packet.Payload), qos: pr.Packet.QoS, retain: pr.Packet.Retain}
			if pr.Packet.Properties != nil && pr.Packet.Properties.SubscriptionIdentifier != nil {
				m.subIDs = []int{*pr.Packet.Properties.SubscriptionIdentifier}
			}
			vc.in <- m
			return true, nil
		}},
		OnServerDisconnect: func(d *paho.Disconnect) {
			select {
			case vc.disco <- d:
			default:
			}
		},
		OnClientError: func(error) {},
	})
	if cp.KeepAlive == 0 {
		cp.KeepAlive = 30
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := vc.Connect(ctx, cp)
	if err != nil {
		conn.Close()
		t.Fatalf("paho v5 connect %q: %v", cp.ClientID, err)
	}
	t.Cleanup(func() {
		_ = vc.Disconnect(&paho.Disconnect{})
		conn.Close()
	})
	return vc, ack
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}
