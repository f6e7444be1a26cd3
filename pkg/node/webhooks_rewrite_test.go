package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	paho "github.com/eclipse/paho.golang/paho"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// rewriteService answers auth_on_subscribe_m5 and auth_on_publish_m5 with the rewrites a
// VerneMQ webhook service may make: a topic list longer or shorter than the one asked, a
// filter that is not valid, a topic with a wildcard.
func rewriteService(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Topic  string `json:"topic"`
			Topics []struct {
				Topic string `json:"topic"`
			} `json:"topics"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		first := ""
		if len(body.Topics) > 0 {
			first = body.Topics[0].Topic
		}
		switch {
		case first == "grow/1": // one asked, two subscribed
			io.WriteString(w, `{"result":"ok","modifiers":{"topics":[{"topic":"grow/1","qos":1},{"topic":"grow/extra","qos":0}]}}`)
		case first == "shrink/a": // two asked, one kept
			io.WriteString(w, `{"result":"ok","modifiers":{"topics":[{"topic":"shrink/a","qos":1}]}}`)
		case first == "bad/1": // rewritten to filters no client may send
			io.WriteString(w, `{"result":"ok","modifiers":{"topics":[{"topic":"bad/#/x","qos":0},{"topic":"bad/\u0000","qos":0}]}}`)
		case body.Topic == "rw/wild":
			io.WriteString(w, `{"result":"ok","modifiers":{"topic":"a/+"}}`)
		case body.Topic == "rw/empty":
			io.WriteString(w, `{"result":"ok","modifiers":{"topic":""}}`)
		case body.Topic == "rw/ok":
			io.WriteString(w, `{"result":"ok","modifiers":{"topic":"a/ok"}}`)
		default:
			io.WriteString(w, `{"result":"ok"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// A webhook that rewrites a SUBSCRIBE into another list gets it subscribed as VerneMQ does,
// with one SUBACK code per filter asked: the k-th topic answers the k-th filter, one it adds
// is subscribed without a code, a filter it drops is refused, a filter no client could
// send is refused; the connection stays open through all of them. A publish whose topic a
// webhook rewrites to a wildcard or an empty topic is refused, reaching nobody.
func TestWebhookRewritesChecked(t *testing.T) {
	url := rewriteService(t)
	_, addr := startNode(t, webhookConf(url, "auth_on_subscribe_m5", "auth_on_publish_m5")...)
	ctx := context.Background()
	sub, _ := dialV5(t, addr, "sub", nil)
	codes := func(filters ...string) []byte {
		t.Helper()
		var opts []paho.SubscribeOptions
		for _, f := range filters {
			opts = append(opts, paho.SubscribeOptions{Topic: f, QoS: 1})
		}
		ack, err := sub.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: opts})
		if err != nil && ack == nil {
			t.Fatalf("subscribe %v: %v", filters, err)
		}
		return ack.Reasons
	}
	if got := codes("grow/1"); !slices.Equal(got, []byte{1}) {
		t.Fatalf("grown list: SUBACK %v, want [1]", got)
	}
	if got := codes("shrink/a", "shrink/b"); !slices.Equal(got, []byte{1, 0x87}) {
		t.Fatalf("shrunk list: SUBACK %v, want [1 0x87]", got)
	}
	if got := codes("bad/1"); !slices.Equal(got, []byte{0x8F}) {
		t.Fatalf("invalid rewrite: SUBACK %v, want [0x8F]", got)
	}
	catchAll, _ := dialV5(t, addr, "all", nil)
	if ack, err := catchAll.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "#", QoS: 1}}}); err != nil || ack.Reasons[0] != 1 {
		t.Fatalf("subscribe #: %v %v", ack, err)
	}

	pub, _ := dialV5(t, addr, "pub", nil)
	for _, topic := range []string{"rw/wild", "rw/empty"} {
		res, err := pub.c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(topic)})
		if err == nil || res == nil || res.ReasonCode != 0x87 {
			t.Fatalf("publish to %s rewritten to an invalid topic: %+v %v, want PUBACK 0x87", topic, res, err)
		}
	}
	for _, topic := range []string{"grow/extra", "shrink/a", "shrink/b", "rw/ok"} {
		if _, err := pub.c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(topic)}); err != nil {
			t.Fatalf("publish to %s: %v", topic, err)
		}
	}
	topicsOf := func(c *v5client) []string {
		var ts []string
		for _, m := range c.received() {
			ts = append(ts, m.Topic)
		}
		return ts
	}
	eventually.True(t, eventually.Wait, "the subscriber's messages", func() bool {
		return slices.Equal(topicsOf(sub), []string{"grow/extra", "shrink/a"})
	})
	eventually.True(t, eventually.Wait, "the catch-all's messages", func() bool {
		return slices.Equal(topicsOf(catchAll), []string{"grow/extra", "shrink/a", "shrink/b", "a/ok"})
	})
	select {
	case d := <-sub.disc:
		t.Fatalf("subscriber disconnected: %+v", d)
	default:
	}
}
