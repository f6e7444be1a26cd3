package bridge

import (
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/config"
)

func parse(t *testing.T, lines ...string) *config.Config {
	t.Helper()
	c, _, err := config.Parse(strings.NewReader(strings.Join(lines, "\n")+"\n"), "b.conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFromConfig(t *testing.T) {
	c := parse(t, "platform_data_dir = /var/lib/vmq",
		"vmq_bridge.tcp.br0 = 10.0.0.1:1883", "vmq_bridge.tcp.br0.topic.2 = b in", "vmq_bridge.tcp.br0.topic.10 = c both 2",
		"vmq_bridge.tcp.br0.topic.1 = a/*", "vmq_bridge.tcp.br0.username = u", "vmq_bridge.tcp.br0.password = ",
		"vmq_bridge.tcp.br0.mqtt_version = 5", "vmq_bridge.tcp.br0.inet_version = inet6",
		"vmq_bridge.ssl.abc = example.com:8883", "vmq_bridge.ssl.abc.sni = other.example", "vmq_bridge.ssl.abc.tls_version = tlsv1.3",
		"vmq_bridge.ssl.abc.client_id = fixed")
	cfgs, err := FromConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 2 || cfgs[0].Name != "abc" || cfgs[1].Name != "br0" {
		t.Fatalf("bridges = %+v", cfgs)
	}
	ssl, tcp := cfgs[0], cfgs[1]
	if ssl.TLS == nil || ssl.TLS.ServerName != "other.example" || ssl.TLS.MinVersion != ssl.TLS.MaxVersion || ssl.ClientID != "fixed" {
		t.Errorf("ssl bridge = %+v", ssl)
	}
	// VerneMQ's defaults.
	if ssl.KeepAlive != 60*time.Second || ssl.RestartTimeout != 10*time.Second || !ssl.TryPrivate || ssl.MQTTVersion != 3 ||
		ssl.CleanSession || ssl.MaxBuffered != 0 || ssl.BatchSize != 100 || ssl.SegmentSize != 4096 || ssl.Network != "tcp4" {
		t.Errorf("defaults = %+v", ssl)
	}
	if !strings.HasSuffix(tcp.ClientID, ".br0") || tcp.MQTTVersion != 5 || tcp.Network != "tcp6" || tcp.TLS != nil ||
		tcp.Username == nil || *tcp.Username != "u" || tcp.Password == nil || *tcp.Password != "" ||
		tcp.QueueDir != "/var/lib/vmq/vmq_bridge/br0" {
		t.Errorf("tcp bridge = %+v", tcp)
	}
	// Topics in the order of their numbers.
	var pats []string
	for _, tp := range tcp.Topics {
		pats = append(pats, tp.Pattern+" "+tp.Direction)
	}
	if strings.Join(pats, ",") != "a/# out,b in,c both" {
		t.Errorf("topics = %q", pats)
	}
}

func TestFromConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{"vmq_bridge.tcp.br0.cleansession = on"}, "vmq_bridge.tcp.br0 = host:port is missing"},
		{[]string{"vmq_bridge.tcp.x = h:1", "vmq_bridge.ssl.x = h:2"}, "defined as both"},
		{[]string{"vmq_bridge.tcp.x = h:1", "vmq_bridge.tcp.x.topic.first = a"}, "topic ids are numbers"},
		{[]string{"vmq_bridge.ssl.x = h:1", "vmq_bridge.ssl.x.cafile = /nonexistent/ca.pem"}, "vmq_bridge.ssl.x.cafile"},
		{[]string{"vmq_bridge.ssl.x = h:1", "vmq_bridge.ssl.x.certfile = /nonexistent/c.pem"}, "go together"},
	} {
		_, err := FromConfig(parse(t, tc.lines...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.lines, err, tc.want)
		}
	}
}
