package cluster

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/vernemq-go/vernemq/internal/freeport"
	"github.com/vernemq-go/vernemq/pkg/broker"
)

// A taken cluster port (the data listener's, or the gossip's at port+1) fails the start with
// the key to change and what may hold it: 44053/44054 lie in the ephemeral range, where a
// connection that closed a minute ago can still hold them.
func TestTakenClusterPortSaysWhatToDo(t *testing.T) {
	for _, gossip := range []bool{false, true} {
		port, err := freeport.Pair()
		if err != nil {
			t.Fatal(err)
		}
		taken := port
		if gossip {
			taken = port + 1
		}
		hold, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", taken))
		if err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		c, err := New(Options{Broker: broker.New(broker.Options{Node: "n1", Log: log}), Node: "n1", Cookie: "bind-test",
			DataAddr: fmt.Sprintf("127.0.0.1:%d", port), DataDir: t.TempDir(), Log: log})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Start()
		hold.Close()
		if err == nil {
			c.Close()
			t.Fatalf("gossip %v: started on a taken port", gossip)
		}
		for _, want := range []string{"address already in use", "set listener.vmq.clustering to another port", "TIME_WAIT"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("gossip %v: error %q does not say %q", gossip, err, want)
			}
		}
		if gossip && !strings.Contains(err.Error(), "port+1") {
			t.Errorf("the gossip's error %q does not say it is the clustering port+1", err)
		}
	}
}
