package node

import (
	"fmt"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// VerneMQ 2's bulk disconnects: session disconnect clients client-ids=a,b,c disconnects
// those (and names the ids no session has), session disconnect batch count=N disconnects N
// connected clients; VerneMQ's -c/--cleanup and -m/--mountpoint= flags work beside this
// broker's mountpoint= argument.
func TestSessionDisconnectBulk(t *testing.T) {
	n, addr := startNode(t)
	clients := map[string]bool{}
	for i := range 6 {
		id := fmt.Sprintf("c%d", i)
		clients[id] = true
		pahoConnect(t, addr, id, nil)
	}
	online := func(id string) bool {
		s := n.Broker.Session(idOf(id))
		return s != nil && s.Online()
	}
	onlineCount := func() int {
		k := 0
		for id := range clients {
			if online(id) {
				k++
			}
		}
		return k
	}

	if res := adminCall(t, n, "session disconnect clients client-ids=c0,c1"); res.Type != "text" || res.Text != "Done" {
		t.Fatalf("disconnect clients: %+v", res)
	}
	eventually.True(t, eventually.Wait, "c0 and c1 disconnected, the others not", func() bool {
		return !online("c0") && !online("c1") && onlineCount() == 4
	})
	res := adminCall(t, n, "session disconnect clients client-ids=c2,nobody --mountpoint=")
	if res.Type != "error" || !strings.Contains(res.Error, `"nobody"`) || strings.Contains(res.Error, `"c2"`) {
		t.Fatalf("disconnect clients with an unknown id: %+v, want an error naming only nobody", res)
	}
	eventually.True(t, eventually.Wait, "c2 disconnected", func() bool { return !online("c2") && onlineCount() == 3 })

	if res := adminCall(t, n, "session disconnect batch count=2"); res.Type != "text" || res.Text != "Disconnected 2 of 2" {
		t.Fatalf("disconnect batch: %+v", res)
	}
	eventually.True(t, eventually.Wait, "two more disconnected", func() bool { return onlineCount() == 1 })

	// -c deletes a persistent session, which a plain disconnect leaves offline.
	p := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("p").SetCleanSession(false).SetAutoReconnect(false))
	if tok := p.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect p: %v", tok.Error())
	}
	defer p.Disconnect(0)
	if res := adminCall(t, n, "session disconnect client-id=p -m="); res.Type != "text" {
		t.Fatalf("disconnect -m=: %+v", res)
	}
	eventually.True(t, eventually.Wait, "p offline, its session kept", func() bool {
		s := n.Broker.Session(idOf("p"))
		return s != nil && !s.Online()
	})
	if res := adminCall(t, n, "session disconnect client-id=p -c"); res.Type != "text" {
		t.Fatalf("disconnect -c: %+v", res)
	}
	eventually.True(t, eventually.Wait, "p's session deleted (-c)", func() bool { return n.Broker.Session(idOf("p")) == nil })
	if res := adminCall(t, n, "session disconnect batch count=1 --cleanup"); res.Type != "text" || res.Text != "Disconnected 1 of 1" {
		t.Fatalf("disconnect batch: %+v", res)
	}
	if res := adminCall(t, n, "session disconnect batch count=3"); res.Type != "text" || res.Text != "Disconnected 0 of 3" {
		t.Fatalf("disconnect batch with nobody connected: %+v", res)
	}
}
