package freeport

import (
	"fmt"
	"net"
	"testing"
)

func TestPairIsFreeAndBelowEphemeral(t *testing.T) {
	for range 20 {
		p, err := Pair()
		if err != nil {
			t.Fatal(err)
		}
		if p < 20000 || p+1 >= 32768 {
			t.Fatalf("pair %d/%d outside 20000-32767", p, p+1)
		}
		l1, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d not free: %v", p, err)
		}
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p+1))
		if err != nil {
			t.Fatalf("udp port %d not free: %v", p+1, err)
		}
		l1.Close()
		u.Close()
	}
}

func TestPairSkipsTakenPorts(t *testing.T) {
	// Hold p+1 of a found pair: the same p must not come back while it is taken.
	p, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if free(p+1, true) {
		t.Fatalf("free(%d) while it is listened on", p+1)
	}
	for range 200 {
		q, err := Pair()
		if err != nil {
			t.Fatal(err)
		}
		if q == p || q == p+1 {
			t.Fatalf("Pair returned %d with %d taken", q, p+1)
		}
	}
}

func TestOneNeverRepeats(t *testing.T) {
	// Each port found is closed again at once, so only the record of what was handed out keeps
	// the next call from finding it free again (two listeners of one node got one port so).
	givenMu.Lock()
	clear(given) // from other runs: no forgetting (past 6000) within this one
	givenMu.Unlock()
	seen := map[int]bool{}
	for range 500 {
		p, err := One()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
