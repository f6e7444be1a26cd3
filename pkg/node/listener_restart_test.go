package node

import (
	"net"
	"strings"
	"testing"
)

// A listener configured on port 0 keeps showing, and is started again on, the port it had.
func TestListenerStopStartKeepsBoundPort(t *testing.T) {
	n, addr := startNode(t)
	_, port, _ := net.SplitHostPort(addr)
	if res := adminCall(t, n, "listener stop address=127.0.0.1 port="+port); res.Type != "text" {
		t.Fatalf("stop: %+v", res)
	}
	r := row(adminCall(t, n, "listener show"), "type", "mqtt")
	if r == nil || r[1] != "stopped" || r[3] != port {
		t.Fatalf("listener show after stop = %v, want stopped on port %s", r, port)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("stopped listener still accepts")
	}
	if res := adminCall(t, n, "listener start address=127.0.0.1 port="+r[3]); res.Type != "text" {
		t.Fatalf("start with the port shown: %+v", res)
	}
	if r := row(adminCall(t, n, "listener show"), "type", "mqtt"); r[1] != "running" || r[3] != port {
		t.Fatalf("listener show after start = %v, want running on port %s", r, port)
	}
	if err := tryConnect(t, addr, "after-restart"); err != nil {
		t.Fatalf("connect on the same port after start: %v", err)
	}

	// port=0 (as configured) still works and binds a new free port.
	if res := adminCall(t, n, "listener stop address=127.0.0.1 port="+port); res.Type != "text" {
		t.Fatalf("second stop: %+v", res)
	}
	if res := adminCall(t, n, "listener start address=127.0.0.1 port=0"); res.Type != "text" {
		t.Fatalf("start port=0: %+v", res)
	}
	r = row(adminCall(t, n, "listener show"), "type", "mqtt")
	if r[1] != "running" || r[3] == "0" || r[3] == "" {
		t.Fatalf("listener show after start port=0 = %v", r)
	}
	if err := tryConnect(t, "127.0.0.1:"+r[3], "new-port"); err != nil {
		t.Fatalf("connect on the new port: %v", err)
	}
	// No listener there: start makes one, and fails on an address that is not this machine's
	// (192.0.2.1, TEST-NET-1) with the bind error.
	if res := adminCall(t, n, "listener start address=192.0.2.1 port=1883"); res.Type != "error" || !strings.Contains(res.Error, "192.0.2.1") {
		t.Fatalf("start on an address of no interface: %+v", res)
	}
}
