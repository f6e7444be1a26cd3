package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestSharedSubscription spreads 300 QoS 1 messages over 3 v5 consumers of $share/g/...: each once.
func TestSharedSubscription(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	var consumers []*v5client
	for i := 0; i < 3; i++ {
		c, _ := pahoV5(t, n.addr, &paho.Connect{ClientID: fmt.Sprintf("shared%d", i), CleanStart: true})
		sa, err := c.Subscribe(ctx5(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "$share/g/sh/t", QoS: 1}}})
		if err != nil || sa.Reasons[0] != 1 {
			t.Fatalf("subscribe $share/g/sh/t: %v %+v", err, sa)
		}
		consumers = append(consumers, c)
	}
	pub, _ := pahoV5(t, n.addr, &paho.Connect{ClientID: "shared-pub", CleanStart: true})
	const total = 300
	for i := 0; i < total; i++ {
		if _, err := pub.Publish(ctx5(t), &paho.Publish{Topic: "sh/t", QoS: 1, Payload: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	seen := map[string]int{}
	per := make([]int, len(consumers))
	deadline := time.After(10 * time.Second)
	for got := 0; got < total; got++ {
		select {
		case m := <-consumers[0].in:
			per[0]++
			seen[m.payload]++
		case m := <-consumers[1].in:
			per[1]++
			seen[m.payload]++
		case m := <-consumers[2].in:
			per[2]++
			seen[m.payload]++
		case <-deadline:
			t.Fatalf("only %d of %d messages delivered (per consumer %v)", got, total, per)
		}
	}
	for i := 0; i < total; i++ {
		if seen[fmt.Sprint(i)] != 1 {
			t.Fatalf("message %d delivered %d times, want exactly once", i, seen[fmt.Sprint(i)])
		}
	}
	for i, c := range per {
		if c == 0 {
			t.Fatalf("consumer %d got no message (per consumer %v)", i, per)
		}
	}
	for _, c := range consumers {
		c.in.none(t, 200*time.Millisecond, "extra delivery after all 300")
	}
}
