package config

import (
	"strings"
	"testing"
)

func TestParseBridgeTopic(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want BridgeTopic
		err  string
	}{
		{in: "a/*", want: BridgeTopic{Pattern: "a/#", Direction: "out"}},
		{in: "/demo/+ both 1", want: BridgeTopic{Pattern: "/demo/+", Direction: "both", QoS: 1}},
		{in: "s/* in 2 retain", want: BridgeTopic{Pattern: "s/#", Direction: "in", QoS: 2, Retain: true}},
		{in: "x in 1 loc/ rem/", want: BridgeTopic{Pattern: "x", Direction: "in", QoS: 1, LocalPrefix: "loc/", RemotePrefix: "rem/"}},
		{in: "x out $empty rem/", want: BridgeTopic{Pattern: "x", Direction: "out", RemotePrefix: "rem/"}},
		{in: "x both 0 retain l/ r/", want: BridgeTopic{Pattern: "x", Direction: "both", Retain: true, LocalPrefix: "l/", RemotePrefix: "r/"}},
		{in: "", err: "empty topic"},
		{in: "x in 1 onlyone", err: "is not of the form"},
		{in: "x sideways", err: "is not of the form"},
	} {
		got, err := ParseBridgeTopic(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// Bridge keys are checked with file:line: a bad endpoint, topic or option value.
func TestBridgeKeyErrors(t *testing.T) {
	_, _, err := Parse(strings.NewReader(`vmq_bridge.tcp.br0 = nohostport
vmq_bridge.tcp.br0.topic.1 = a in 1 x
vmq_bridge.ssl.br1.tls_version = sslv3
vmq_bridge.tcp.br0.mqtt_version = 6
`), "b.conf", nil)
	if err == nil {
		t.Fatal("bad bridge keys accepted")
	}
	for _, want := range []string{"b.conf:1: vmq_bridge.tcp.br0", "b.conf:2: vmq_bridge.tcp.br0.topic.1", "b.conf:3: vmq_bridge.ssl.br1.tls_version", "b.conf:4: vmq_bridge.tcp.br0.mqtt_version"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors %q lack %q", err, want)
		}
	}
}
