package conn

import (
	"testing"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// max_keepalive: the cap applies to larger and to zero keep alives; only MQTT 5 hears of it.
func TestCapKeepAlive(t *testing.T) {
	cases := []struct {
		client, max uint16
		v           byte
		want        uint16
		announce    bool
	}{
		{30, 0, packets.V5, 30, false}, {0, 0, packets.V311, 0, false}, {30, 60, packets.V5, 30, false},
		{90, 60, packets.V5, 60, true}, {0, 60, packets.V5, 60, true}, {90, 60, packets.V311, 60, false}, {0, 60, packets.V31, 60, false},
	}
	for _, c := range cases {
		got, ann := capKeepAlive(c.client, c.max, c.v)
		if got != c.want || (ann != nil) != c.announce || (ann != nil && *ann != c.want) {
			t.Errorf("client %d max %d v%d: got %d announce %v", c.client, c.max, c.v, got, ann)
		}
	}
}
