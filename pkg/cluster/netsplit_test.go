package cluster

import (
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/serf/serf"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// Allowed follows serf's member events: a failed member makes the cluster inconsistent
// (publishes refused, allow_publish_during_netsplit being off) until it comes back, leaves,
// or its grace period ends. Readers take no lock and allocate nothing while consistent, so
// racing them against the events is safe (-race).
func TestAllowedFollowsMemberEvents(t *testing.T) {
	c := startTestNode(t, "netsplitA@127.0.0.1")
	if !c.Allowed("publish", nil) || !c.Consistent() {
		t.Fatal("a single node is not consistent")
	}
	if n := testing.AllocsPerRun(100, func() { c.Allowed("publish", nil) }); n != 0 {
		t.Fatalf("Allowed allocates %v times per call while consistent", n)
	}

	stop := make(chan struct{})
	var readers sync.WaitGroup
	stopReaders := sync.OnceFunc(func() { close(stop); readers.Wait() })
	defer stopReaders()
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
					c.Allowed("subscribe", nil)
					c.NotReady()
				}
			}
		}()
	}

	ghost := serf.Member{Name: "ghost@127.0.0.1"}
	c.memberEvent(serf.EventMemberFailed, ghost)
	if c.Allowed("publish", nil) || c.Consistent() {
		t.Fatal("publish allowed while a member is failed")
	}
	if r := c.NotReady(); len(r) != 1 {
		t.Fatalf("NotReady = %v, want the netsplit", r)
	}
	c.memberEvent(serf.EventMemberLeave, ghost)
	if !c.Allowed("publish", nil) {
		t.Fatal("publish refused after the failed member left")
	}

	// A short grace period; the readers stop first, since they read it (NotReady).
	stopReaders()
	c.mu.Lock()
	c.o.DeadNodeGrace = time.Second
	c.mu.Unlock()
	c.memberEvent(serf.EventMemberFailed, ghost)
	if c.Allowed("publish", nil) {
		t.Fatal("publish allowed while a member is failed")
	}
	eventually.True(t, eventually.Wait, "the failed member to stop counting after its grace period", func() bool {
		return c.Allowed("publish", nil) && c.Consistent()
	})
}
