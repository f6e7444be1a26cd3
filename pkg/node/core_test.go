package node

import (
	"bufio"
	"context"
	"fmt"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pahopackets "github.com/eclipse/paho.golang/packets"
	paho "github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/logging"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/store"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// startNode runs a node in-process on a free port with conf lines added to a quickstart conf.
func startNode(t testing.TB, extra ...string) (*Node, string) {
	t.Helper()
	n, _ := startNodeIn(t, t.TempDir(), extra...)
	return n, n.ListenerAddr("tcp")
}

// startNodeIn is startNode in dir, whose vernemq.conf it writes (the admin commands read it);
// it returns the conf's path. The one in-process start-up of this package's tests.
func startNodeIn(t testing.TB, dir string, extra ...string) (*Node, string) {
	t.Helper()
	acl := filepath.Join(dir, "vmq.acl")
	if err := os.WriteFile(acl, []byte("topic #\ntopic $SYS/#\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{
		"listener.tcp.default = 127.0.0.1:0",
		"allow_anonymous = on",
		"plugins.vmq_passwd = off",
		"plugins.vmq_acl = on",
		"vmq_acl.acl_file = " + acl,
		"platform_data_dir = " + dir,
		"log.console = off",
		"log.error = off",
	}
	// A key in extra replaces the base line.
	var lines []string
	for _, l := range base {
		k, _, _ := strings.Cut(l, " =")
		if !slices.ContainsFunc(extra, func(e string) bool { return strings.HasPrefix(e, k+" =") }) {
			lines = append(lines, l)
		}
	}
	conf := strings.Join(append(lines, extra...), "\n") + "\n"
	confPath := filepath.Join(dir, "vernemq.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Parse(strings.NewReader(conf), confPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The logger is built as the vernemq binary builds it (no output unless extra turns one on).
	logs, err := logging.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, logs.Logger)
	if err != nil {
		logs.Close()
		t.Fatal(err)
	}
	n.Logs = logs
	if err := n.Start(context.Background()); err != nil {
		logs.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Stop(ctx)
		logs.Close()
	})
	return n, confPath
}

type v5client struct {
	c    *paho.Client
	mu   sync.Mutex
	msgs []*paho.Publish
	disc chan *paho.Disconnect
}

func dialV5(t *testing.T, addr, id string, props *paho.ConnectProperties) (*v5client, *paho.Connack) {
	t.Helper()
	return dialV5Opts(t, addr, id, true, props)
}

func dialV5Opts(t *testing.T, addr, id string, clean bool, props *paho.ConnectProperties) (*v5client, *paho.Connack) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	vc := &v5client{disc: make(chan *paho.Disconnect, 1)}
	vc.c = paho.NewClient(paho.ClientConfig{
		Conn: pahopackets.NewThreadSafeConn(nc), // one packet per write: paho writes from several goroutines
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
			vc.mu.Lock()
			vc.msgs = append(vc.msgs, r.Packet)
			vc.mu.Unlock()
			return true, nil
		}},
		OnServerDisconnect: func(d *paho.Disconnect) { vc.disc <- d },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := vc.c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: clean, KeepAlive: 30, Properties: props})
	if err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	t.Cleanup(func() { vc.c.Disconnect(&paho.Disconnect{}) })
	return vc, ack
}

func (vc *v5client) received() []*paho.Publish {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	return append([]*paho.Publish(nil), vc.msgs...)
}

func idOf(clientID string) topics.SubscriberID { return topics.SubscriberID{ClientID: clientID} }

func storeKey(clientID string) store.SessionKey { return store.SessionKey{ClientID: clientID} }

// [MQTT-3.3.4-4] one message carries every matching subscription identifier; [MQTT-3.3.5-1] highest QoS.
func TestV5SubscriptionIdentifiersOverlap(t *testing.T) {
	_, addr := startNode(t)
	sub, _ := dialV5(t, addr, "sub", nil)
	ctx := context.Background()
	for i, f := range []string{"a/#", "a/+"} {
		id := i + 1
		if _, err := sub.c.Subscribe(ctx, &paho.Subscribe{
			Properties:    &paho.SubscribeProperties{SubscriptionIdentifier: &id},
			Subscriptions: []paho.SubscribeOptions{{Topic: f, QoS: byte(i + 1)}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	pub, _ := dialV5(t, addr, "pub", nil)
	if _, err := pub.c.Publish(ctx, &paho.Publish{Topic: "a/b", QoS: 2, Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, eventually.Wait, "delivery", func() bool { return len(sub.received()) > 0 })
	eventually.Never(t, eventually.Settle, "a second copy", func() bool { return len(sub.received()) > 1 })
	got := sub.received()
	if len(got) != 1 || got[0].QoS != 2 {
		t.Fatalf("want one QoS 2 delivery, got %d (first QoS %d)", len(got), got[0].QoS)
	}
}

// [MQTT-4.7.2-1] wildcard filters at the first level do not match $ topics.
func TestDollarTopicsNotMatchedByWildcards(t *testing.T) {
	_, addr := startNode(t)
	sub, _ := dialV5(t, addr, "sub", nil)
	ctx := context.Background()
	sub.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "#"}, {Topic: "$app/+"}}})
	pub, _ := dialV5(t, addr, "pub", nil)
	pub.c.Publish(ctx, &paho.Publish{Topic: "$app/x", QoS: 1, Payload: []byte("1")})
	eventually.True(t, eventually.Wait, "delivery", func() bool { return len(sub.received()) > 0 })
	eventually.Never(t, eventually.Settle, "$app/x delivered twice", func() bool { return len(sub.received()) > 1 })
	if n := len(sub.received()); n != 1 {
		t.Fatalf("$app/x delivered %d times; '#' must not match it", n)
	}
}

// rawClient is a minimal client (v5 unless v says otherwise) on the project's codec, to see packets exactly as sent.
type rawClient struct {
	nc net.Conn
	br *bufio.Reader
	v  byte // protocol version; 0 = 5
}

func (r *rawClient) version() byte {
	if r.v == 0 {
		return packets.V5
	}
	return r.v
}

func dialRaw(t *testing.T, addr string, c *packets.Connect) (*rawClient, *packets.Connack) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	r := &rawClient{nc: nc, br: bufio.NewReader(nc)}
	r.send(t, c)
	ack, ok := r.read(t).(*packets.Connack)
	if !ok {
		t.Fatal("no CONNACK")
	}
	return r, ack
}

func (r *rawClient) send(t *testing.T, p packets.Packet) {
	t.Helper()
	b, err := packets.Encode(nil, p, r.version())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.nc.Write(b); err != nil {
		t.Fatal(err)
	}
}

func (r *rawClient) read(t *testing.T) packets.Packet {
	t.Helper()
	r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	p, err := packets.ReadPacket(r.br, r.version(), 0)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return p
}

func u16(v uint16) *uint16 { return &v }

// [MQTT-3.3.2-12] the broker uses topic aliases towards a client that allows them (topic_alias_max_client).
func TestOutgoingTopicAlias(t *testing.T) {
	_, addr := startNode(t, "topic_alias_max_client = 5")
	r, _ := dialRaw(t, addr, &packets.Connect{ProtocolLevel: 5, ClientID: "raw", CleanStart: true,
		Props: &packets.Properties{TopicAliasMaximum: u16(2)}})
	r.send(t, &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "t/#"}}})
	if _, ok := r.read(t).(*packets.Suback); !ok {
		t.Fatal("no SUBACK")
	}
	pub, _ := dialV5(t, addr, "pub", nil)
	for i := 0; i < 2; i++ {
		pub.c.Publish(context.Background(), &paho.Publish{Topic: "t/long/topic/name", QoS: 1, Payload: []byte(fmt.Sprint(i))})
	}
	first := r.read(t).(*packets.Publish)
	second := r.read(t).(*packets.Publish)
	if first.Topic != "t/long/topic/name" || first.Props == nil || first.Props.TopicAlias == nil {
		t.Fatalf("first delivery should carry topic and alias: %+v", first)
	}
	if second.Topic != "" || second.Props == nil || second.Props.TopicAlias == nil || *second.Props.TopicAlias != *first.Props.TopicAlias {
		t.Fatalf("second delivery should use the alias only: %+v", second)
	}
}

// [MQTT-3.3.4-9] a client sending more unacknowledged QoS 2 publishes than the broker's Receive Maximum is disconnected with 0x93.
func TestReceiveMaximumExceeded(t *testing.T) {
	_, addr := startNode(t, "receive_max_broker = 2")
	r, ack := dialRaw(t, addr, &packets.Connect{ProtocolLevel: 5, ClientID: "greedy", CleanStart: true})
	if ack.Props == nil || ack.Props.ReceiveMaximum == nil || *ack.Props.ReceiveMaximum != 2 {
		t.Fatalf("CONNACK does not announce Receive Maximum 2: %+v", ack.Props)
	}
	for id := uint16(1); id <= 3; id++ {
		r.send(t, &packets.Publish{QoS: 2, PacketID: id, Topic: "x", Payload: []byte("p")})
	}
	for {
		switch p := r.read(t).(type) {
		case *packets.Ack:
			continue // PUBRECs of the first two
		case *packets.Disconnect:
			if p.ReasonCode != packets.ReceiveMaximumExceeded {
				t.Fatalf("DISCONNECT %s, want 0x93", p.ReasonCode)
			}
			return
		default:
			t.Fatalf("unexpected %T", p)
		}
	}
}

// Mountpoints isolate listeners' topic trees (listener.tcp.<name>.mountpoint).
func TestMountpointsIsolate(t *testing.T) {
	n, addr := startNode(t, "listener.tcp.tenant = 127.0.0.1:0", "listener.tcp.tenant.mountpoint = tenant1")
	var tenantAddr string
	for _, l := range n.Listeners() {
		if l.Name == "tenant" {
			tenantAddr = net.JoinHostPort(l.Address, l.Port)
		}
	}
	got := make(chan string, 4)
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + tenantAddr).SetClientID("tsub"))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sub.Disconnect(10)
	sub.Subscribe("m/#", 0, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }).WaitTimeout(5 * time.Second)
	other := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("other"))
	other.Connect().WaitTimeout(5 * time.Second)
	defer other.Disconnect(10)
	other.Publish("m/1", 0, false, "default-tree").WaitTimeout(5 * time.Second)
	same := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + tenantAddr).SetClientID("tpub"))
	same.Connect().WaitTimeout(5 * time.Second)
	defer same.Disconnect(10)
	same.Publish("m/1", 0, false, "tenant-tree").WaitTimeout(5 * time.Second)
	select {
	case p := <-got:
		if p != "tenant-tree" {
			t.Fatalf("tenant subscriber got %q from another mountpoint", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("tenant subscriber got nothing")
	}
}

// listener max_connection_lifetime disconnects a v5 client with 0xA0 after the lifetime.
func TestMaxConnectionLifetime(t *testing.T) {
	_, addr := startNode(t, "listener.tcp.default.max_connection_lifetime = 1", "listener.tcp.default.buffer = 64KB")
	c, _ := dialV5(t, addr, "short-lived", nil)
	select {
	case d := <-c.disc:
		if d.ReasonCode != byte(packets.MaximumConnectTime) {
			t.Fatalf("DISCONNECT reason %#x, want 0xA0", d.ReasonCode)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not disconnected after max_connection_lifetime")
	}
}

// retry_interval: a 3.1.1 client that does not acknowledge a QoS 1 message gets it again
// with DUP set and the same packet id; a v5 client does not (MQTT 5 resends only on reconnect).
func TestRetryIntervalV311(t *testing.T) {
	_, addr := startNode(t, "retry_interval = 1")
	for _, v := range []byte{packets.V311, packets.V5} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		send := func(p packets.Packet) {
			b, _ := packets.Encode(nil, p, v)
			nc.Write(b)
		}
		read := func(d time.Duration) (packets.Packet, error) {
			nc.SetReadDeadline(time.Now().Add(d))
			return packets.ReadPacket(br, v, 0)
		}
		id := fmt.Sprint("noack-", v)
		send(&packets.Connect{ProtocolLevel: v, ClientID: id, CleanStart: true, KeepAlive: 60})
		read(5 * time.Second)
		send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: id, Options: packets.SubOptions{QoS: 1}}}})
		read(5 * time.Second)
		pub, _ := dialV5(t, addr, "pub-"+id, nil)
		pub.c.Publish(context.Background(), &paho.Publish{Topic: id, QoS: 1, Payload: []byte("x")})
		first, err := read(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		p1 := first.(*packets.Publish)
		again, err := read(3 * time.Second)
		if v == packets.V5 {
			if err == nil {
				t.Fatalf("v5: resent on a live connection: %+v", again)
			}
			continue
		}
		if err != nil {
			t.Fatalf("3.1.1: no resend within 3 s with retry_interval = 1: %v", err)
		}
		p2 := again.(*packets.Publish)
		if !p2.Dup || p2.PacketID != p1.PacketID {
			t.Fatalf("resend %+v, want DUP and packet id %d", p2, p1.PacketID)
		}
	}
}

// max_subscriptions_per_client: new filters beyond the limit get SUBACK 0x97 (v5);
// replacing an existing subscription is still allowed.
func TestMaxSubscriptionsPerClient(t *testing.T) {
	_, addr := startNode(t, "max_subscriptions_per_client = 2")
	c, _ := dialV5(t, addr, "greedy-sub", nil)
	ctx := context.Background()
	ack, err := c.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "a"}, {Topic: "b"}, {Topic: "c"}}})
	if err != nil && ack == nil {
		t.Fatal(err)
	}
	if got := ack.Reasons; len(got) != 3 || got[0] != 0 || got[1] != 0 || got[2] != 0x97 {
		t.Fatalf("SUBACK reasons %v, want [0 0 0x97]", got)
	}
	ack, _ = c.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "a", QoS: 1}}})
	if ack == nil || len(ack.Reasons) != 1 || ack.Reasons[0] != 1 {
		t.Fatalf("re-subscribing an existing filter: %+v", ack)
	}
}

// receive_max_client caps the inflight window towards a v5 client below what it announced.
func TestReceiveMaxClient(t *testing.T) {
	_, addr := startNode(t, "receive_max_client = 2")
	r, _ := dialRaw(t, addr, &packets.Connect{ProtocolLevel: 5, ClientID: "window", CleanStart: true,
		Props: &packets.Properties{ReceiveMaximum: u16(100)}})
	r.send(t, &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "w", Options: packets.SubOptions{QoS: 1}}}})
	r.read(t) // SUBACK
	pub, _ := dialV5(t, addr, "w-pub", nil)
	for i := 0; i < 5; i++ {
		pub.c.Publish(context.Background(), &paho.Publish{Topic: "w", QoS: 1, Payload: []byte("x")})
	}
	first := r.read(t).(*packets.Publish)
	r.read(t)
	r.nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if p, err := packets.ReadPacket(r.br, packets.V5, 0); err == nil {
		t.Fatalf("a third unacknowledged delivery arrived with receive_max_client = 2: %+v", p)
	}
	r.send(t, &packets.Ack{Kind: packets.PUBACK, PacketID: first.PacketID})
	if _, ok := r.read(t).(*packets.Publish); !ok {
		t.Fatal("the window did not open after PUBACK")
	}
}
