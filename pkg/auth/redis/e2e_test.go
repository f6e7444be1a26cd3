package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pahopackets "github.com/eclipse/paho.golang/packets"
	paho "github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/testnode"
	"github.com/vernemq-go/vernemq/pkg/auth/internal/testdb"
	"github.com/vernemq-go/vernemq/pkg/auth/passwd"
	"github.com/vernemq-go/vernemq/pkg/auth/redis"
	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/node"
)

// TestBrokerWithRedis runs a whole node with vmq_diversity's Redis backend and real MQTT
// clients: the stored password and ACLs decide CONNACK, PUBACK-less delivery and SUBACK.
func TestBrokerWithRedis(t *testing.T) {
	n, _ := startWithRedis(t, []string{"telemetry/%c/#"}, []string{"commands/%c/#", "telemetry/%c/#"},
		"listener.tcp.default = 127.0.0.1:0",
		"allow_anonymous = off",
		"plugins.vmq_passwd = off",
		"plugins.vmq_acl = off",
		"platform_data_dir = "+t.TempDir())
	addr := "tcp://" + n.ListenerAddr("tcp")

	connect := func(id, user, pw string) (mqtt.Client, error) {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(addr).SetClientID(id).SetUsername(user).SetPassword(pw).SetAutoReconnect(false))
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		return c, tok.Error()
	}
	if _, err := connect("dev-1", "alice", "wrong"); err == nil {
		t.Fatal("wrong password accepted")
	}
	if _, err := connect("dev-2", "alice", "s3cret"); err == nil {
		t.Fatal("a client id without a row accepted")
	}
	c, err := connect("dev-1", "alice", "s3cret")
	if err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	defer c.Disconnect(10)
	got := make(chan string, 4)
	tok := c.Subscribe("commands/dev-1/#", 1, func(_ mqtt.Client, m mqtt.Message) { got <- m.Topic() })
	tok.WaitTimeout(5 * time.Second)
	if st := tok.(*mqtt.SubscribeToken).Result()["commands/dev-1/#"]; st != 1 {
		t.Fatalf("allowed subscription granted %d", st)
	}
	tok = c.Subscribe("commands/dev-9/#", 1, nil)
	tok.WaitTimeout(5 * time.Second)
	if st := tok.(*mqtt.SubscribeToken).Result()["commands/dev-9/#"]; st != 0x80 {
		t.Fatalf("forbidden subscription answered %#x, want 0x80", st)
	}
	// A publish the ACL allows reaches a subscriber; a forbidden one does not (3.1.1: acked and
	// dropped). The allowed one is sent last: deliveries to one session keep the publisher's
	// order, so once it has arrived the forbidden one, had it got through, would have too.
	watch := make(chan string, 4)
	tok = c.Subscribe("telemetry/dev-1/#", 1, func(_ mqtt.Client, m mqtt.Message) { watch <- m.Topic() })
	if !tok.WaitTimeout(5*time.Second) || tok.(*mqtt.SubscribeToken).Result()["telemetry/dev-1/#"] != 1 {
		t.Fatalf("allowed subscription telemetry/dev-1/# refused: %v", tok.Error())
	}
	for _, tp := range []string{"commands/dev-1/x", "telemetry/dev-1/t"} {
		if tok := c.Publish(tp, 1, false, "x"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish to %s not acknowledged: %v", tp, tok.Error())
		}
	}
	select {
	case tp := <-watch:
		if tp != "telemetry/dev-1/t" {
			t.Fatalf("forbidden publish delivered on %s", tp)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the publish the ACL allows was not delivered")
	}
	select {
	case tp := <-got:
		t.Fatalf("forbidden publish delivered on %s", tp)
	default:
	}
}

// startWithRedis stores the row of client dev-1, user alice, password s3cret with the given
// publish and subscribe ACL patterns in a fresh Redis, then starts an in-process node from
// conf plus vmq_diversity's Redis keys; the node stops when the test ends.
func startWithRedis(t *testing.T, pubACL, subACL []string, conf ...string) (*node.Node, *testdb.Server) {
	t.Helper()
	s := testdb.Redis(t)
	ctx := context.Background()
	rdb := goredis.NewClient(&goredis.Options{Addr: s.Addr(), Password: testdb.RedisPassword})
	defer rdb.Close()
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	patterns := func(ps []string) []map[string]any {
		var out []map[string]any
		for _, p := range ps {
			out = append(out, map[string]any{"pattern": p})
		}
		return out
	}
	v, _ := json.Marshal(map[string]any{"passhash": string(h), "publish_acl": patterns(pubACL), "subscribe_acl": patterns(subACL)})
	if err := rdb.Set(ctx, redis.Key("", "dev-1", "alice"), v, 0).Err(); err != nil {
		t.Fatal(err)
	}
	conf = append(conf,
		"plugins.vmq_diversity = on",
		"vmq_diversity.auth_redis.enabled = on",
		"vmq_diversity.redis.host = 127.0.0.1",
		fmt.Sprintf("vmq_diversity.redis.port = %d", s.Port),
		"vmq_diversity.redis.password = "+testdb.RedisPassword,
		"log.console = off")
	cfg, _, err := config.Parse(strings.NewReader(strings.Join(conf, "\n")), t.Name()+".conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	return n, s
}

// TestDiversityEndsTheChain: with vmq_diversity first and vmq_passwd and vmq_acl after it,
// a login the database cannot match is refused by vmq_diversity (invalid_credentials,
// CONNACK 4 / 0x86) although vmq_passwd knows the user, and a client that did not log in
// through vmq_diversity may not publish although vmq_acl's "topic #" would allow it: as
// VerneMQ's scripts, which answer false, not next.
func TestDiversityEndsTheChain(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bob, err := passwd.Line("bob", []byte("pw-bob"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "vmq.passwd"), []byte(bob+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "vmq.acl"), []byte("topic #\n"), 0o600)
	anonPort, mainPort := testnode.FreePort(t), testnode.FreePort(t)
	startWithRedis(t, []string{"t/#"}, []string{"t/#"},
		fmt.Sprintf("listener.tcp.default = 127.0.0.1:%d", mainPort),
		fmt.Sprintf("listener.tcp.anon = 127.0.0.1:%d", anonPort),
		"listener.tcp.anon.allow_anonymous_override = on",
		"allow_anonymous = off",
		"plugins.vmq_diversity.priority = 1",
		"plugins.vmq_passwd = on",
		"plugins.vmq_passwd.priority = 2",
		"vmq_passwd.password_file = "+filepath.Join(dir, "vmq.passwd"),
		"plugins.vmq_acl = on",
		"plugins.vmq_acl.priority = 3",
		"vmq_acl.acl_file = "+filepath.Join(dir, "vmq.acl"),
		"platform_data_dir = "+dir)
	addr := fmt.Sprintf("127.0.0.1:%d", mainPort)

	v3 := func(id, user, pw string) error {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetUsername(user).
			SetPassword(pw).SetAutoReconnect(false).SetProtocolVersion(4))
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		if tok.Error() == nil {
			c.Disconnect(10)
		}
		return tok.Error()
	}
	// paho's error for CONNACK return code 4.
	for what, c := range map[string][3]string{
		"user only vmq_passwd knows": {"dev-1", "bob", "pw-bob"},
		"wrong password":             {"dev-1", "alice", "nope"},
		"client id mismatch":         {"dev-2", "alice", "s3cret"},
		"no password":                {"dev-1", "alice", ""},
	} {
		if err := v3(c[0], c[1], c[2]); err == nil || !strings.Contains(err.Error(), "bad user name or password") {
			t.Errorf("%s: connect error %v, want CONNACK 4 (bad user name or password)", what, err)
		}
	}
	if err := v3("dev-1", "alice", "s3cret"); err != nil {
		t.Fatalf("alice refused: %v", err)
	}

	dial5 := func(a, id, user, pw string) (*paho.Client, *paho.Connack, error) {
		nc, err := net.Dial("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		pc := paho.NewClient(paho.ClientConfig{Conn: pahopackets.NewThreadSafeConn(nc)})
		cp := &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}
		if user != "" {
			cp.Username, cp.UsernameFlag, cp.Password, cp.PasswordFlag = user, true, []byte(pw), true
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ack, err := pc.Connect(cctx, cp)
		return pc, ack, err
	}
	if _, ack, err := dial5(addr, "dev-1", "bob", "pw-bob"); err == nil || ack == nil || ack.ReasonCode != 0x86 {
		t.Fatalf("v5 bob: %v %+v, want CONNACK 0x86", err, ack)
	}
	// Admitted without any plugin (the listener's allow_anonymous_override), never logged in
	// through vmq_diversity: its publish is refused there, before vmq_acl is asked.
	pc, _, err := dial5(fmt.Sprintf("127.0.0.1:%d", anonPort), "anon", "", "")
	if err != nil {
		t.Fatalf("anonymous listener: %v", err)
	}
	defer pc.Disconnect(&paho.Disconnect{})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := pc.Publish(pctx, &paho.Publish{Topic: "t/1", QoS: 1, Payload: []byte("x")})
	if res == nil || res.ReasonCode != 0x87 {
		t.Fatalf("publish of a client vmq_diversity has no ACLs for: %+v %v, want PUBACK 0x87", res, err)
	}
}

// vmq-admin plugin disable --name=vmq_diversity takes the Redis backend out of the chain and
// closes its pool (the server sees the broker's connections go); enable builds it again.
func TestDiversityDisableEnable(t *testing.T) {
	n, s := startWithRedis(t, []string{"t/#"}, []string{"t/#"},
		"listener.tcp.default = 127.0.0.1:0",
		"allow_anonymous = off",
		"plugins.vmq_passwd = off",
		"plugins.vmq_acl = off",
		"platform_data_dir = "+t.TempDir())
	addr := "tcp://" + n.ListenerAddr("tcp")
	connect := func(id string) error {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(addr).SetClientID(id).SetUsername("alice").
			SetPassword("s3cret").SetAutoReconnect(false).SetProtocolVersion(4))
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		if tok.Error() == nil {
			c.Disconnect(10)
		}
		return tok.Error()
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: s.Addr(), Password: testdb.RedisPassword})
	defer rdb.Close()
	clients := func() int {
		list, err := rdb.ClientList(context.Background()).Result()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(strings.TrimSpace(list), "\n") + 1
	}
	if err := connect("dev-1"); err != nil {
		t.Fatalf("alice refused with vmq_diversity on: %v", err)
	}
	if got := clients(); got < 2 {
		t.Fatalf("redis sees %d clients, want this test's and the broker's pool", got)
	}
	// plugin show lists the backend by its own name; disabling goes by the plugin's.
	if err := n.DisablePlugin(redis.Name); err == nil || !strings.Contains(err.Error(), "is a part of vmq_diversity; disable --name=vmq_diversity") {
		t.Fatalf("disable %s: %v", redis.Name, err)
	}
	if err := n.DisablePlugin("vmq_diversity"); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, eventually.Wait, "the broker's Redis connections closed", func() bool { return clients() == 1 })
	if err := connect("dev-1"); err == nil || !strings.Contains(err.Error(), "not Authorized") {
		t.Fatalf("vmq_diversity disabled: connect error %v, want CONNACK 5 (no plugin authenticates)", err)
	}
	if err := n.EnablePlugin("vmq_diversity"); err != nil {
		t.Fatal(err)
	}
	if err := connect("dev-1"); err != nil {
		t.Fatalf("alice refused after enabling vmq_diversity again: %v", err)
	}
}
