package ops

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Every vmq-admin command against a running node through the built binary, in both
// output formats: the human table has VerneMQ's shape and the JSON parses.
func TestEveryCommandThroughTheBinary(t *testing.T) {
	n := startNode(t, "", nil)
	c := connect(t, n.addr, "cmd-client", false, nil)
	c.Subscribe("cmd/#", 1, nil).WaitTimeout(5 * time.Second)
	c.Publish("cmd/retained", 1, true, "kept").WaitTimeout(5 * time.Second)
	_, port := splitAddr(t, n.addr)
	cases := []struct {
		args []string
		want string // text the human output must contain
	}{
		{[]string{"session", "show", "--client_id", "--is_online", "--topic", "--qos"}, "cmd-client"},
		{[]string{"session", "show", "--client_id=~^cmd", "--limit=5"}, "cmd-client"},
		{[]string{"show", "max_offline_messages"}, "max_offline_messages"},
		{[]string{"set", "max_online_messages=2000"}, ""},
		{[]string{"listener", "show"}, port},
		{[]string{"metrics", "show"}, "mqtt_connect_received"},
		{[]string{"metrics", "show", "-d"}, "mqtt_connect_received"},
		{[]string{"plugin", "show"}, "vmq_acl"},
		{[]string{"plugin", "disable", "-n", "vmq_acl"}, "Done"},
		{[]string{"plugin", "enable", "--name", "vmq_acl"}, "Done"},
		{[]string{"retain", "show", "--topic", "--payload"}, "cmd/retained"},
		{[]string{"node", "status"}, "VerneMQ@127.0.0.1"},
		{[]string{"cluster", "show"}, "VerneMQ@127.0.0.1"},
		{[]string{"api-key", "show"}, ""},
		{[]string{"webhooks", "show"}, "vmq_webhooks is not enabled"},
		{[]string{"session", "unsubscribe", "client-id=cmd-client", "topic=cmd/#"}, ""},
		{[]string{"retain", "delete", "topic=cmd/retained"}, ""},
		{[]string{"session", "disconnect", "client-id=cmd-client", "--cleanup"}, ""},
	}
	for _, tc := range cases {
		out, err := n.admin(tc.args...)
		if tc.want == "vmq_webhooks is not enabled" {
			// A command whose plugin is off says how to turn it on, with a non-zero exit.
			if err == nil || !strings.Contains(out, tc.want) {
				t.Errorf("vmq-admin %v: err %v, output:\n%s", tc.args, err, out)
			}
			continue
		}
		if err != nil {
			t.Fatalf("vmq-admin %v: %v\n%s", tc.args, err, out)
		}
		if tc.want != "" && !strings.Contains(out, tc.want) {
			t.Errorf("vmq-admin %v: no %q in\n%s", tc.args, tc.want, out)
		}
		if strings.Contains(out, "| ") && !strings.HasPrefix(strings.TrimSpace(out), "+-") {
			t.Errorf("vmq-admin %v: table not in VerneMQ's +---+ shape:\n%s", tc.args, out)
		}
		if tc.args[0] == "set" || tc.args[1] == "disconnect" || tc.args[1] == "delete" || tc.args[1] == "unsubscribe" ||
			tc.args[1] == "enable" || tc.args[1] == "disable" {
			continue // changes state: the JSON form is checked on the read-only commands
		}
		js, err := n.admin(append([]string{"--format=json"}, tc.args...)...)
		if err != nil {
			t.Fatalf("vmq-admin --format=json %v: %v\n%s", tc.args, err, js)
		}
		var v any
		if err := json.Unmarshal([]byte(js), &v); err != nil {
			t.Errorf("vmq-admin --format=json %v: not JSON (%v):\n%s", tc.args, err, js)
		}
	}
	// The effects are real: the retained message is gone and the session with it.
	if out := n.mustAdmin("retain", "show", "--topic"); strings.Contains(out, "cmd/retained") {
		t.Errorf("retain delete left the message:\n%s", out)
	}
	if out := n.mustAdmin("session", "show", "--client_id"); strings.Contains(out, "cmd-client") {
		t.Errorf("session disconnect --cleanup left the session:\n%s", out)
	}
}

func splitAddr(t *testing.T, addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Fatalf("bad address %s", addr)
	}
	return addr[:i], addr[i+1:]
}
