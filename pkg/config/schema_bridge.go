package config

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
)

// bridgeKeys: vmq_bridge.tcp.<name> and vmq_bridge.ssl.<name> with VerneMQ's options and defaults.
func bridgeKeys() []*Key {
	var keys []*Key
	for _, t := range []string{"tcp", "ssl"} {
		p := "vmq_bridge." + t + ".$name"
		keys = append(keys,
			&Key{Name: p, Type: TypeString, Check: checkHostPort, Doc: "Remote broker host:port of this bridge."},
			&Key{Name: p + ".topic.$topic_id", Type: TypeString, Check: CheckBridgeTopic,
				Doc: "pattern [in|out|both [qos [retain]] [local-prefix remote-prefix]]; * stands for #."},
			&Key{Name: p + ".cleansession", Type: TypeBool, Default: "off", Doc: "Clean session towards the remote broker."},
			&Key{Name: p + ".client_id", Type: TypeString, Default: "auto", NonEmpty: true,
				Doc: "Client id at the remote broker; auto = <hostname>.<name>."},
			&Key{Name: p + ".mountpoint", Type: TypeString, Default: "", Doc: "Local mountpoint of the bridged topics."},
			rng(&Key{Name: p + ".keepalive_interval", Type: TypeInt, Default: "60", Doc: "Keep alive towards the remote broker in seconds."}, 0, 65535),
			&Key{Name: p + ".username", Type: TypeString, Doc: "Username at the remote broker."},
			&Key{Name: p + ".password", Type: TypeString, Doc: "Password at the remote broker."},
			atLeast(&Key{Name: p + ".restart_timeout", Type: TypeInt, Default: "10",
				Doc: "Seconds before the first reconnect; later attempts back off up to 12 times this."}, 1),
			&Key{Name: p + ".try_private", Type: TypeBool, Default: "on",
				Doc: "Tell the remote broker this is a bridge (protocol level 0x80|v), so it sends back none of the bridge's own publishes."},
			&Key{Name: p + ".mqtt_version", Type: TypeEnum, Default: "3", Enum: []string{"3", "4", "5"},
				Doc: "MQTT version towards the remote broker: 3 (3.1), 4 (3.1.1), 5."},
			atLeast(&Key{Name: p + ".max_outgoing_buffered_messages", Type: TypeInt, Default: "0",
				Doc: "Outgoing messages buffered while the remote broker is away; 0 = no buffering (dropped and counted)."}, 0),
			&Key{Name: p + ".pubrel_queue_ratio", Type: TypeString, Default: "0",
				Warn: "accepted and ignored: a QoS 2 message stays in the one outgoing buffer until its PUBCOMP; max_outgoing_buffered_messages bounds it"},
			&Key{Name: p + ".persistent_queue", Type: TypeBool, Default: "off",
				Doc: "Keep the outgoing buffer on disk (queue_dir), so it survives a restart."},
			&Key{Name: p + ".queue_dir", Type: TypeString, Default: "",
				Doc: "Directory of the persistent queue; empty = $(platform_data_dir)/vmq_bridge/<name>."},
			rng(&Key{Name: p + ".segment_size", Type: TypeBytes, Default: "4096", Doc: "Size of one persistent queue segment file."}, 64, math.MaxInt32),
			rng(&Key{Name: p + ".outgoing_batch_size", Type: TypeInt, Default: "100",
				Doc: "Messages sent to the remote broker before waiting for their acknowledgements."}, 1, 65535),
			&Key{Name: p + ".inet_version", Type: TypeEnum, Default: "inet", Enum: []string{"inet", "inet6"},
				Doc: "Dial the remote broker over IPv4 (inet) or IPv6 (inet6)."},
		)
		if t != "ssl" {
			continue
		}
		keys = append(keys,
			&Key{Name: p + ".cafile", Type: TypeString, Default: "", Doc: "PEM CA certificates that verify the remote broker."},
			&Key{Name: p + ".capath", Type: TypeString, Default: "", Doc: "Directory of PEM CA certificates that verify the remote broker."},
			&Key{Name: p + ".certfile", Type: TypeString, Default: "", Doc: "Client certificate (PEM)."},
			&Key{Name: p + ".keyfile", Type: TypeString, Default: "", Doc: "Client key (PEM)."},
			&Key{Name: p + ".insecure", Type: TypeBool, Default: "off", Doc: "Do not verify the remote broker's certificate."},
			&Key{Name: p + ".tls_version", Type: TypeEnum, Default: "tlsv1.2", Enum: []string{"tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3"},
				Doc: "TLS version used towards the remote broker."},
			&Key{Name: p + ".identity", Type: TypeString, Default: "",
				Warn: "accepted and ignored: Go's crypto/tls has no TLS-PSK cipher suites (docs/bridge.md); use certificates"},
			&Key{Name: p + ".psk", Type: TypeString, Default: "",
				Warn: "accepted and ignored: Go's crypto/tls has no TLS-PSK cipher suites (docs/bridge.md); use certificates"},
			rng(&Key{Name: p + ".depth", Type: TypeInt, Default: "1",
				Doc: "Intermediate certificates allowed between the remote broker's certificate and a trusted root."}, 0, 100),
			&Key{Name: p + ".sni", Type: TypeString, Default: "", Doc: "Server name sent and verified; empty = the host of the endpoint."},
			&Key{Name: p + ".customize_hostname_check", Type: TypeEnum, Default: "https", Enum: []string{"https"},
				Doc: "Hostname check of the remote certificate (https rules)."},
		)
	}
	return keys
}

func checkHostPort(s string) error {
	h, p, err := net.SplitHostPort(s)
	if err != nil || h == "" {
		return fmt.Errorf("%q is not host:port (e.g. 192.168.1.12:1883)", s)
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has no valid port (1..65535)", s)
	}
	return nil
}

// BridgeTopic is one parsed vmq_bridge.<type>.<name>.topic.<n> value.
type BridgeTopic struct {
	Pattern      string // with * replaced by #
	Direction    string // in, out or both
	QoS          byte
	Retain       bool // forward the retain flag (the "retain" word after the QoS)
	LocalPrefix  string
	RemotePrefix string
}

// ParseBridgeTopic reads "pattern [in|out|both [qos [retain]] [local-prefix remote-prefix]]" as VerneMQ
// does: * stands for # (a # starts a comment in vernemq.conf), direction defaults to out, QoS to 0,
// and the prefixes "$empty" mean no prefix.
func ParseBridgeTopic(s string) (BridgeTopic, error) {
	var t BridgeTopic
	f := strings.Fields(s)
	if len(f) == 0 {
		return t, fmt.Errorf("empty topic; use pattern [in|out|both [qos [retain]] [local-prefix remote-prefix]]")
	}
	t.Pattern, t.Direction, f = strings.ReplaceAll(f[0], "*", "#"), "out", f[1:]
	if len(f) > 0 && (f[0] == "in" || f[0] == "out" || f[0] == "both") {
		t.Direction, f = f[0], f[1:]
		if len(f) > 0 && len(f[0]) == 1 && f[0][0] >= '0' && f[0][0] <= '2' {
			t.QoS, f = f[0][0]-'0', f[1:]
			if len(f) > 0 && f[0] == "retain" {
				t.Retain, f = true, f[1:]
			}
		}
	}
	switch len(f) {
	case 0:
	case 2:
		t.LocalPrefix, t.RemotePrefix = emptyWord(f[0]), emptyWord(f[1])
	default:
		return t, fmt.Errorf("%q is not of the form pattern [in|out|both [qos [retain]] [local-prefix remote-prefix]]", s)
	}
	return t, nil
}

// CheckBridgeTopic validates a bridge topic value for the schema.
func CheckBridgeTopic(s string) error { _, err := ParseBridgeTopic(s); return err }

func emptyWord(s string) string {
	if s == "$empty" {
		return ""
	}
	return s
}
