package ops

import (
	"github.com/vernemq-go/vernemq/internal/eventually"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// promValue reads one sample of /metrics whose line matches re (first group is the value).
func promValue(t *testing.T, n *node, re string) float64 {
	t.Helper()
	_, body := n.get("/metrics", nil)
	m := regexp.MustCompile(`(?m)^` + re + ` ([0-9.e+]+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// Limits that bite are counted: max_connections refusals per listener, CONNACK refusals by
// reason_code, and publishers throttled by max_message_rate.
func TestLimitCounters(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", map[string]string{"listener.tcp.default.max_connections": "1", "max_message_rate": "2"})
	c := connect(t, n.addr, "limit-1", true, nil)

	// The second connection is refused at accept: the listener closes it.
	extra, err := net.DialTimeout("tcp", n.addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	extra.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection over max_connections was kept open")
	}
	extra.Close()
	refused := `vernemq_socket_refused_max_connections\{listener="tcp/default",node="VerneMQ@127\.0\.0\.1"\}`
	eventually.True(t, 5*time.Second, "socket_refused_max_connections = 1", func() bool { return promValue(t, n, refused) == 1 })

	// Over max_message_rate (2/s) the publisher is throttled.
	for i := range 5 {
		if tok := c.Publish("limit/x", 1, false, []byte{byte(i)}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
	if v := n.metric("mqtt_publish_throttled"); v < 1 {
		t.Fatalf("mqtt_publish_throttled = %v after 5 publishes at max_message_rate 2, want >= 1", v)
	}
	c.Disconnect(50)

	// A persistent session without a client id is refused with client_identifier_not_valid.
	o := mqtt.NewClientOptions().AddBroker("tcp://" + n.addr).SetClientID("").SetCleanSession(false).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(3 * time.Second)
	eventually.True(t, 5*time.Second, "the listener slot to free", func() bool { return n.metric("active_mqtt_connections") == 0 })
	if tok := mqtt.NewClient(o).Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() == nil {
		t.Fatal("a persistent session with an empty client id was accepted")
	}
	rc := `vernemq_mqtt_connack_sent_reason\{node="VerneMQ@127\.0\.0\.1",reason_code="client_identifier_not_valid"\}`
	eventually.True(t, 5*time.Second, "mqtt_connack_sent_reason{client_identifier_not_valid} = 1", func() bool { return promValue(t, n, rc) == 1 })
	// VerneMQ's own series for it: the 3.1.1 return code, and the per-code name its dashboard graphs.
	v4 := `vernemq_mqtt_connack_sent\{mqtt_version="4",node="VerneMQ@127\.0\.0\.1",return_code="client_identifier_not_valid"\}`
	old := `vernemq_mqtt_connack_identifier_rejected_sent\{mqtt_version="4",node="VerneMQ@127\.0\.0\.1"\}`
	if promValue(t, n, v4) != 1 || promValue(t, n, old) != 1 {
		t.Errorf("mqtt_connack_sent{return_code} = %v, mqtt_connack_identifier_rejected_sent = %v; want 1 and 1",
			promValue(t, n, v4), promValue(t, n, old))
	}
}
