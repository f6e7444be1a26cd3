package config

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// CheckStartable reports what would stop a node started from c, or make it start
// degraded, beyond the conf's own syntax: errors where `vernemq console` refuses
// to start (no MQTT listener, a TLS or webhook file it cannot read), warnings where
// it starts and retries (password and ACL files are re-read until they appear).
// Load runs it, so `vernemq config check` and `vernemq console` agree.
func (c *Config) CheckStartable() (errs []error, warns []string) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	at := func(key string) origin {
		if o, ok := c.from[key]; ok {
			return o
		}
		return origin{source: "default"}
	}
	fail := func(key, format string, args ...any) {
		o := at(key)
		errs = append(errs, &Error{Source: o.source, Line: o.line, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	warn := func(key, msg string) {
		o := at(key)
		warns = append(warns, (&Error{Source: o.source, Line: o.line, Key: key, Msg: msg}).Error())
	}

	mqtt := false
	for _, tn := range c.listenerNames() {
		if slices.Contains(mqttTypes, tn[0]) {
			mqtt = true
		}
		if !slices.Contains(tlsTypes, tn[0]) {
			continue
		}
		base := "listener." + tn[0] + "." + tn[1]
		l := c.listener(tn[0], tn[1])
		for _, f := range []struct{ opt, path string }{{"certfile", l.CertFile}, {"keyfile", l.KeyFile}, {"cafile", l.CAFile}, {"crlfile", l.CRLFile}} {
			if err := readable(f.path); err != nil {
				fail(base, "%s %v; the listener cannot start (fix %s.%s or listener.%s.%s)", f.opt, err, base, f.opt, tn[0], f.opt)
			}
		}
	}
	if !mqtt {
		errs = append(errs, &Error{Source: c.file, Msg: "no MQTT listener configured, the node would refuse to start: add e.g. listener.tcp.default = 127.0.0.1:1883"})
	}

	plugin := func(name string) bool { _, v := c.resolve("plugins." + name); return v.b }
	for _, f := range []struct{ plugin, key, what, fix string }{
		{"vmq_passwd", "vmq_passwd.password_file", "password file", "create it with vmq-passwd -c FILE USER; until then vmq_passwd knows no users"},
		{"vmq_acl", "vmq_acl.acl_file", "ACL file", "until then vmq_acl grants nothing"},
	} {
		if !plugin(f.plugin) {
			continue
		}
		_, v := c.resolve(f.key)
		if err := readable(c.expand(v.raw, 0)); err != nil {
			warn(f.key, fmt.Sprintf("%s %v; the node starts and reads it once it can (%s)", f.what, err, f.fix))
		}
	}
	if plugin("vmq_webhooks") {
		for _, k := range []string{"vmq_webhooks.cafile", "vmq_webhooks.certfile", "vmq_webhooks.keyfile"} {
			_, v := c.resolve(k)
			if err := readable(c.expand(v.raw, 0)); err != nil {
				fail(k, "%v; plugin vmq_webhooks cannot start", err)
			}
		}
	}
	if plugin("vmq_diversity") {
		for _, db := range []string{"postgres", "cockroachdb", "mysql", "mysql2", "mongodb", "redis"} {
			if k := c.s.lookup("vmq_diversity.auth_" + db + ".enabled"); k == nil {
				continue
			}
			if _, on := c.resolve("vmq_diversity.auth_" + db + ".enabled"); !on.b {
				continue
			}
			if k := c.s.lookup("vmq_diversity." + db + ".ssl"); k == nil {
				continue
			}
			if _, ssl := c.resolve("vmq_diversity." + db + ".ssl"); !ssl.b {
				continue
			}
			for _, f := range []string{"cafile", "certfile", "keyfile"} {
				k := "vmq_diversity." + db + "." + f
				if c.s.lookup(k) == nil {
					continue
				}
				_, v := c.resolve(k)
				if err := readable(c.expand(v.raw, 0)); err != nil {
					fail(k, "%v; vmq_diversity cannot reach %s over TLS", err, db)
				}
			}
		}
	}
	return errs, warns
}

// readable opens path to see that the node will be able to; "" is not configured.
func readable(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "open "+path+": "))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return fmt.Errorf("%s: is a directory, not a file", path)
	}
	return nil
}
