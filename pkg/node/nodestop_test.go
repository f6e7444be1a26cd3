package node

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/freeport"
	"github.com/vernemq-go/vernemq/internal/testpki"
	"github.com/vernemq-go/vernemq/pkg/admin"
)

// node stop ends the MQTT service as VerneMQ's does (listeners stopped, clients
// disconnected, sessions kept) while vmq-admin keeps answering; node start brings it back.
func TestNodeStopStart(t *testing.T) {
	n, addr := startNode(t)
	lost := make(chan struct{}, 1)
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("keeper").SetCleanSession(false).
		SetAutoReconnect(false).SetConnectionLostHandler(func(mqtt.Client, error) { lost <- struct{}{} })
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	if tok := c.Subscribe("ns/t", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	if res := adminCall(t, n, "node stop"); res.Type != "text" || res.Text != "Done" {
		t.Fatalf("node stop: %+v", res)
	}
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("client still connected after node stop")
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("the MQTT listener still accepts after node stop")
	}
	if r := row(adminCall(t, n, "listener show"), "type", "mqtt"); r == nil || r[1] != "stopped" {
		t.Fatalf("listener show after node stop: %v", r)
	}
	eventually.True(t, eventually.Wait, "the session is offline and kept", func() bool {
		r := row(adminCall(t, n, "session show --client_id --is_online"), "client_id", "keeper")
		return r != nil && r[1] == "false"
	})
	// A second stop has nothing left to stop.
	if res := adminCall(t, n, "node stop"); res.Type != "text" {
		t.Fatalf("second node stop: %+v", res)
	}

	if res := adminCall(t, n, "node start"); res.Type != "text" || res.Text != "Done" {
		t.Fatalf("node start: %+v", res)
	}
	r := row(adminCall(t, n, "listener show"), "type", "mqtt")
	if r == nil || r[1] != "running" {
		t.Fatalf("listener show after node start: %v", r)
	}
	c = mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("reconnect after node start: %v", tok.Error())
	}
	defer c.Disconnect(0)
	if !tok.(*mqtt.ConnectToken).SessionPresent() {
		t.Fatal("the session did not survive node stop")
	}
}

func TestListenerDelete(t *testing.T) {
	n, addr := startNode(t)
	_, port, _ := net.SplitHostPort(addr)
	res := adminCall(t, n, "listener delete address=127.0.0.1 port="+port)
	if res.Type != "error" || !strings.Contains(res.Error, "stop it first") {
		t.Fatalf("delete of a running listener: %+v", res)
	}
	if res := adminCall(t, n, "listener stop address=127.0.0.1 port="+port); res.Type != "text" {
		t.Fatalf("stop: %+v", res)
	}
	if res := adminCall(t, n, "listener delete address=127.0.0.1 port="+port); res.Type != "text" || res.Text != "Done" {
		t.Fatalf("delete: %+v", res)
	}
	if r := row(adminCall(t, n, "listener show"), "type", "mqtt"); r != nil {
		t.Fatalf("deleted listener still shown: %v", r)
	}
	if res := adminCall(t, n, "node start"); res.Type != "text" {
		t.Fatalf("node start: %+v", res)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("node start brought a deleted listener back")
	}
	// As in VerneMQ, listener start where no listener is makes a new one (plain MQTT over TCP).
	if res := adminCall(t, n, "listener start address=127.0.0.1 port="+port); res.Type != "text" {
		t.Fatalf("listener start after delete: %+v", res)
	}
	if err := tryConnect(t, addr, "after-delete"); err != nil {
		t.Fatalf("connect to the new listener: %v", err)
	}
}

// listener start with VerneMQ's options makes listeners at run time: options checked as
// the conf checks them, the rest inherited.
func TestListenerStartCreates(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA("test CA")
	crt, key := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	must(t, ca.NewServer("server").Write(crt, key))
	n, _ := startNode(t)
	freePort := func() string {
		p, err := freeport.One()
		if err != nil {
			t.Fatal(err)
		}
		return strconv.Itoa(p)
	}

	tcp := freePort()
	res := adminCall(t, n, "listener start address=127.0.0.1 port="+tcp+" --mountpoint=site1 --max_connections=1")
	if res.Type != "text" || res.Text != "Done" {
		t.Fatalf("create tcp: %+v", res)
	}
	r := row(adminCall(t, n, "listener show"), "port", tcp)
	if r == nil || r[0] != "mqtt" || r[1] != "running" || r[4] != "site1" || r[5] != "1" {
		t.Fatalf("listener show row of the new listener: %v", r)
	}
	if err := tryConnect(t, "127.0.0.1:"+tcp, "on-site1"); err != nil {
		t.Fatalf("connect: %v", err)
	}
	s := row(adminCall(t, n, "session show --client_id --mountpoint"), "client_id", "on-site1")
	if s == nil || s[1] != "site1" {
		t.Fatalf("the client's session is not in the listener's mountpoint: %v", s)
	}
	if res := adminCall(t, n, "listener start address=127.0.0.1 port="+tcp+" --mountpoint=x"); res.Type != "error" || !strings.Contains(res.Error, "already") {
		t.Fatalf("options for a listener that is there: %+v", res)
	}

	ssl := freePort()
	if res := adminCall(t, n, "listener start address=127.0.0.1 port="+ssl+" --ssl"); res.Type != "error" || !strings.Contains(res.Error, "--certfile") {
		t.Fatalf("ssl without certificate: %+v", res)
	}
	if res := adminCall(t, n, "listener start address=127.0.0.1 port="+ssl+" --ssl --certfile="+crt+" --keyfile="+key); res.Type != "text" {
		t.Fatalf("create ssl: %+v", res)
	}
	c, err := tls.Dial("tcp", "127.0.0.1:"+ssl, ca.ClientConfig("127.0.0.1", nil))
	if err != nil {
		t.Fatalf("TLS handshake with the new ssl listener: %v", err)
	}
	c.Close()
	if r := row(adminCall(t, n, "listener show"), "port", ssl); r == nil || r[0] != "mqtts" {
		t.Fatalf("listener show row of the ssl listener: %v", r)
	}

	// A bare on/off flag is on: this listener wants a PROXY header, so a plain CONNECT is refused.
	proxied := freePort()
	if res := adminCall(t, n, "listener start address=127.0.0.1 port="+proxied+" --proxy_protocol"); res.Type != "text" {
		t.Fatalf("create with --proxy_protocol: %+v", res)
	}
	if err := tryConnect(t, "127.0.0.1:"+proxied, "no-proxy-header"); err == nil {
		t.Fatal("a CONNECT without PROXY header accepted by a --proxy_protocol listener")
	}

	bad := freePort()
	for _, tc := range []struct{ flags, want string }{
		{"--max_connections=lots", "--max_connections"},
		{"--ssl --proxy_protocol", "not an option of ssl listeners"},
		{"--http", "vernemq.conf"},
		{"--allowed_protocol_versions=7", "--allowed_protocol_versions"},
	} {
		res := adminCall(t, n, "listener start address=127.0.0.1 port="+bad+" "+tc.flags)
		if res.Type != "error" || !strings.Contains(res.Error, tc.want) {
			t.Fatalf("%s: %+v, want an error naming %q", tc.flags, res, tc.want)
		}
	}
	if _, err := net.Dial("tcp", "127.0.0.1:"+bad); err == nil {
		t.Fatal("a refused listener start left a listener")
	}
}

// trace stop_all ends the traces running on the node; a trace started afterwards runs.
func TestTraceStopAll(t *testing.T) {
	n, _ := startNode(t)
	trace := func() (<-chan string, <-chan admin.Result, context.CancelFunc) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		lines := make(chan string, 100)
		done := make(chan admin.Result, 1)
		go func() {
			res, _ := admin.Call(ctx, n.Cfg.String("admin.socket"), []string{"trace", "client", "client-id=x"}, func(l string) { lines <- l })
			done <- res
		}()
		select {
		case <-lines: // "Starting trace": the trace runs
		case <-ctx.Done():
			t.Fatal("trace did not start")
		}
		return lines, done, cancel
	}
	_, done1, cancel1 := trace()
	defer cancel1()
	_, done2, cancel2 := trace()
	defer cancel2()
	if res := adminCall(t, n, "trace stop_all"); res.Type != "text" || res.Text != "Done" {
		t.Fatalf("trace stop_all: %+v", res)
	}
	for i, done := range []<-chan admin.Result{done1, done2} {
		select {
		case res := <-done:
			if !strings.Contains(res.Text, "trace stop_all") {
				t.Fatalf("trace %d ended with %+v", i+1, res)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("trace %d still runs after trace stop_all", i+1)
		}
	}
	_, done3, cancel3 := trace()
	eventually.Never(t, 200*time.Millisecond, "a trace started after stop_all ends", func() bool { return len(done3) > 0 })
	cancel3()
	<-done3
}
