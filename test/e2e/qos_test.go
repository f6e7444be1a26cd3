package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestQoSPahoV3 round-trips QoS 0/1/2 at MQTT 3.1 and 3.1.1 and checks order at QoS 1.
func TestQoSPahoV3(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	for _, level := range []uint{3, 4} {
		in := newInbox()
		sub := pahoV3(t, n.addr, fmt.Sprintf("sub%d", level), level, true, in)
		pub := pahoV3(t, n.addr, fmt.Sprintf("pub%d", level), level, true, newInbox())
		for qos := byte(0); qos <= 2; qos++ {
			topic := fmt.Sprintf("qos/v%d/%d", level, qos)
			waitTok(t, sub.Subscribe(topic, qos, nil), "subscribe "+topic)
			payload := fmt.Sprintf("payload \x00\xff level %d qos %d", level, qos)
			waitTok(t, pub.Publish(topic, qos, false, payload), "publish "+topic)
			m := in.next(t, 3*time.Second)
			if m.topic != topic || m.payload != payload || m.qos != qos || m.retain {
				t.Fatalf("level %d got %+v, want topic %q payload %q qos %d", level, m, topic, payload, qos)
			}
		}
		topic := fmt.Sprintf("order/v%d", level)
		waitTok(t, sub.Subscribe(topic, 1, nil), "subscribe "+topic)
		const count = 200
		for i := 0; i < count; i++ {
			pub.Publish(topic, 1, false, fmt.Sprint(i)) // tokens complete in order; the last one is waited below
		}
		waitTok(t, pub.Publish(topic, 1, false, "end"), "publish end")
		for i := 0; i <= count; i++ {
			want := fmt.Sprint(i)
			if i == count {
				want = "end"
			}
			if m := in.next(t, 5*time.Second); m.payload != want {
				t.Fatalf("level %d message %d is %q, want %q (order lost)", level, i, m.payload, want)
			}
		}
	}
}

// TestQoSPahoV5 round-trips QoS 0/1/2 with paho.golang and checks order at QoS 1.
func TestQoSPahoV5(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	sub, _ := pahoV5(t, n.addr, &paho.Connect{ClientID: "sub5", CleanStart: true})
	pub, _ := pahoV5(t, n.addr, &paho.Connect{ClientID: "pub5", CleanStart: true})
	for qos := byte(0); qos <= 2; qos++ {
		topic := fmt.Sprintf("qos/v5/%d", qos)
		sa, err := sub.Subscribe(ctx5(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: qos}}})
		if err != nil || len(sa.Reasons) != 1 || sa.Reasons[0] != qos {
			t.Fatalf("subscribe %s: %v %+v, want granted %d", topic, err, sa, qos)
		}
		payload := fmt.Sprintf("v5 \x00\xff qos %d", qos)
		pr, err := pub.Publish(ctx5(t), &paho.Publish{Topic: topic, QoS: qos, Payload: []byte(payload)})
		if err != nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
		if qos > 0 && pr.ReasonCode != 0 {
			t.Fatalf("publish %s: reason 0x%02X, want 0", topic, pr.ReasonCode)
		}
		m := sub.in.next(t, 3*time.Second)
		if m.topic != topic || m.payload != payload || m.qos != qos {
			t.Fatalf("got %+v, want topic %q payload %q qos %d", m, topic, payload, qos)
		}
	}
	if _, err := sub.Subscribe(ctx5(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "order/v5", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	const count = 200
	for i := 0; i < count; i++ {
		if _, err := pub.Publish(ctx5(t), &paho.Publish{Topic: "order/v5", QoS: 1, Payload: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	for i := 0; i < count; i++ {
		if m := sub.in.next(t, 5*time.Second); m.payload != fmt.Sprint(i) {
			t.Fatalf("message %d is %q (order lost)", i, m.payload)
		}
	}
}

// TestQoSMosquitto runs mosquitto_sub and mosquitto_pub at 3.1.1 and 5.
func TestQoSMosquitto(t *testing.T) {
	t.Parallel()
	needTool(t, "mosquitto_sub")
	needTool(t, "mosquitto_pub")
	n := startNode(t, nil)
	host, port := splitAddr(t, n.addr)
	for _, ver := range []string{"mqttv311", "mqttv5"} {
		sub := startMosquittoSub(t, host, port, ver, "mq/"+ver+"/#", "2")
		// Probe until the subscription is live: mosquitto_sub has no ready signal.
		probe := "mq/" + ver + "/probe"
		deadline := time.Now().Add(5 * time.Second)
		for ready := false; !ready; {
			if time.Now().After(deadline) {
				t.Fatalf("mosquitto_sub %s never received the probe", ver)
			}
			mosquittoPub(t, host, port, ver, probe, "0", "probe")
			ready = sub.waitLine(300*time.Millisecond, func(l string) bool { return strings.HasPrefix(l, probe+" ") })
		}
		sub.drain()
		for qos := 0; qos <= 2; qos++ {
			topic := fmt.Sprintf("mq/%s/q%d", ver, qos)
			payload := fmt.Sprintf("hello %s qos %d", ver, qos)
			mosquittoPub(t, host, port, ver, topic, fmt.Sprint(qos), payload)
			want := fmt.Sprintf("%s %d %s", topic, qos, payload)
			if !sub.waitLine(3*time.Second, func(l string) bool { return l == want }) {
				t.Fatalf("mosquitto_sub %s did not print %q; got %q", ver, want, sub.seen())
			}
		}
	}
}
