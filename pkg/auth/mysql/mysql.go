// Package mysql is vmq_diversity's MySQL/MariaDB authentication
// (auth/mysql.lua, auth/mysql2.lua) without Lua: the same vmq_auth_acl
// table and query, with the password hashed in SQL by
// vmq_diversity.mysql.password_hash_method:
//
//	password: PASSWORD(?)   (MariaDB; gone in MySQL >= 8.0.11)
//	md5:      MD5(?)
//	sha1:     SHA1(?)
//	sha256:   SHA2(?, 256)
//
//	CREATE TABLE vmq_auth_acl (
//	  mountpoint VARCHAR(10) NOT NULL,
//	  client_id VARCHAR(128) NOT NULL,
//	  username VARCHAR(128) NOT NULL,
//	  password VARCHAR(128),
//	  publish_acl TEXT,
//	  subscribe_acl TEXT,
//	  CONSTRAINT vmq_auth_acl_primary_key PRIMARY KEY (mountpoint, client_id, username));
//
// Deviation: mysql.lua answers error for an unknown user; here an unknown
// user is next (another plugin may accept it) and a wrong password is
// refused with invalid credentials, as the PostgreSQL backend.
package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/auth/dbacl"
)

// Chain names of the two backends (mysql2 is VerneMQ's MySQL 8 / MariaDB driver).
const (
	Name  = "vmq_diversity_auth_mysql"
	Name2 = "vmq_diversity_auth_mysql2"
)

// Config is vmq_diversity.mysql.* (or mysql2.*).
type Config struct {
	Name       string // chain name; Name if empty
	Backend    string // "mysql" or "mysql2"
	Host       string
	Port       int
	User       string
	Password   string
	Database   string
	SSL        bool
	TLS        dbacl.TLSFiles
	PoolSize   int
	HashMethod string        // password | md5 | sha1 | sha256
	Timeout    time.Duration // per query; 5s if 0
	Log        *slog.Logger
}

// Plugin implements auth_on_register, auth_on_publish, auth_on_subscribe.
type Plugin struct {
	dbacl.Authorizer
	cfg   Config
	db    *sql.DB
	query string
}

// HashExpr is the SQL expression hashing the password parameter.
func HashExpr(method string) (string, error) {
	switch method {
	case "password":
		return "PASSWORD(?)", nil
	case "md5":
		return "MD5(?)", nil
	case "sha1":
		return "SHA1(?)", nil
	case "sha256":
		return "SHA2(?, 256)", nil
	}
	return "", fmt.Errorf("password_hash_method %q: use password, md5, sha1 or sha256", method)
}

// Query is the lookup; the password test is the 4th column so that an
// unknown user and a wrong password can be told apart.
func Query(method string) (string, error) {
	h, err := HashExpr(method)
	if err != nil {
		return "", err
	}
	return `SELECT publish_acl, subscribe_acl, client_id, COALESCE(password = ` + h + `, 0)
FROM vmq_auth_acl
WHERE mountpoint=? AND (client_id=? OR client_id='*') AND username=?`, nil
}

// New builds the plugin and its pool; it does not connect yet (Start checks).
func New(cfg Config) (*Plugin, error) {
	if cfg.Name == "" {
		cfg.Name = Name
	}
	if cfg.Backend == "" {
		cfg.Backend = "mysql"
	}
	q, err := Query(cfg.HashMethod)
	if err != nil {
		return nil, fmt.Errorf("vmq_diversity.%s.%w", cfg.Backend, err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 5
	}
	mc := mysql.NewConfig()
	mc.User, mc.Passwd, mc.DBName = cfg.User, cfg.Password, cfg.Database
	mc.Net, mc.Addr = "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	mc.Timeout, mc.ReadTimeout, mc.WriteTimeout = cfg.Timeout, cfg.Timeout, cfg.Timeout
	if cfg.SSL {
		tc, err := dbacl.TLSConfig(cfg.TLS, cfg.Host)
		if err != nil {
			return nil, fmt.Errorf("vmq_diversity.%s TLS: %w", cfg.Backend, err)
		}
		mc.TLS = tc
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("vmq_diversity.%s settings: %w", cfg.Backend, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(cfg.PoolSize)
	db.SetMaxIdleConns(cfg.PoolSize)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return &Plugin{Authorizer: dbacl.NewAuthorizer(cfg.Name, cfg.Backend, cfg.Log), cfg: cfg, db: db, query: q}, nil
}

// Start checks the database once; an unreachable one is logged, not fatal.
func (p *Plugin) Start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	if err := p.db.PingContext(ctx); err != nil {
		p.Log.Warn("auth database not reachable at start; clients will be refused until it is",
			"plugin", p.PluginName, "host", p.cfg.Host, "port", p.cfg.Port, "err", err)
	}
	return nil
}

// Close closes the pool.
func (p *Plugin) Close() error { return p.db.Close() }

// AuthOnRegister looks the client up and caches its ACLs.
func (p *Plugin) AuthOnRegister(ctx context.Context, c *auth.Client) (auth.Decision, *auth.RegisterModifiers) {
	return p.AuthOnRegisterWith(c, func() ([]dbacl.Row, error) { return p.lookup(ctx, c) }), nil
}

func (p *Plugin) lookup(ctx context.Context, c *auth.Client) ([]dbacl.Row, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	rs, err := p.db.QueryContext(ctx, p.query, string(c.Password), c.Mountpoint, c.ClientID, c.Username)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []dbacl.Row
	for rs.Next() {
		var pub, sub sql.NullString
		var ok int64
		var r dbacl.Row
		if err := rs.Scan(&pub, &sub, &r.ClientID, &ok); err != nil {
			return nil, err
		}
		r.PasswordOK = ok == 1
		if pub.Valid {
			r.PublishACL = []byte(pub.String)
		}
		if sub.Valid {
			r.SubscribeACL = []byte(sub.String)
		}
		out = append(out, r)
	}
	return out, rs.Err()
}
