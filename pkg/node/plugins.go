package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/auth/acl"
	"github.com/vernemq-go/vernemq/pkg/auth/dbacl"
	mongoauth "github.com/vernemq-go/vernemq/pkg/auth/mongodb"
	mysqlauth "github.com/vernemq-go/vernemq/pkg/auth/mysql"
	"github.com/vernemq-go/vernemq/pkg/auth/passwd"
	pgauth "github.com/vernemq-go/vernemq/pkg/auth/postgres"
	redisauth "github.com/vernemq-go/vernemq/pkg/auth/redis"
	"github.com/vernemq-go/vernemq/pkg/auth/webhooks"
)

// startPlugins adds the enabled plugins (plugins.<name> = on) in priority order and starts them.
func (n *Node) startPlugins(ctx context.Context) error {
	for _, p := range n.Cfg.Plugins() {
		var pl auth.Plugin
		switch p.Name {
		case "vmq_passwd":
			file, _ := n.Cfg.Raw("vmq_passwd.password_file")
			pl = passwd.New(passwd.Config{File: file, ReloadInterval: n.Cfg.Duration("vmq_passwd.password_reload_interval"), Log: n.Log})
		case "vmq_acl":
			file, _ := n.Cfg.Raw("vmq_acl.acl_file")
			pl = acl.New(acl.Config{File: file, ReloadInterval: n.Cfg.Duration("vmq_acl.acl_reload_interval"), Log: n.Log})
		case "vmq_diversity":
			// Each vmq_diversity.auth_<db>.enabled = on backend is its own chain entry, in this order.
			c := n.Cfg
			tlsFiles := func(db string) dbacl.TLSFiles {
				return dbacl.TLSFiles{CAFile: c.String("vmq_diversity." + db + ".cafile"),
					CertFile: c.String("vmq_diversity." + db + ".certfile"), KeyFile: c.String("vmq_diversity." + db + ".keyfile")}
			}
			var backends []auth.Plugin
			for _, db := range []string{"postgres", "cockroachdb"} {
				if !c.Bool("vmq_diversity.auth_" + db + ".enabled") {
					continue
				}
				k := "vmq_diversity." + db + "."
				name := pgauth.NamePostgres
				if db == "cockroachdb" {
					name = pgauth.NameCockroachDB
				}
				b, err := pgauth.New(pgauth.Config{Name: name, Backend: db, Host: c.String(k + "host"), Port: int(c.Int(k + "port")),
					User: c.String(k + "user"), Password: c.String(k + "password"), Database: c.String(k + "database"),
					SSL: c.Bool(k + "ssl"), TLS: tlsFiles(db), PoolSize: int(c.Int(k + "pool_size")),
					HashMethod: c.String(k + "password_hash_method"), Log: n.Log})
				if err != nil {
					return fmt.Errorf("plugin vmq_diversity: %w", err)
				}
				backends = append(backends, b)
			}
			for _, db := range []string{"mysql", "mysql2"} {
				if !c.Bool("vmq_diversity.auth_" + db + ".enabled") {
					continue
				}
				k := "vmq_diversity." + db + "."
				name := mysqlauth.Name
				if db == "mysql2" {
					name = mysqlauth.Name2
				}
				b, err := mysqlauth.New(mysqlauth.Config{Name: name, Backend: db, Host: c.String(k + "host"), Port: int(c.Int(k + "port")),
					User: c.String(k + "user"), Password: c.String(k + "password"), Database: c.String(k + "database"),
					SSL: c.Bool(k + "ssl"), TLS: tlsFiles(db), PoolSize: int(c.Int(k + "pool_size")),
					HashMethod: c.String(k + "password_hash_method"), Log: n.Log})
				if err != nil {
					return fmt.Errorf("plugin vmq_diversity: %w", err)
				}
				backends = append(backends, b)
			}
			if c.Bool("vmq_diversity.auth_mongodb.enabled") {
				k := "vmq_diversity.mongodb."
				b, err := mongoauth.New(mongoauth.Config{Host: c.String(k + "host"), Port: int(c.Int(k + "port")), SRV: c.String(k + "srv"),
					Login: c.String(k + "login"), Password: c.String(k + "password"), AuthSource: c.String(k + "auth_source"),
					Database: c.String(k + "database"), SSL: c.Bool(k + "ssl"), TLS: tlsFiles("mongodb"),
					PoolSize: int(c.Int(k + "pool_size")), Log: n.Log})
				if err != nil {
					return fmt.Errorf("plugin vmq_diversity: %w", err)
				}
				backends = append(backends, b)
			}
			if c.Bool("vmq_diversity.auth_redis.enabled") {
				k := "vmq_diversity.redis."
				dbn, _ := strconv.Atoi(c.String(k + "database"))
				b, err := redisauth.New(redisauth.Config{Host: c.String(k + "host"), Port: int(c.Int(k + "port")),
					User: c.String(k + "user"), Password: c.String(k + "password"), Database: dbn,
					SSL: c.Bool(k + "ssl"), TLS: tlsFiles("redis"), PoolSize: int(c.Int(k + "pool_size")), Log: n.Log})
				if err != nil {
					return fmt.Errorf("plugin vmq_diversity: %w", err)
				}
				backends = append(backends, b)
			}
			if len(backends) == 0 {
				n.Log.Warn("vmq_diversity is on but no vmq_diversity.auth_<db>.enabled = on; Lua scripts are not supported", "plugin", p.Name)
			}
			for _, b := range backends {
				if err := n.Auth.Add(b); err != nil {
					return fmt.Errorf("plugin %s: %w", b.Name(), err)
				}
				n.Log.Info("plugin enabled", "plugin", b.Name(), "priority", p.Priority)
			}
			continue
		case "vmq_webhooks":
			var eps []webhooks.Endpoint
			for key, url := range n.Cfg.Prefix("vmq_webhooks.") {
				name, ok := strings.CutSuffix(key, ".endpoint")
				if !ok {
					continue
				}
				k := "vmq_webhooks." + name + "."
				eps = append(eps, webhooks.Endpoint{Name: name, Hook: n.Cfg.String(k + "hook"), URL: url,
					Base64: n.Cfg.Bool(k + "base64encode"), NoPayload: n.Cfg.Bool(k + "no_payload"),
					ResponseTimeout: n.Cfg.Duration(k + "response_timeout")})
			}
			var tc *tls.Config
			if ca, cert := n.Cfg.String("vmq_webhooks.cafile"), n.Cfg.String("vmq_webhooks.certfile"); ca != "" || cert != "" {
				var err error
				if tc, err = dbacl.TLSConfig(dbacl.TLSFiles{CAFile: ca, CertFile: cert, KeyFile: n.Cfg.String("vmq_webhooks.keyfile")}, ""); err != nil {
					return fmt.Errorf("plugin vmq_webhooks: %w", err)
				}
			}
			if !n.Cfg.Bool("vmq_webhooks.verify_peer") {
				if tc == nil {
					tc = &tls.Config{}
				}
				tc.InsecureSkipVerify = true // vmq_webhooks.verify_peer = off, as asked
			}
			w, err := webhooks.New(webhooks.Config{Endpoints: eps, MaxConnsPerHost: int(n.Cfg.Int("vmq_webhooks.pool_max_connections")),
				IdleTimeout: n.Cfg.Duration("vmq_webhooks.pool_timeout"), TLS: tc, Log: n.Log})
			if err != nil {
				return fmt.Errorf("plugin vmq_webhooks: %w", err)
			}
			n.keepWebhooks(w) // for vmq-admin webhooks register|deregister|show|cache
			pl = w
		default:
			n.Log.Warn("plugin is enabled but not available in this build; ignored", "plugin", p.Name)
			continue
		}
		if err := n.Auth.Add(pl); err != nil {
			return fmt.Errorf("plugin %s: %w", p.Name, err)
		}
		n.Log.Info("plugin enabled", "plugin", p.Name, "priority", p.Priority)
	}
	if err := n.Auth.Start(ctx); err != nil {
		return fmt.Errorf("starting plugins: %w", err)
	}
	n.addCloser(n.Auth.Close)
	return nil
}
