package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/vernemq-go/vernemq/pkg/auth/dbacl"
	"github.com/vernemq-go/vernemq/pkg/auth/internal/testdb"
)

const schema = `CREATE TABLE vmq_auth_acl (
  mountpoint character varying(10) NOT NULL,
  client_id character varying(128) NOT NULL,
  username character varying(128) NOT NULL,
  password character varying(128),
  publish_acl json,
  subscribe_acl json,
  CONSTRAINT vmq_auth_acl_primary_key PRIMARY KEY (mountpoint, client_id, username))`

func connect(t *testing.T, s *testdb.Server, db string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(),
		fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", testdb.PGUser, testdb.PGPassword, s.Addr(), db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// setup creates one database per hash method, filled with testdb.Fixture
// the way VerneMQ's docs insert rows for that method.
func setup(t *testing.T, s *testdb.Server) {
	ctx := context.Background()
	admin := connect(t, s, "postgres")
	for _, m := range []string{"crypt", "bcrypt", "sha256"} {
		if _, err := admin.Exec(ctx, "CREATE DATABASE vernemq_"+m); err != nil {
			t.Fatal(err)
		}
		c := connect(t, s, "vernemq_"+m)
		if _, err := c.Exec(ctx, "CREATE EXTENSION pgcrypto"); err != nil {
			t.Fatalf("pgcrypto: %v", err)
		}
		if _, err := c.Exec(ctx, schema); err != nil {
			t.Fatal(err)
		}
		for _, r := range testdb.Fixture {
			hashExpr, pw := "crypt($4, gen_salt('bf'))", r.Password
			switch m {
			case "bcrypt":
				h, _ := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
				hashExpr, pw = "$4", string(h)
			case "sha256":
				hashExpr, pw = "$4", strings.ToUpper(dbacl.SHA256Hex([]byte(r.Password)))
			}
			_, err := c.Exec(ctx, `INSERT INTO vmq_auth_acl (mountpoint, client_id, username, password, publish_acl, subscribe_acl)
				VALUES ($1, $2, $3, `+hashExpr+`, $5::json, $6::json)`,
				r.Mountpoint, r.ClientID, r.Username, pw, r.PublishACL, r.SubscribeACL)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

func newPlugin(t *testing.T, s *testdb.Server, method string, logs *testdb.LogBuffer) *Plugin {
	cfg := Config{Host: "127.0.0.1", Port: s.Port, User: testdb.PGUser, Password: testdb.PGPassword,
		Database: "vernemq_" + method, HashMethod: method, PoolSize: 2, Log: logs.Logger()}
	if method == "sha256" {
		cfg.Name, cfg.Backend = NameCockroachDB, "cockroachdb"
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPostgres(t *testing.T) {
	s := testdb.Postgres(t)
	setup(t, s)
	for _, m := range []string{"crypt", "bcrypt", "sha256"} {
		t.Run(m, func(t *testing.T) {
			logs := &testdb.LogBuffer{}
			testdb.Check(t, newPlugin(t, s, m, logs))
		})
	}
	t.Run("down", func(t *testing.T) {
		logs := &testdb.LogBuffer{}
		testdb.CheckDownAndBack(t, newPlugin(t, s, "crypt", logs), s, logs)
	})
}

func TestBadHashMethod(t *testing.T) {
	if _, err := New(Config{HashMethod: "md5"}); err == nil {
		t.Fatal("md5 accepted for postgres")
	}
}
