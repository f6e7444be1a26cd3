package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// remote is the connection to the remote broker: paho.mqtt.golang for MQTT 3.1 and
// 3.1.1 (it speaks the try_private levels 0x83/0x84), paho.golang for MQTT 5.
type remote interface {
	// send publishes msgs in order and returns when each QoS 1/2 message is acknowledged
	// and each QoS 0 one written; refused counts v5 acknowledgements with a failure code.
	// An error means the connection failed and the batch must be sent again.
	send(ctx context.Context, msgs []Msg) (refused int, err error)
	// subscribe subscribes to the remote filters of the in and both topics.
	subscribe(ctx context.Context, subs []remoteSub) error
	lost() <-chan struct{}
	close()
}

type remoteSub struct {
	filter string
	qos    byte
}

// inbound receives each message from the remote broker; ack acknowledges it (QoS 1/2)
// and must be called once the message is published locally.
type inbound func(m Msg, ack func())

var errLost = errors.New("connection to the remote broker lost")

// dialRemote opens the TCP (tcp bridges) or TLS (ssl bridges) connection.
func dialRemote(ctx context.Context, c *Config) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if c.TLS != nil {
		td := tls.Dialer{NetDialer: &d, Config: c.TLS}
		return td.DialContext(ctx, c.Network, c.Addr)
	}
	return d.DialContext(ctx, c.Network, c.Addr)
}

func connectRemote(ctx context.Context, c *Config, in inbound) (remote, error) {
	if c.MQTTVersion == 5 {
		return connectV5(ctx, c, in)
	}
	return connectV3(ctx, c, in)
}

// --- MQTT 3.1 / 3.1.1 ---

type v3Remote struct {
	cl       mqtt.Client
	lostCh   chan struct{}
	lostOnce sync.Once
}

func connectV3(ctx context.Context, c *Config, in inbound) (remote, error) {
	r := &v3Remote{lostCh: make(chan struct{})}
	level := uint(c.MQTTVersion)
	if c.TryPrivate {
		level |= 0x80 // VerneMQ: 131 for 3.1, 132 for 3.1.1
	}
	scheme := "tcp"
	if c.TLS != nil {
		scheme = "ssl"
	}
	o := mqtt.NewClientOptions().AddBroker(scheme + "://" + c.Addr).
		SetClientID(c.ClientID).SetCleanSession(c.CleanSession).SetKeepAlive(c.KeepAlive).
		SetProtocolVersion(level).SetAutoReconnect(false).SetConnectRetry(false).SetResumeSubs(false).
		SetConnectTimeout(10 * time.Second).SetWriteTimeout(30 * time.Second).
		SetAutoAckDisabled(true).SetOrderMatters(true).
		SetCustomOpenConnectionFn(func(*url.URL, mqtt.ClientOptions) (net.Conn, error) { return dialRemote(ctx, c) }).
		SetConnectionLostHandler(func(mqtt.Client, error) { r.lostOnce.Do(func() { close(r.lostCh) }) }).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			in(Msg{Topic: m.Topic(), Payload: m.Payload(), QoS: m.Qos(), Retain: m.Retained()}, m.Ack)
		})
	if c.Username != nil {
		o.SetUsername(*c.Username)
	}
	if c.Password != nil {
		o.SetPassword(*c.Password)
	}
	r.cl = mqtt.NewClient(o)
	if err := waitToken(ctx, r.cl.Connect(), nil); err != nil {
		r.cl.Disconnect(0)
		return nil, err
	}
	return r, nil
}

func waitToken(ctx context.Context, t mqtt.Token, lost <-chan struct{}) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-lost:
		return errLost
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *v3Remote) subscribe(ctx context.Context, subs []remoteSub) error {
	if len(subs) == 0 {
		return nil
	}
	m := map[string]byte{}
	for _, s := range subs {
		m[s.filter] = s.qos
	}
	t := r.cl.SubscribeMultiple(m, nil)
	if err := waitToken(ctx, t, r.lostCh); err != nil {
		return err
	}
	for f, q := range t.(*mqtt.SubscribeToken).Result() {
		if q == 0x80 {
			return fmt.Errorf("remote broker refused the subscription to %q", f)
		}
	}
	return nil
}

func (r *v3Remote) send(ctx context.Context, msgs []Msg) (int, error) {
	toks := make([]mqtt.Token, len(msgs))
	for i, m := range msgs {
		toks[i] = r.cl.Publish(m.Topic, m.QoS, m.Retain, m.Payload)
	}
	for _, t := range toks {
		if err := waitToken(ctx, t, r.lostCh); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

func (r *v3Remote) lost() <-chan struct{} { return r.lostCh }
func (r *v3Remote) close()                { r.cl.Disconnect(100) }

// --- MQTT 5 ---

type v5Remote struct{ cl *paho.Client }

func connectV5(ctx context.Context, c *Config, in inbound) (remote, error) {
	nc, err := dialRemote(ctx, c)
	if err != nil {
		return nil, err
	}
	cl := paho.NewClient(paho.ClientConfig{
		ClientID: c.ClientID, Conn: packets.NewThreadSafeConn(nc), EnableManualAcknowledgment: true,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			p := pr.Packet
			in(Msg{Topic: p.Topic, Payload: p.Payload, QoS: p.QoS, Retain: p.Retain}, func() {
				if p.QoS > 0 {
					pr.Client.Ack(p)
				}
			})
			return true, nil
		}},
	})
	cp := &paho.Connect{ClientID: c.ClientID, KeepAlive: uint16(c.KeepAlive / time.Second), CleanStart: c.CleanSession}
	if !c.CleanSession {
		never := uint32(0xFFFFFFFF) // a persistent session, as cleansession = off asks in 3.1.1
		cp.Properties = &paho.ConnectProperties{SessionExpiryInterval: &never}
	}
	if c.Username != nil {
		cp.Username, cp.UsernameFlag = *c.Username, true
	}
	if c.Password != nil {
		cp.Password, cp.PasswordFlag = []byte(*c.Password), true
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ca, err := cl.Connect(cctx, cp)
	if err != nil {
		nc.Close()
		if ca != nil {
			return nil, fmt.Errorf("remote broker refused the connection: reason code 0x%02X %s", ca.ReasonCode, ca.Properties.ReasonString)
		}
		return nil, err
	}
	return &v5Remote{cl: cl}, nil
}

func (r *v5Remote) subscribe(ctx context.Context, subs []remoteSub) error {
	if len(subs) == 0 {
		return nil
	}
	s := &paho.Subscribe{}
	for _, sub := range subs {
		// No Local keeps the bridge's own publishes from coming back (no loop); Retain As
		// Published keeps the retain flag for the retain option of a topic.
		s.Subscriptions = append(s.Subscriptions, paho.SubscribeOptions{Topic: sub.filter, QoS: sub.qos, NoLocal: true, RetainAsPublished: true})
	}
	sa, err := r.cl.Subscribe(ctx, s)
	if err != nil {
		return err
	}
	for i, code := range sa.Reasons {
		if code >= 0x80 && i < len(subs) {
			return fmt.Errorf("remote broker refused the subscription to %q: reason code 0x%02X", subs[i].filter, code)
		}
	}
	return nil
}

// send publishes one message at a time: paho.golang offers no per-message status for
// asynchronous publishes, and publishing from several goroutines would lose the order.
func (r *v5Remote) send(ctx context.Context, msgs []Msg) (int, error) {
	refused := 0
	for _, m := range msgs {
		resp, err := r.cl.Publish(ctx, &paho.Publish{Topic: m.Topic, QoS: m.QoS, Retain: m.Retain, Payload: m.Payload})
		if err != nil {
			if (resp != nil && resp.ReasonCode >= 0x80) || errors.Is(err, paho.ErrInvalidArguments) {
				// The remote broker said no (0x87 not authorized, a QoS or retain it does not
				// support): sending it again would not help.
				refused++
				continue
			}
			return refused, err
		}
	}
	return refused, nil
}

func (r *v5Remote) lost() <-chan struct{} { return r.cl.Done() }
func (r *v5Remote) close() {
	r.cl.Disconnect(&paho.Disconnect{ReasonCode: 0})
}
