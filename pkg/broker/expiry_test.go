package broker

import (
	"fmt"
	"testing"

	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// A changed persistent_client_expiration reaches every offline 3.1.1 session however many
// chunks the pass takes, and leaves online and MQTT 5 sessions as they are.
func TestApplyClientExpirationEveryChunk(t *testing.T) {
	b := New(Options{Node: "n1"})
	n := 2*walkChunk + walkChunk/2
	for i := range n {
		l := &pipeLink{}
		b.Disconnect(connect(b, fmt.Sprintf("off-%d", i), true, l), l, true)
	}
	online := connect(b, "on", true, &pipeLink{})
	v5l := &pipeLink{version: packets.V5}
	b.Disconnect(connect(b, "v5", true, v5l), v5l, true)

	check := func(secs uint32, armed bool) {
		t.Helper()
		b.reg.mu.Lock()
		defer b.reg.mu.Unlock()
		for i := range n {
			e := b.reg.sessions[topics.SubscriberID{ClientID: fmt.Sprintf("off-%d", i)}]
			if _, exp := e.s.Persistent(); exp != secs || (e.expiry != nil) != armed {
				t.Fatalf("off-%d after a change to %d s: expiry %d, timer armed %v", i, secs, exp, e.expiry != nil)
			}
		}
		for _, id := range []string{"on", "v5"} {
			if e := b.reg.sessions[topics.SubscriberID{ClientID: id}]; e.expiry != nil {
				t.Fatalf("%s got an expiry timer", id)
			}
		}
	}
	// Sessions come and go while the walk lets go of the registry lock between chunks.
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		for i := range 2 * walkChunk {
			l := &pipeLink{}
			s := connect(b, fmt.Sprintf("churn-%d", i%50), i%3 != 0, l)
			b.Disconnect(s, l, true)
		}
	}()
	b.ApplyClientExpiration(3600)
	<-churned
	check(3600, true)
	if _, exp := online.Persistent(); exp != NeverExpire {
		t.Fatalf("the online session's expiry became %d", exp)
	}
	b.ApplyClientExpiration(0) // never: the timers go
	check(NeverExpire, false)
}
