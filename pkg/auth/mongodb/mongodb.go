// Package mongodb is vmq_diversity's MongoDB authentication
// (auth/mongodb.lua) without Lua: documents of the collection vmq_acl_auth
//
//	{mountpoint: "", client_id: "c1" | "*", username: "alice",
//	 passhash: "<bcrypt $2a$...>", publish_acl: [...], subscribe_acl: [...]}
//
// The client's own document is preferred over its client_id "*" one, both
// read with one find. An unknown user is next, a wrong password is refused
// (mongodb.lua answers error for both).
package mongodb

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/auth/dbacl"
)

// Name is the chain name; Collection is VerneMQ's collection.
const (
	Name       = "vmq_diversity_auth_mongodb"
	Collection = "vmq_acl_auth"
)

// Config is vmq_diversity.mongodb.*.
type Config struct {
	Host       string
	Port       int
	SRV        string // mongodb+srv host; replaces Host/Port when set
	Login      string
	Password   string
	AuthSource string // "admin" if empty
	Database   string // "test" if empty (the driver's default database)
	SSL        bool
	TLS        dbacl.TLSFiles
	PoolSize   int
	Timeout    time.Duration // per query; 5s if 0
	Log        *slog.Logger
}

// Plugin implements auth_on_register, auth_on_publish, auth_on_subscribe.
type Plugin struct {
	dbacl.Authorizer
	cfg    Config
	client *mongo.Client
	coll   *mongo.Collection
}

// Filter is the find filter for a CONNECT.
func Filter(mountpoint, clientID, username string) bson.D {
	return bson.D{
		{Key: "mountpoint", Value: mountpoint},
		{Key: "client_id", Value: bson.D{{Key: "$in", Value: bson.A{clientID, "*"}}}},
		{Key: "username", Value: username},
	}
}

// ClientOptions builds the driver options from the conf settings.
func ClientOptions(cfg Config) (*options.ClientOptions, error) {
	uri := "mongodb://" + net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	if cfg.SRV != "" {
		uri = "mongodb+srv://" + cfg.SRV
	}
	o := options.Client().ApplyURI(uri).SetMaxPoolSize(uint64(max(cfg.PoolSize, 1))).
		SetConnectTimeout(cfg.Timeout).SetServerSelectionTimeout(cfg.Timeout).SetTimeout(cfg.Timeout)
	if cfg.Login != "" {
		src := cfg.AuthSource
		if src == "" {
			src = "admin"
		}
		o.SetAuth(options.Credential{Username: cfg.Login, Password: cfg.Password, AuthSource: src})
	}
	if cfg.SSL {
		tc, err := dbacl.TLSConfig(cfg.TLS, cfg.Host)
		if err != nil {
			return nil, err
		}
		o.SetTLSConfig(tc)
	}
	return o, o.Validate()
}

// New builds the plugin; the driver connects in the background.
func New(cfg Config) (*Plugin, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 5
	}
	if cfg.Database == "" {
		cfg.Database = "test"
	}
	o, err := ClientOptions(cfg)
	if err != nil {
		return nil, fmt.Errorf("vmq_diversity.mongodb settings: %w", err)
	}
	c, err := mongo.Connect(context.Background(), o)
	if err != nil {
		return nil, fmt.Errorf("vmq_diversity.mongodb: %w", err)
	}
	return &Plugin{Authorizer: dbacl.NewAuthorizer(Name, "mongodb", cfg.Log), cfg: cfg, client: c,
		coll: c.Database(cfg.Database).Collection(Collection)}, nil
}

// Start checks the server once; an unreachable one is logged, not fatal.
func (p *Plugin) Start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	if err := p.client.Ping(ctx, nil); err != nil {
		p.Log.Warn("auth database not reachable at start; clients will be refused until it is",
			"plugin", p.PluginName, "host", p.cfg.Host, "port", p.cfg.Port, "err", err)
	}
	return nil
}

// Close disconnects.
func (p *Plugin) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.Timeout)
	defer cancel()
	return p.client.Disconnect(ctx)
}

// doc is one vmq_acl_auth document.
type doc struct {
	ClientID     string        `bson:"client_id"`
	Passhash     string        `bson:"passhash"`
	PublishACL   bson.RawValue `bson:"publish_acl"`
	SubscribeACL bson.RawValue `bson:"subscribe_acl"`
}

// AuthOnRegister finds the client's documents and checks the bcrypt hash.
func (p *Plugin) AuthOnRegister(ctx context.Context, c *auth.Client) (auth.Decision, *auth.RegisterModifiers) {
	if dbacl.Skip(c) {
		return dbacl.Refuse(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	cur, err := p.coll.Find(ctx, Filter(c.Mountpoint, c.ClientID, c.Username))
	if err != nil {
		return p.Down(c, err), nil
	}
	var docs []doc
	if err := cur.All(ctx, &docs); err != nil {
		return p.Down(c, err), nil
	}
	rows := make([]dbacl.Row, 0, len(docs))
	for _, d := range docs {
		pub, err1 := toJSON(d.PublishACL)
		sub, err2 := toJSON(d.SubscribeACL)
		if err1 != nil || err2 != nil {
			p.Log.Error("bad ACL in MongoDB; refusing the client", "plugin", p.PluginName,
				"client_id", c.ClientID, "username", c.Username, "err", fmt.Sprint(err1, err2))
			return auth.Deny("invalid_acl"), nil
		}
		rows = append(rows, dbacl.Row{ClientID: d.ClientID, Check: dbacl.Checker("bcrypt", d.Passhash, c.Password),
			PublishACL: pub, SubscribeACL: sub})
	}
	return p.Register(c, rows), nil
}

// toJSON turns a BSON ACL array into plain JSON (relaxed: numbers stay numbers).
func toJSON(v bson.RawValue) ([]byte, error) {
	if v.Type == 0 || v.Type == bson.TypeNull {
		return nil, nil
	}
	b, err := bson.MarshalExtJSON(bson.D{{Key: "v", Value: v}}, false, false)
	if err != nil {
		return nil, err
	}
	var w struct {
		V json.RawMessage `json:"v"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	return w.V, nil
}
