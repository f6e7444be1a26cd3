package redis

import (
	"context"
	"encoding/json"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/vernemq-go/vernemq/pkg/auth/internal/testdb"
)

func TestKeyFormat(t *testing.T) {
	// The exact bytes VerneMQ's json.encode({mp, client_id, user}) produces.
	if got, want := Key("", "client-1", "alice"), `["","client-1","alice"]`; got != want {
		t.Fatalf("Key = %s, want %s", got, want)
	}
}

func TestRedis(t *testing.T) {
	s := testdb.Redis(t)
	ctx := context.Background()
	rdb := goredis.NewClient(&goredis.Options{Addr: s.Addr(), Password: testdb.RedisPassword})
	defer rdb.Close()
	for _, r := range testdb.Fixture {
		h, _ := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
		v, _ := json.Marshal(map[string]any{"passhash": string(h),
			"publish_acl": json.RawMessage(r.PublishACL), "subscribe_acl": json.RawMessage(r.SubscribeACL)})
		if err := rdb.Set(ctx, Key(r.Mountpoint, r.ClientID, r.Username), v, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	logs := &testdb.LogBuffer{}
	p, err := New(Config{Host: "127.0.0.1", Port: s.Port, Password: testdb.RedisPassword, PoolSize: 2, Log: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	testdb.Check(t, p)
	t.Run("down", func(t *testing.T) { testdb.CheckDownAndBack(t, p, s, logs) })
}
