// Package postgres is vmq_diversity's PostgreSQL and CockroachDB
// authentication (auth/postgres.lua, auth/cockroachdb.lua) without Lua:
// the same vmq_auth_acl table and query, over a pgx connection pool.
//
//	CREATE EXTENSION pgcrypto;
//	CREATE TABLE vmq_auth_acl (
//	  mountpoint character varying(10) NOT NULL,
//	  client_id character varying(128) NOT NULL,
//	  username character varying(128) NOT NULL,
//	  password character varying(128),
//	  publish_acl json,
//	  subscribe_acl json,
//	  CONSTRAINT vmq_auth_acl_primary_key PRIMARY KEY (mountpoint, client_id, username));
//
// password_hash_method crypt compares crypt($password, password) in SQL
// (pgcrypto; PostgreSQL only); bcrypt compares client-side; sha256 (the
// CockroachDB default) compares the hex SHA-256, as CockroachDB's sha256().
//
// Deviation: VerneMQ puts the password test in the WHERE clause, so a wrong
// password looks like an unknown user (next). Here the test is a selected
// column, so an unknown user is next and a wrong password is refused with
// invalid credentials, as vmq_passwd does.
package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/auth/dbacl"
)

// Chain names of the two backends.
const (
	NamePostgres    = "vmq_diversity_auth_postgres"
	NameCockroachDB = "vmq_diversity_auth_cockroachdb"
)

// Config is vmq_diversity.postgres.* (or vmq_diversity.cockroachdb.*).
type Config struct {
	Name       string // chain name; NamePostgres if empty
	Backend    string // "postgres" or "cockroachdb", for log lines and conf hints
	Host       string
	Port       int
	User       string
	Password   string
	Database   string
	SSL        bool
	TLS        dbacl.TLSFiles
	PoolSize   int
	HashMethod string        // crypt | bcrypt | sha256
	Timeout    time.Duration // per query; 5s if 0
	Log        *slog.Logger
}

// Plugin implements auth_on_register, auth_on_publish, auth_on_subscribe.
type Plugin struct {
	dbacl.Authorizer
	cfg  Config
	pool *pgxpool.Pool
}

// New builds the plugin and its pool; it does not connect yet (Start checks).
func New(cfg Config) (*Plugin, error) {
	if cfg.Name == "" {
		cfg.Name = NamePostgres
	}
	if cfg.Backend == "" {
		cfg.Backend = "postgres"
	}
	switch cfg.HashMethod {
	case "crypt", "bcrypt", "sha256":
	default:
		return nil, fmt.Errorf("vmq_diversity.%s.password_hash_method %q: use crypt, bcrypt or sha256", cfg.Backend, cfg.HashMethod)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 5
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(cfg.User, cfg.Password),
		Host: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), Path: "/" + cfg.Database}
	q := url.Values{"sslmode": {"disable"}, "pool_max_conns": {strconv.Itoa(cfg.PoolSize)}}
	u.RawQuery = q.Encode()
	pc, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("vmq_diversity.%s settings: %w", cfg.Backend, err)
	}
	pc.ConnConfig.ConnectTimeout = cfg.Timeout
	if cfg.SSL {
		tc, err := dbacl.TLSConfig(cfg.TLS, cfg.Host)
		if err != nil {
			return nil, fmt.Errorf("vmq_diversity.%s TLS: %w", cfg.Backend, err)
		}
		pc.ConnConfig.TLSConfig = tc
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, fmt.Errorf("vmq_diversity.%s pool: %w", cfg.Backend, err)
	}
	return &Plugin{Authorizer: dbacl.NewAuthorizer(cfg.Name, cfg.Backend, cfg.Log), cfg: cfg, pool: pool}, nil
}

// Start checks the database once; an unreachable one is logged, not fatal:
// clients are refused until it answers.
func (p *Plugin) Start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	if err := p.pool.Ping(ctx); err != nil {
		p.Log.Warn("auth database not reachable at start; clients will be refused until it is",
			"plugin", p.PluginName, "host", p.cfg.Host, "port", p.cfg.Port, "err", err)
	}
	return nil
}

// Close closes the pool.
func (p *Plugin) Close() error {
	p.pool.Close()
	return nil
}

const baseQuery = `SELECT publish_acl::TEXT, subscribe_acl::TEXT, client_id, %s
FROM vmq_auth_acl
WHERE mountpoint=$1 AND (client_id=$2 OR client_id='*') AND username=$3`

// Query returns the SQL for a hash method; its 4th column is a boolean
// (crypt) or the stored hash (bcrypt, sha256).
func Query(method string) string {
	if method == "crypt" {
		return fmt.Sprintf(baseQuery, "COALESCE(password = crypt($4, password), false)")
	}
	return fmt.Sprintf(baseQuery, "COALESCE(password, '')")
}

// AuthOnRegister looks the client up and caches its ACLs.
func (p *Plugin) AuthOnRegister(ctx context.Context, c *auth.Client) (auth.Decision, *auth.RegisterModifiers) {
	return p.AuthOnRegisterWith(c, func() ([]dbacl.Row, error) { return p.lookup(ctx, c) }), nil
}

func (p *Plugin) lookup(ctx context.Context, c *auth.Client) ([]dbacl.Row, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	args := []any{c.Mountpoint, c.ClientID, c.Username}
	if p.cfg.HashMethod == "crypt" {
		args = append(args, string(c.Password))
	}
	rs, err := p.pool.Query(ctx, Query(p.cfg.HashMethod), args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []dbacl.Row
	for rs.Next() {
		var pub, sub *string
		var r dbacl.Row
		if p.cfg.HashMethod == "crypt" {
			err = rs.Scan(&pub, &sub, &r.ClientID, &r.PasswordOK)
		} else {
			var hash string
			err = rs.Scan(&pub, &sub, &r.ClientID, &hash)
			r.Check = dbacl.Checker(p.cfg.HashMethod, hash, c.Password)
		}
		if err != nil {
			return nil, err
		}
		if pub != nil {
			r.PublishACL = []byte(*pub)
		}
		if sub != nil {
			r.SubscribeACL = []byte(*sub)
		}
		out = append(out, r)
	}
	return out, rs.Err()
}
