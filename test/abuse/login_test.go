package abuse

import (
	"testing"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// TestFailedLogins: with uniform_auth_failure an unknown user and a wrong password get the
// same answer (VerneMQ's default tells them apart); failed_login_limit refuses a source
// that failed too often without asking the plugins, until its window ends.
func TestFailedLogins(t *testing.T) {
	n := startNode(t, map[string]string{
		"allow_anonymous":          "off",
		"plugins.vmq_passwd":       "on",
		"vmq_passwd.password_file": "$DIR/vmq.passwd",
		"failed_login_limit":       "5",
		"failed_login_window":      "60s",
	}, files{"vmq.passwd": passwdFile(t, "alice")})
	login := func(v byte, user, pw string) packets.ReasonCode {
		r := dial(t, n.addr)
		r.v = v
		return r.connect(&packets.Connect{ClientID: "c-" + user, CleanStart: true, Username: str(user), Password: []byte(pw)}).ReasonCode
	}
	// VerneMQ's answers: unknown user 5 (not authorized), wrong password 4 (bad user name or password).
	if a, b := login(packets.V311, "nobody", "pw"), login(packets.V311, "alice", "wrong"); a != 5 || b != 4 {
		t.Fatalf("default answers %v / %v, want 5 / 4", a, b)
	}
	n.admin(t, "set", "uniform_auth_failure=on")
	if a, b := login(packets.V5, "nobody", "pw"), login(packets.V5, "alice", "wrong"); a != packets.NotAuthorized || b != packets.NotAuthorized {
		t.Fatalf("uniform answers %v / %v, want 0x87 / 0x87", a, b)
	}
	// Four failures so far; the fifth reaches the limit, then even the right password is refused.
	login(packets.V5, "alice", "wrong")
	if code := login(packets.V5, "alice", "pw"); code != packets.ConnectionRateExceeded {
		t.Fatalf("right password after 5 failures: %v, want 0x9F (connection rate exceeded)", code)
	}
	if code := login(packets.V311, "alice", "pw"); code != 3 {
		t.Fatalf("3.1.1 client after 5 failures: %v, want 3 (server unavailable)", code)
	}
	if f, th := n.prom(t, "vernemq_client_failed_logins"), n.prom(t, "vernemq_client_failed_login_throttled"); f != 5 || th != 2 {
		t.Fatalf("failed logins %v, throttled %v; want 5 and 2", f, th)
	}
	n.admin(t, "set", "failed_login_limit=0")
	if code := login(packets.V5, "alice", "pw"); code != 0 {
		t.Fatalf("with the throttle off: %v", code)
	}
}
