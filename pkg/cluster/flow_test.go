package cluster

import (
	"testing"
	"time"
)

// A queue that drains ends the wait at once; one that stays full costs each wait at most
// maxFlowWait and the link at most flowWaitBudget per second in all.
func TestLinkFlowBudget(t *testing.T) {
	var f linkFlow
	drained := make(chan struct{})
	close(drained)
	start := time.Now()
	for range 1000 {
		f.wait(drained)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("1000 waits on a drained queue took %v", d)
	}

	f = linkFlow{}
	full := make(chan struct{}) // never closes: a subscriber that reads nothing
	start = time.Now()
	f.wait(full)
	if d := time.Since(start); d < maxFlowWait {
		t.Fatalf("a wait on a full queue returned after %v, before maxFlowWait", d)
	}
	for range 100 { // 100 × 5 ms would be 500 ms without the budget
		f.wait(full)
	}
	total := time.Since(start)
	if total < flowWaitBudget || total > flowWaitBudget+150*time.Millisecond {
		t.Fatalf("101 waits on a full queue took %v; want about the %v budget", total, flowWaitBudget)
	}
	if f.spent < flowWaitBudget {
		t.Fatalf("budget spent %v, want %v", f.spent, flowWaitBudget)
	}
	// A new second refills it.
	f.window = f.window.Add(-time.Second)
	start = time.Now()
	f.wait(full)
	if d := time.Since(start); d < maxFlowWait {
		t.Fatalf("after a new second the wait returned after %v, want ≥ %v", d, maxFlowWait)
	}
}
