package node

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// connectWithWill sends a 3.1.1 CONNECT carrying n bytes in its will payload and password
// (each field holds at most 64 KiB) and reports whether the node answered CONNACK 0 (false:
// it closed the connection without one; anonymous logins ignore the password).
func connectWithWill(t *testing.T, addr string, n int) bool {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &packets.Connect{ProtocolName: "MQTT", ProtocolLevel: packets.V311, CleanStart: true, ClientID: "big-will",
		Will:     &packets.Will{Topic: "w", Payload: bytes.Repeat([]byte{'w'}, n/2)},
		Username: new(string), Password: bytes.Repeat([]byte{'p'}, n-n/2)}
	b, err := packets.Encode(nil, c, packets.V311)
	if err != nil {
		t.Fatal(err)
	}
	// Written in pieces, as a slow link delivers it: the body grows as bytes arrive.
	for len(b) > 0 {
		k := min(len(b), 5000)
		if _, err := nc.Write(b[:k]); err != nil {
			return false // closed after the header
		}
		b = b[k:]
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	ack := make([]byte, 4)
	if _, err := io.ReadFull(nc, ack); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || !isTimeout(err) {
			return false
		}
		t.Fatalf("no answer to a CONNECT of %d bytes within 5 s", n)
	}
	return ack[0] == 0x20 && ack[3] == 0
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// The CONNECT is bounded by max_connect_message_size (64 KiB), or by max_message_size when
// that is smaller; a CONNECT under the bound that is bigger than the first body chunk arrives whole.
func TestMaxConnectMessageSize(t *testing.T) {
	_, addr := startNode(t)
	if !connectWithWill(t, addr, 40<<10) {
		t.Fatal("a 40 KiB CONNECT (under max_connect_message_size) was refused")
	}
	if connectWithWill(t, addr, 70<<10) {
		t.Fatal("a 70 KiB CONNECT (over max_connect_message_size = 64KB) was accepted")
	}
	_, small := startNode(t, "max_message_size = 1KB")
	if connectWithWill(t, small, 2<<10) {
		t.Fatal("a 2 KiB CONNECT was accepted with max_message_size = 1KB")
	}
	_, big := startNode(t, "max_connect_message_size = 256KB")
	if !connectWithWill(t, big, 60<<10) || !connectWithWill(t, big, 65000) {
		t.Fatal("CONNECTs under a raised max_connect_message_size were refused")
	}
}
