package packets

import (
	"bufio"
	"testing"
)

// TestSessionPacketAllocs pins what reading a device's session costs the decoder, read as
// the broker reads (ReadPacketInto with a scratch): CONNECT its client id, SUBSCRIBE its
// filter (the packets themselves, and one filter's array, are the scratch's), DISCONNECT
// nothing (issue 19). A new allocation in these paths fails here.
func TestSessionPacketAllocs(t *testing.T) {
	ten := &Subscribe{PacketID: 2}
	for _, f := range []string{"a/0", "a/1", "a/2", "a/3", "a/4", "a/5", "a/6", "a/7", "a/8", "a/9"} {
		ten.Subscriptions = append(ten.Subscriptions, Subscription{Filter: f, Options: SubOptions{QoS: 1}})
	}
	for _, tc := range []struct {
		name    string
		p       Packet
		version byte // the reader's: 0 before CONNECT
		allocs  float64
	}{
		{"connect", &Connect{ProtocolLevel: V311, ClientID: "dev-1", KeepAlive: 60}, 0, 1},
		{"connect v5", &Connect{ProtocolLevel: V5, ClientID: "dev-1", KeepAlive: 60}, 0, 1},
		{"subscribe", &Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: "dev/1", Options: SubOptions{QoS: 1}}}}, V311, 1},
		{"subscribe ten filters", ten, V311, 1 + 10}, // the filters' array sized once, the filters
		{"disconnect", &Disconnect{}, V311, 0},
		{"disconnect v5", &Disconnect{}, V5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.version
			if v == 0 {
				v = tc.p.(*Connect).ProtocolLevel
			}
			wire, err := Encode(nil, tc.p, v)
			if err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(&repeatReader{b: wire})
			var sc Scratch
			var got Packet
			n := testing.AllocsPerRun(100, func() {
				if got, err = ReadPacketInto(r, tc.version, 0, &sc); err != nil {
					t.Fatal(err)
				}
			})
			if n > tc.allocs {
				t.Errorf("reading %s allocates %.0f times, want at most %.0f", tc.name, n, tc.allocs)
			}
			if re, err := Encode(nil, got, v); err != nil || string(re) != string(wire) {
				t.Errorf("%s decodes to %+v, which encodes as % x (%v), want % x", tc.name, got, re, err, wire)
			}
		})
	}
}

func TestCountFilters(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want int
	}{
		{nil, 0},
		{[]byte{0, 1, 'a', 1}, 1},
		{[]byte{0, 1, 'a', 1, 0, 3, 'a', '/', 'b', 0}, 2},
		{[]byte{0, 1, 'a', 1, 0, 3, 'a', '/'}, 1},       // the second is cut short
		{[]byte{0, 1, 'a'}, 0},                          // no options byte
		{[]byte{1, 0, 'a', 1}, 0},                       // declares 256 bytes
		{append([]byte{1, 3}, make([]byte, 260)...), 1}, // 259 bytes and the options byte
	} {
		if got := countFilters(tc.b); got != tc.want {
			t.Errorf("countFilters(% x) = %d, want %d", tc.b, got, tc.want)
		}
	}
}
