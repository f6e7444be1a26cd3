package node

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	pahopackets "github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	proxyproto "github.com/pires/go-proxyproto"
)

// session show's peer_host/peer_port are the client's address from the PROXY header,
// not the proxy's.
func TestSessionShowPeerFromProxyProtocol(t *testing.T) {
	n, _ := startNode(t, "listener.tcp.proxied = 127.0.0.1:0", "listener.tcp.proxied.proxy_protocol = on")
	var addr string
	for _, l := range n.Listeners() {
		if l.Name == "proxied" {
			addr = net.JoinHostPort(l.Address, l.Port)
		}
	}
	if addr == "" {
		t.Fatalf("no proxied listener in %+v", n.Listeners())
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	h := &proxyproto.Header{
		Version: 2, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
		SourceAddr:      &net.TCPAddr{IP: net.ParseIP("203.0.113.7").To4(), Port: 41234},
		DestinationAddr: &net.TCPAddr{IP: net.ParseIP("198.51.100.1").To4(), Port: 1883},
	}
	if _, err := h.WriteTo(nc); err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: pahopackets.NewThreadSafeConn(nc)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "proxied-client", CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatalf("connect through the PROXY header: %v", err)
	}
	t.Cleanup(func() { c.Disconnect(&paho.Disconnect{}) })

	res := adminCall(t, n, "session show --client_id --peer_host --peer_port --client_id=proxied-client")
	if strings.Join(res.Headers, ",") != "client_id,peer_host,peer_port" || len(res.Rows) != 1 ||
		strings.Join(res.Rows[0], " ") != "proxied-client 203.0.113.7 41234" {
		t.Fatalf("session show: %+v", res)
	}
	// The filters take the PROXY address too.
	res = adminCall(t, n, "session show --client_id --peer_host=203.0.113.7")
	if len(res.Rows) != 1 || res.Rows[0][0] != "proxied-client" {
		t.Fatalf("session show --peer_host=: %+v", res)
	}
}
