package node

import (
	"bufio"
	"context"
	"fmt"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

func dial311(t *testing.T, addr, id string, keepAlive uint16, will *packets.Will) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &rawClient{nc: nc, br: bufio.NewReader(nc), v: packets.V311}
	c.send(t, &packets.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanStart: true, KeepAlive: keepAlive, ClientID: id, Will: will})
	if ack, ok := c.read(t).(*packets.Connack); !ok || ack.ReasonCode != 0 {
		t.Fatalf("%s: no successful CONNACK", id)
	}
	return c
}

// closedWithin reports whether the broker closes c within d.
func (c *rawClient) closedWithin(d time.Duration) bool {
	c.nc.SetReadDeadline(time.Now().Add(d))
	for {
		if _, err := c.br.ReadByte(); err != nil {
			return !strings.Contains(err.Error(), "timeout")
		}
	}
}

// Idle clients give up their reader goroutine (parked in the poller) and come back
// on their next packet: subscribe, get a message while parked, acknowledge it, ping.
func TestIdleClientsParkAndResume(t *testing.T) {
	n, addr := startNode(t, "park_idle_connections_after = 200ms")
	g0 := runtime.NumGoroutine()
	const count = 100
	cs := make([]*rawClient, count)
	for i := range cs {
		cs[i] = dial311(t, addr, fmt.Sprintf("idle-%d", i), 60, nil)
	}
	eventually.True(t, eventually.Wait, "every idle client parked", func() bool { return n.Server.Parked() == count })
	if g := runtime.NumGoroutine() - g0; g > count/4 {
		t.Fatalf("%d more goroutines with %d parked clients; parked clients should hold none", g, count)
	}
	for i, c := range cs {
		c.send(t, &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "park/" + strconv.Itoa(i), Options: packets.SubOptions{QoS: 1}}}})
		if _, ok := c.read(t).(*packets.Suback); !ok {
			t.Fatalf("client %d: no SUBACK after resuming", i)
		}
	}
	eventually.True(t, eventually.Wait, "subscribers parked again", func() bool { return n.Server.Parked() == count })
	pub := dial311(t, addr, "publisher", 60, nil)
	for i := range cs {
		pub.send(t, &packets.Publish{Topic: "park/" + strconv.Itoa(i), QoS: 1, PacketID: uint16(i + 1), Payload: []byte("to a parked client")})
		if a, ok := pub.read(t).(*packets.Ack); !ok || a.Kind != packets.PUBACK {
			t.Fatalf("publish %d: no PUBACK", i)
		}
	}
	for i, c := range cs {
		p, ok := c.read(t).(*packets.Publish)
		if !ok || string(p.Payload) != "to a parked client" {
			t.Fatalf("parked client %d did not get its message", i)
		}
		c.send(t, &packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID})
		c.send(t, &packets.Pingreq{})
		if _, ok := c.read(t).(*packets.Pingresp); !ok {
			t.Fatalf("client %d: no PINGRESP", i)
		}
	}
	if got := n.Metrics.V4.PubackReceived.Value(0); got < count {
		t.Fatalf("broker counted %d PUBACKs from resumed clients, want %d", got, count)
	}
}

// A parked client that stays silent past 1.5 times its keep alive is closed, counted,
// and its will is published.
func TestParkedClientKeepaliveExpires(t *testing.T) {
	n, addr := startNode(t, "park_idle_connections_after = 100ms")
	watcher := dial311(t, addr, "watcher", 60, nil)
	watcher.send(t, &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "wills/#"}}})
	watcher.read(t)
	c := dial311(t, addr, "sleepy", 1, &packets.Will{Topic: "wills/sleepy", Payload: []byte("gone")})
	eventually.True(t, eventually.Wait, "the silent client parked", func() bool { return n.Server.Parked() >= 1 })
	before := n.Metrics.V4.KeepaliveExpired.Value()
	start := time.Now()
	if !c.closedWithin(5 * time.Second) {
		t.Fatal("parked client with keepalive 1s not closed within 5s")
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("closed after %v; 1.5 x keepalive (+ sweep) is under 3s", el)
	}
	if n.Metrics.V4.KeepaliveExpired.Value() != before+1 {
		t.Fatal("keepalive expiry of a parked client not counted")
	}
	if p, ok := watcher.read(t).(*packets.Publish); !ok || p.Topic != "wills/sleepy" {
		t.Fatal("will of the expired parked client not published")
	}
}

// Ending a parked connection from outside (takeover, vmq-admin session disconnect,
// listener stop --kill, node stop) ends its session too.
func TestParkedClientsEndFromOutside(t *testing.T) {
	n, addr := startNode(t, "park_idle_connections_after = 100ms")
	old := dial311(t, addr, "twin", 60, nil)
	eventually.True(t, eventually.Wait, "first twin parked", func() bool { return n.Server.Parked() == 1 })
	dial311(t, addr, "twin", 60, nil) // takeover kicks the parked one
	if !old.closedWithin(5 * time.Second) {
		t.Fatal("parked client not closed by the takeover")
	}
	eventually.True(t, eventually.Wait, "one connection left", func() bool { return n.Server.Count() == 1 })

	for i := range 5 {
		dial311(t, addr, fmt.Sprintf("victim-%d", i), 60, nil)
	}
	eventually.True(t, eventually.Wait, "six parked", func() bool { return n.Server.Parked() == 6 })
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	if err := n.StopListener(host, p, true); err != nil {
		t.Fatal(err)
	}
	// The listener closes sockets under parked clients; the sweeper ends their sessions.
	eventually.True(t, eventually.Wait, "every connection ended after listener stop --kill", func() bool {
		return n.Server.Count() == 0 && n.Server.Parked() == 0 && n.Metrics.ActiveConnections.Value() == 0
	})
	if err := n.StartListener(context.Background(), host, p); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		dial311(t, addr, fmt.Sprintf("late-%d", i), 60, nil)
	}
	eventually.True(t, eventually.Wait, "three parked", func() bool { return n.Server.Parked() == 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		t.Fatalf("node stop with parked clients: %v", err)
	}
}

// Clients that publish now and then park and resume over and over while a subscriber
// counts: nothing is lost or duplicated (run with -race).
func TestParkResumeChurn(t *testing.T) {
	n, addr := startNode(t, "park_idle_connections_after = 100ms")
	sub := dial311(t, addr, "counter", 60, nil)
	sub.send(t, &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "churn/#", Options: packets.SubOptions{QoS: 1}}}})
	sub.read(t)
	const pubs, each = 10, 12
	var wg sync.WaitGroup
	errs := make(chan error, pubs)
	for i := range pubs {
		c := dial311(t, addr, fmt.Sprintf("churn-%d", i), 60, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				// Gaps around the park delay: some publishes find the reader parked, some not.
				time.Sleep(time.Duration(60+(i*37+j*53)%150) * time.Millisecond) // load pacing, not synchronisation
				b, _ := packets.Encode(nil, &packets.Publish{Topic: fmt.Sprintf("churn/%d", i), QoS: 1, PacketID: uint16(j + 1), Payload: []byte(strconv.Itoa(j))}, packets.V311)
				c.nc.Write(b)
				c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := packets.ReadPacket(c.br, packets.V311, 0); err != nil {
					errs <- fmt.Errorf("publisher %d message %d: %v", i, j, err)
					return
				}
			}
		}()
	}
	got := map[string]int{}
	for range pubs * each {
		p, ok := sub.read(t).(*packets.Publish)
		if !ok {
			t.Fatal("subscriber got something else than PUBLISH")
		}
		got[p.Topic+"/"+string(p.Payload)]++
		sub.send(t, &packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(got) != pubs*each {
		t.Fatalf("%d distinct messages, want %d", len(got), pubs*each)
	}
	if n.Server.Parked() == 0 {
		eventually.True(t, eventually.Wait, "clients parked after the churn", func() bool { return n.Server.Parked() > 0 })
	}
}

// A fresh client parks right after CONNACK, long before park_idle_connections_after: an
// idle client holds no goroutine, and the poller resumes fresh connections in the order their
// first packets arrive (test/e2e TestSubscribeThenPublishAcrossConnections). Its SUBSCRIBE
// resumes it.
func TestFreshClientParksAtOnce(t *testing.T) {
	n, addr := startNode(t, "park_idle_connections_after = 30s")
	c := dial311(t, addr, "fresh", 60, nil)
	eventually.True(t, eventually.Wait, "the fresh client parked", func() bool { return n.Server.Parked() == 1 })
	c.send(t, &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "fresh/#", Options: packets.SubOptions{QoS: 1}}}})
	if _, ok := c.read(t).(*packets.Suback); !ok {
		t.Fatal("no SUBACK from the resumed client")
	}
	if st := n.Server.ParkStats(); st.Parks != 1 || st.Resumes != 1 {
		t.Fatalf("parks %d, resumes %d; want 1 and 1", st.Parks, st.Resumes)
	}
}

// A packet that a client writes with its CONNECT but that arrives in parts is read whole:
// the past read deadline that parks a fresh connection does not cut it off.
func TestPacketSentWithConnectArrivesInParts(t *testing.T) {
	n, addr := startNode(t, "park_idle_connections_after = 30s")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &rawClient{nc: nc, br: bufio.NewReader(nc), v: packets.V311}
	conn, err := packets.Encode(nil, &packets.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanStart: true, KeepAlive: 60, ClientID: "slow-writer"}, packets.V311)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := packets.Encode(nil, &packets.Subscribe{PacketID: 7, Subscriptions: []packets.Subscription{{Filter: "slow/#"}}}, packets.V311)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(append(conn, sub[:3]...)); err != nil {
		t.Fatal(err)
	}
	if ack, ok := c.read(t).(*packets.Connack); !ok || ack.ReasonCode != 0 {
		t.Fatal("no successful CONNACK")
	}
	// The rest comes later: a slow link, not a synchronisation.
	time.Sleep(100 * time.Millisecond)
	if _, err := nc.Write(sub[3:]); err != nil {
		t.Fatal(err)
	}
	if ack, ok := c.read(t).(*packets.Suback); !ok || ack.PacketID != 7 {
		t.Fatal("no SUBACK for the packet that arrived in parts")
	}
	if v := n.Metrics.V4.KeepaliveExpired.Value(); v != 0 {
		t.Fatalf("%d keepalive expiries for a client with keep alive 60", v)
	}
}
