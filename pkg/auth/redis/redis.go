// Package redis is vmq_diversity's Redis authentication (auth/redis.lua)
// without Lua. The key is the JSON array [mountpoint, client_id, username]
// and the value a JSON object
//
//	{"passhash": "<bcrypt $2a$...>", "publish_acl": [...], "subscribe_acl": [...]}
//
// e.g. SET '["","client-1","alice"]' '{"passhash":"$2a$12$...","publish_acl":[{"pattern":"a/#"}]}'.
//
// Extension: when the client's own key is missing, the key with client_id
// "*" is tried (as the SQL backends' default row); redis.lua only reads the
// exact key. An unknown user is next; a wrong password is refused.
package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/auth/dbacl"
)

// Name is the chain name.
const Name = "vmq_diversity_auth_redis"

// Config is vmq_diversity.redis.*.
type Config struct {
	Host     string
	Port     int
	User     string
	Password string
	Database int
	SSL      bool
	TLS      dbacl.TLSFiles
	PoolSize int
	Timeout  time.Duration // per command; 5s if 0
	Log      *slog.Logger
}

// Plugin implements auth_on_register, auth_on_publish, auth_on_subscribe.
type Plugin struct {
	dbacl.Authorizer
	cfg Config
	rdb *goredis.Client
}

// Value is the JSON stored under a key.
type Value struct {
	Passhash     string          `json:"passhash"`
	PublishACL   json.RawMessage `json:"publish_acl"`
	SubscribeACL json.RawMessage `json:"subscribe_acl"`
}

// Key is the Redis key of {mountpoint, client_id, username}.
func Key(mountpoint, clientID, username string) string {
	b, _ := json.Marshal([]string{mountpoint, clientID, username})
	return string(b)
}

// New builds the plugin and its pool; it does not connect yet (Start checks).
func New(cfg Config) (*Plugin, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 5
	}
	o := &goredis.Options{
		Addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), Username: cfg.User, Password: cfg.Password,
		DB: cfg.Database, PoolSize: cfg.PoolSize, DialTimeout: cfg.Timeout, ReadTimeout: cfg.Timeout,
		WriteTimeout: cfg.Timeout, MaxRetries: 1,
	}
	if cfg.SSL {
		tc, err := dbacl.TLSConfig(cfg.TLS, cfg.Host)
		if err != nil {
			return nil, fmt.Errorf("vmq_diversity.redis TLS: %w", err)
		}
		o.TLSConfig = tc
	}
	return &Plugin{Authorizer: dbacl.NewAuthorizer(Name, "redis", cfg.Log), cfg: cfg, rdb: goredis.NewClient(o)}, nil
}

// Start checks the server once; an unreachable one is logged, not fatal.
func (p *Plugin) Start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	if err := p.rdb.Ping(ctx).Err(); err != nil {
		p.Log.Warn("auth database not reachable at start; clients will be refused until it is",
			"plugin", p.PluginName, "host", p.cfg.Host, "port", p.cfg.Port, "err", err)
	}
	return nil
}

// Close closes the pool.
func (p *Plugin) Close() error { return p.rdb.Close() }

// AuthOnRegister reads the client's key (then the '*' key) and checks the bcrypt hash.
func (p *Plugin) AuthOnRegister(ctx context.Context, c *auth.Client) (auth.Decision, *auth.RegisterModifiers) {
	if dbacl.Skip(c) {
		return dbacl.Refuse(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	ids := []string{c.ClientID, "*"}
	vals, err := p.rdb.MGet(ctx, Key(c.Mountpoint, ids[0], c.Username), Key(c.Mountpoint, ids[1], c.Username)).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return p.Down(c, err), nil
	}
	var rows []dbacl.Row
	for i, v := range vals {
		s, ok := v.(string)
		if !ok || (i == 1 && c.ClientID == "*") {
			continue
		}
		var val Value
		if err := json.Unmarshal([]byte(s), &val); err != nil {
			p.Log.Error("bad JSON value in Redis; refusing the client (store {\"passhash\":..,\"publish_acl\":[..],\"subscribe_acl\":[..]})",
				"plugin", p.PluginName, "key", Key(c.Mountpoint, ids[i], c.Username), "err", err)
			return auth.Deny("invalid_acl"), nil
		}
		rows = append(rows, dbacl.Row{ClientID: ids[i], Check: dbacl.Checker("bcrypt", val.Passhash, c.Password),
			PublishACL: val.PublishACL, SubscribeACL: val.SubscribeACL})
	}
	return p.Register(c, rows), nil
}
