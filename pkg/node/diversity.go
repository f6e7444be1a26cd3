package node

import (
	"strconv"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/auth/dbacl"
	mongoauth "github.com/vernemq-go/vernemq/pkg/auth/mongodb"
	mysqlauth "github.com/vernemq-go/vernemq/pkg/auth/mysql"
	pgauth "github.com/vernemq-go/vernemq/pkg/auth/postgres"
	redisauth "github.com/vernemq-go/vernemq/pkg/auth/redis"
)

// dbConf is what every vmq_diversity.<db>.* section holds.
type dbConf struct {
	Host, User, Password, Database, HashMethod string
	Port, PoolSize                             int
	SSL                                        bool
	TLS                                        dbacl.TLSFiles
}

func (n *Node) dbConf(db string) dbConf {
	c, k := n.Cfg, "vmq_diversity."+db+"."
	return dbConf{
		Host: c.String(k + "host"), Port: int(c.Int(k + "port")), User: c.String(k + "user"),
		Password: c.String(k + "password"), Database: c.String(k + "database"), SSL: c.Bool(k + "ssl"),
		PoolSize: int(c.Int(k + "pool_size")),
		TLS:      dbacl.TLSFiles{CAFile: c.String(k + "cafile"), CertFile: c.String(k + "certfile"), KeyFile: c.String(k + "keyfile")},
	}
}

func (n *Node) dbEnabled(db string) bool { return n.Cfg.Bool("vmq_diversity.auth_" + db + ".enabled") }

// diversityBackends builds the enabled vmq_diversity backends, in VerneMQ's order.
func (n *Node) diversityBackends() ([]auth.Plugin, error) {
	var out []auth.Plugin
	add := func(p auth.Plugin, err error) error {
		if err == nil {
			out = append(out, p)
		}
		return err
	}
	hash := func(db string) string { return n.Cfg.String("vmq_diversity." + db + ".password_hash_method") }
	for _, b := range []struct{ db, name string }{{"postgres", pgauth.NamePostgres}, {"cockroachdb", pgauth.NameCockroachDB}} {
		if !n.dbEnabled(b.db) {
			continue
		}
		d := n.dbConf(b.db)
		if err := add(pgauth.New(pgauth.Config{Name: b.name, Backend: b.db, Host: d.Host, Port: d.Port, User: d.User,
			Password: d.Password, Database: d.Database, SSL: d.SSL, TLS: d.TLS, PoolSize: d.PoolSize,
			HashMethod: hash(b.db), Log: n.Log})); err != nil {
			return nil, err
		}
	}
	for _, b := range []struct{ db, name string }{{"mysql", mysqlauth.Name}, {"mysql2", mysqlauth.Name2}} {
		if !n.dbEnabled(b.db) {
			continue
		}
		d := n.dbConf(b.db)
		if err := add(mysqlauth.New(mysqlauth.Config{Name: b.name, Backend: b.db, Host: d.Host, Port: d.Port, User: d.User,
			Password: d.Password, Database: d.Database, SSL: d.SSL, TLS: d.TLS, PoolSize: d.PoolSize,
			HashMethod: hash(b.db), Log: n.Log})); err != nil {
			return nil, err
		}
	}
	if n.dbEnabled("mongodb") {
		d, k := n.dbConf("mongodb"), "vmq_diversity.mongodb."
		if err := add(mongoauth.New(mongoauth.Config{Host: d.Host, Port: d.Port, SRV: n.Cfg.String(k + "srv"),
			Login: n.Cfg.String(k + "login"), Password: d.Password, AuthSource: n.Cfg.String(k + "auth_source"),
			Database: d.Database, SSL: d.SSL, TLS: d.TLS, PoolSize: d.PoolSize, Log: n.Log})); err != nil {
			return nil, err
		}
	}
	if n.dbEnabled("redis") {
		d := n.dbConf("redis")
		dbn, _ := strconv.Atoi(d.Database)
		if err := add(redisauth.New(redisauth.Config{Host: d.Host, Port: d.Port, User: d.User, Password: d.Password,
			Database: dbn, SSL: d.SSL, TLS: d.TLS, PoolSize: d.PoolSize, Log: n.Log})); err != nil {
			return nil, err
		}
	}
	return out, nil
}
