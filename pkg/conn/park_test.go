package conn

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// packetBuffered decides whether reading the next packet may block on the socket (and so
// must not meet a fresh connection's grace deadline).
func TestPacketBuffered(t *testing.T) {
	sub, err := packets.Encode(nil, &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "a/b"}}}, packets.V311)
	if err != nil {
		t.Fatal(err)
	}
	big, err := packets.Encode(nil, &packets.Publish{Topic: "t", Payload: make([]byte, 300)}, packets.V311) // 2-byte remaining length
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   []byte
		want bool
	}{
		{"whole SUBSCRIBE", sub, true},
		{"SUBSCRIBE and more", append(append([]byte(nil), sub...), 0xC0), true},
		{"SUBSCRIBE but its last byte", sub[:len(sub)-1], false},
		{"type byte only", sub[:1], false},
		{"whole 2-byte-length PUBLISH", big, true},
		{"first length byte of a PUBLISH", big[:2], false},
		{"PUBLISH header only", big[:3], false},
		{"PINGREQ", []byte{0xC0, 0}, true},
	}
	for _, c := range cases {
		br := bufio.NewReaderSize(bytes.NewReader(c.in), 1024)
		if _, err := br.Peek(1); err != nil { // fill the buffer as the reader's wait does
			t.Fatal(err)
		}
		if got := packetBuffered(br); got != c.want {
			t.Errorf("%s: packetBuffered = %v, want %v", c.name, got, c.want)
		}
	}
}
