package mysql

import (
	"context"
	"database/sql"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/vernemq-go/vernemq/pkg/auth/internal/testdb"
)

const (
	user     = "vmq"
	password = "vmq-my-secret"
)

var methods = []string{"password", "md5", "sha1", "sha256"}

// setup sets root's password over the socket, adds a TCP user and one
// database per hash method filled with testdb.Fixture.
func setup(t *testing.T, socket string) {
	ctx := context.Background()
	mc := mysql.NewConfig()
	mc.User, mc.Net, mc.Addr, mc.MultiStatements = "root", "unix", socket, true
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	stmts := []string{
		"ALTER USER 'root'@'localhost' IDENTIFIED BY '" + testdb.MariaDBRootPassword + "'",
		"CREATE USER '" + user + "'@'127.0.0.1' IDENTIFIED BY '" + password + "'",
	}
	for _, m := range methods {
		stmts = append(stmts, "CREATE DATABASE vernemq_"+m,
			"GRANT ALL ON vernemq_"+m+".* TO '"+user+"'@'127.0.0.1'",
			`CREATE TABLE vernemq_`+m+`.vmq_auth_acl (
			  mountpoint VARCHAR(10) NOT NULL, client_id VARCHAR(128) NOT NULL,
			  username VARCHAR(128) NOT NULL, password VARCHAR(128),
			  publish_acl TEXT, subscribe_acl TEXT,
			  CONSTRAINT vmq_auth_acl_primary_key PRIMARY KEY (mountpoint, client_id, username))`)
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	for _, m := range methods {
		h, _ := HashExpr(m)
		for _, r := range testdb.Fixture {
			_, err := db.ExecContext(ctx, `INSERT INTO vernemq_`+m+`.vmq_auth_acl
				(mountpoint, client_id, username, password, publish_acl, subscribe_acl) VALUES (?, ?, ?, `+h+`, ?, ?)`,
				r.Mountpoint, r.ClientID, r.Username, r.Password, r.PublishACL, r.SubscribeACL)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

func newPlugin(t *testing.T, s *testdb.Server, method string, logs *testdb.LogBuffer) *Plugin {
	p, err := New(Config{Host: "127.0.0.1", Port: s.Port, User: user, Password: password,
		Database: "vernemq_" + method, HashMethod: method, PoolSize: 2, Log: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMariaDB(t *testing.T) {
	s, socket := testdb.MariaDB(t)
	setup(t, socket)
	for _, m := range methods {
		t.Run(m, func(t *testing.T) {
			testdb.Check(t, newPlugin(t, s, m, &testdb.LogBuffer{}))
		})
	}
	t.Run("down", func(t *testing.T) {
		logs := &testdb.LogBuffer{}
		testdb.CheckDownAndBack(t, newPlugin(t, s, "sha256", logs), s, logs)
	})
}

func TestBadHashMethod(t *testing.T) {
	if _, err := New(Config{HashMethod: "crypt"}); err == nil {
		t.Fatal("crypt accepted for mysql")
	}
}
