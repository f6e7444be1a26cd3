package bridge

import (
	"context"
	"fmt"
	"net"
	"time"

	pahopackets "github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

// LocalListener is the listener name of a bridge's in-process connection to its own node;
// the bridge's auth plugin lets that connection (and only it) in, as VerneMQ's plugin API
// bypasses the auth hooks.
const LocalListener = "vmq_bridge"

// localRecvMax bounds the local deliveries the bridge holds unacknowledged while its
// buffer is full: the node then keeps the rest in the bridge session's queue.
const localRecvMax = 100

// localClient is the bridge's MQTT 5 connection to its own node over an in-process pipe
// served like any listener's connection: it subscribes to the out topics (No Local, so
// what the bridge itself publishes does not go back out) and publishes the in topics.
type localClient struct{ cl *paho.Client }

func connectLocal(ctx context.Context, nc net.Conn, clientID string, subs []paho.SubscribeOptions,
	onMsg func(pr paho.PublishReceived)) (*localClient, error) {
	cl := paho.NewClient(paho.ClientConfig{
		// One packet per write: the bridge acks deliveries while it publishes, and paho writes a
		// packet in several writes that another goroutine could interleave on a pipe (no writev).
		ClientID: clientID, Conn: pahopackets.NewThreadSafeConn(nc), EnableManualAcknowledgment: true,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			onMsg(pr)
			return true, nil
		}},
	})
	recvMax := uint16(localRecvMax)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cl.Connect(cctx, &paho.Connect{ClientID: clientID, CleanStart: true, KeepAlive: 0,
		Properties: &paho.ConnectProperties{ReceiveMaximum: &recvMax}}); err != nil {
		nc.Close()
		return nil, fmt.Errorf("local connection: %w", err)
	}
	if len(subs) > 0 {
		sa, err := cl.Subscribe(cctx, &paho.Subscribe{Subscriptions: subs})
		if err != nil {
			cl.Disconnect(&paho.Disconnect{})
			return nil, fmt.Errorf("local subscribe: %w", err)
		}
		for i, code := range sa.Reasons {
			if code >= 0x80 && i < len(subs) {
				cl.Disconnect(&paho.Disconnect{})
				return nil, fmt.Errorf("local subscribe to %q refused: reason code 0x%02X", subs[i].Topic, code)
			}
		}
	}
	return &localClient{cl: cl}, nil
}

func (l *localClient) publish(ctx context.Context, m Msg) error {
	_, err := l.cl.Publish(ctx, &paho.Publish{Topic: m.Topic, QoS: m.QoS, Retain: m.Retain, Payload: m.Payload})
	return err
}

func (l *localClient) done() <-chan struct{} { return l.cl.Done() }
func (l *localClient) close()                { l.cl.Disconnect(&paho.Disconnect{}) }
