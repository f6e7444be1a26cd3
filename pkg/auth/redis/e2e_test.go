package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/vernemq-go/vernemq/pkg/auth/internal/testdb"
	"github.com/vernemq-go/vernemq/pkg/auth/redis"
	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/node"
)

// TestBrokerWithRedis runs a whole node with vmq_diversity's Redis backend and real MQTT
// clients: the stored password and ACLs decide CONNACK, PUBACK-less delivery and SUBACK.
func TestBrokerWithRedis(t *testing.T) {
	s := testdb.Redis(t)
	ctx := context.Background()
	rdb := goredis.NewClient(&goredis.Options{Addr: s.Addr(), Password: testdb.RedisPassword})
	defer rdb.Close()
	h, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	v, _ := json.Marshal(map[string]any{"passhash": string(h),
		"publish_acl":   []map[string]any{{"pattern": "telemetry/%c/#"}},
		"subscribe_acl": []map[string]any{{"pattern": "commands/%c/#"}}})
	if err := rdb.Set(ctx, redis.Key("", "dev-1", "alice"), v, 0).Err(); err != nil {
		t.Fatal(err)
	}
	conf := strings.Join([]string{
		"listener.tcp.default = 127.0.0.1:0",
		"allow_anonymous = off",
		"plugins.vmq_passwd = off",
		"plugins.vmq_acl = off",
		"plugins.vmq_diversity = on",
		"vmq_diversity.auth_redis.enabled = on",
		"vmq_diversity.redis.host = 127.0.0.1",
		fmt.Sprintf("vmq_diversity.redis.port = %d", s.Port),
		"vmq_diversity.redis.password = " + testdb.RedisPassword,
		"platform_data_dir = " + t.TempDir(),
		"log.console = off",
	}, "\n")
	cfg, _, err := config.Parse(strings.NewReader(conf), "redis.conf", nil)
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
	defer n.Stop(ctx)
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
	// A publish the ACL allows reaches a subscriber; a forbidden one does not (3.1.1: acked and dropped).
	watch := make(chan string, 4)
	c.Subscribe("telemetry/#", 0, func(_ mqtt.Client, m mqtt.Message) { watch <- m.Topic() }).WaitTimeout(5 * time.Second)
	c.Publish("telemetry/dev-9/t", 1, false, "no").WaitTimeout(5 * time.Second)
	c.Publish("commands/dev-1/x", 1, false, "no").WaitTimeout(5 * time.Second)
	select {
	case tp := <-got:
		t.Fatalf("forbidden publish delivered on %s", tp)
	case <-time.After(300 * time.Millisecond):
	}
	_ = watch
}
