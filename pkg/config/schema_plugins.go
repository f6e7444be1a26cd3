package config

import (
	"math"
)

// webhookHooks are the hooks vmq_webhooks accepts in vmq_webhooks.<name>.hook.
var webhookHooks = []string{
	"auth_on_register", "auth_on_publish", "auth_on_subscribe", "on_register", "on_publish",
	"on_subscribe", "on_unsubscribe", "on_deliver", "on_offline_message", "on_client_wakeup",
	"on_client_offline", "on_client_gone", "on_session_expired",
	"auth_on_register_m5", "auth_on_publish_m5", "auth_on_subscribe_m5", "on_register_m5",
	"on_publish_m5", "on_subscribe_m5", "on_unsubscribe_m5", "on_deliver_m5", "on_auth_m5",
}

// luaHint: vmq_diversity runs no Lua here; its database backends are built in.
const luaHint = "accepted and ignored: no Lua scripts; the database lookups of VerneMQ's stock scripts are built in (vmq_diversity.auth_<db>.enabled = on)"

// pluginKeys: plugin switches and the bundled plugins' keys (§5).
func pluginKeys() []*Key {
	keys := []*Key{
		{Name: "plugins.$name", Type: TypeBool, Default: "off", Doc: "Enable (on) or disable (off) a plugin."},
		{Name: "plugins.$name.priority", Type: TypeInt, Doc: "Chain position: lower runs first; unset runs after prioritized plugins."},
		{Name: "plugins.$name.path", Type: TypeString, Warn: "accepted and ignored: plugins are built into the broker; there is no plugin code to load", Doc: "Plugin location (VerneMQ); informational here."},
		{Name: "plugins.vmq_passwd", Type: TypeBool, Default: "on", Doc: "File-based authentication (vmq.passwd)."},
		{Name: "plugins.vmq_acl", Type: TypeBool, Default: "on", Doc: "File-based authorization (vmq.acl)."},
		{Name: "plugins.vmq_diversity", Type: TypeBool, Default: "off", Doc: "Lua scripts and database authentication."},
		{Name: "plugins.vmq_webhooks", Type: TypeBool, Default: "off", Doc: "HTTP webhooks for plugin hooks."},

		{Name: "vmq_passwd.password_file", Type: TypeString, Default: "$(platform_etc_dir)/vmq.passwd", NonEmpty: true,
			Doc: "Password file (username:$6$salt$hash lines)."},
		{Name: "vmq_passwd.password_reload_interval", Type: TypeDuration, Default: "10s", Unit: "s", Runtime: true,
			Doc: "Re-read the password file this often; 0 = never."},
		{Name: "vmq_acl.acl_file", Type: TypeString, Default: "$(platform_etc_dir)/vmq.acl", NonEmpty: true,
			Doc: "ACL file (topic/user/pattern lines)."},
		{Name: "vmq_acl.acl_reload_interval", Type: TypeDuration, Default: "10s", Unit: "s", Runtime: true,
			Doc: "Re-read the ACL file this often; 0 = never."},

		{Name: "vmq_webhooks.$name.hook", Type: TypeEnum, Enum: webhookHooks, Doc: "Hook served by this webhook."},
		{Name: "vmq_webhooks.$name.endpoint", Type: TypeString, Check: checkURL, NonEmpty: true, Doc: "URL the hook is POSTed to."},
		{Name: "vmq_webhooks.$name.base64encode", Type: TypeBool, Default: "on", Doc: "Base64-encode payloads."},
		{Name: "vmq_webhooks.$name.no_payload", Type: TypeBool, Default: "off", Doc: "Omit the payload (auth_on_publish only)."},
		{Name: "vmq_webhooks.$name.response_timeout", Type: TypeDuration, Default: "5000ms", Unit: "ms", MinDur: 1e6,
			Doc: "Give up on the endpoint after this long."},
		rng(&Key{Name: "vmq_webhooks.pool_max_connections", Type: TypeInt, Default: "100",
			Doc: "HTTP connections per endpoint."}, 1, math.MaxInt32),
		{Name: "vmq_webhooks.pool_timeout", Type: TypeDuration, Default: "60000ms", Unit: "ms", Doc: "Idle connection timeout."},
		{Name: "vmq_webhooks.cafile", Type: TypeString, Doc: "CA bundle for https endpoints."},
		{Name: "vmq_webhooks.certfile", Type: TypeString, Doc: "Client certificate for https endpoints."},
		{Name: "vmq_webhooks.keyfile", Type: TypeString, Doc: "Client key for https endpoints."},
		{Name: "vmq_webhooks.keyfile_password", Type: TypeString, Warn: "accepted and ignored: use an unencrypted vmq_webhooks.keyfile (readable by the broker only)", Doc: "Password of the client key."},
		{Name: "vmq_webhooks.tls_version", Warn: "accepted and ignored: endpoints are reached with TLS 1.2 or 1.3", Type: TypeEnum, Default: "tlsv1.2", Enum: []string{"tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3"},
			Doc: "Minimum TLS version towards endpoints."},
		{Name: "vmq_webhooks.verify_peer", Type: TypeBool, Default: "on", Doc: "Verify endpoint certificates."},
		rng(&Key{Name: "vmq_webhooks.depth", Warn: "accepted and ignored: the endpoint's whole chain is verified against vmq_webhooks.cafile or the system CAs", Type: TypeInt, Default: "100", Doc: "Maximum certificate chain depth."}, 0, 1000),
		{Name: "vmq_webhooks.use_crls", Warn: "accepted and ignored: endpoint certificates are not checked against CRLs", Type: TypeBool, Default: "off", Doc: "Check endpoint certificates against CRLs."},

		{Name: "vmq_diversity.script_dir", Warn: luaHint, Type: TypeString, Default: "./share/lua", Doc: "Lua scripts loaded at start."},
		{Name: "vmq_diversity.$name.file", Warn: luaHint, Type: TypeString, NonEmpty: true, Doc: "An extra Lua script to load."},
		rng(&Key{Name: "vmq_diversity.nr_lua_states", Warn: luaHint, Type: TypeInt, Default: "1", Doc: "Lua states per script."}, 1, 1024),
		{Name: "vmq_diversity.keep_state", Warn: luaHint, Type: TypeBool, Default: "off", Doc: "Keep Lua state between calls."},
	}
	keys = append(keys, httpPubKeys()...)
	return append(keys, diversityDBKeys()...)
}

// httpPubKeys: vmq_http_pub (REST publish), globally and per HTTP listener (vmq_http_pub.schema).
func httpPubKeys() []*Key {
	modes := []string{"on-behalf-of", "predefined"}
	keys := []*Key{
		{Name: "plugins.vmq_http_pub", Type: TypeBool, Default: "off",
			Doc: "REST publish (POST /restmqtt/api/v1/publish) on HTTP listeners whose http_modules list vmq_http_pub."},
		{Name: "vmq_http_pub.mqtt_auth.mode", Type: TypeEnum, Default: "on-behalf-of", Enum: modes,
			Doc: "on-behalf-of: client_id, user and password of each request go through auth_on_register/auth_on_publish; predefined: the mqtt_auth.user/password/client_id below do."},
		{Name: "vmq_http_pub.mqtt_auth.auth_plugin", Type: TypeString, Default: "mqtt", Doc: "Auth chain used (VerneMQ knows only mqtt)."},
		{Name: "vmq_http_pub.mqtt_auth.user", Type: TypeString, Doc: "User name of mode predefined."},
		{Name: "vmq_http_pub.mqtt_auth.password", Type: TypeString, Doc: "Password of mode predefined."},
		{Name: "vmq_http_pub.mqtt_auth.client_id", Type: TypeString, Doc: "Client id of mode predefined."},
		{Name: "vmq_http_pub.mountpoint", Type: TypeString, Doc: "Mountpoint REST publishes go to."},
	}
	for _, typ := range []string{"http", "https"} {
		p := "listener." + typ + ".$name.http_modules.vmq_http_pub."
		keys = append(keys,
			&Key{Name: p + "mqtt_auth.mode", Type: TypeEnum, Enum: modes, Doc: "This listener's vmq_http_pub.mqtt_auth.mode."},
			&Key{Name: p + "mqtt_auth.auth_plugin", Type: TypeString, Doc: "This listener's vmq_http_pub.mqtt_auth.auth_plugin."},
			&Key{Name: p + "mqtt_auth.user", Type: TypeString, Doc: "This listener's vmq_http_pub.mqtt_auth.user."},
			&Key{Name: p + "mqtt_auth.password", Type: TypeString, Doc: "This listener's vmq_http_pub.mqtt_auth.password."},
			&Key{Name: p + "mqtt_auth.client_id", Type: TypeString, Doc: "This listener's vmq_http_pub.mqtt_auth.client_id."},
			&Key{Name: p + "mountpoint", Type: TypeString, Doc: "This listener's vmq_http_pub.mountpoint."},
		)
	}
	return keys
}

// diversityDBKeys: vmq_diversity.auth_<db>.enabled and vmq_diversity.<db>.<option>.
func diversityDBKeys() []*Key {
	type db struct {
		name, port, user, database string
		hashes                     []string
		auth                       bool
	}
	dbs := []db{
		{"postgres", "5432", "root", "vernemq_db", []string{"crypt", "bcrypt"}, true},
		{"cockroachdb", "26257", "root", "vernemq_db", []string{"bcrypt", "sha256"}, true},
		{"mysql", "3306", "root", "vernemq_db", []string{"password", "md5", "sha1", "sha256"}, true},
		{"mysql2", "3306", "root", "vernemq_db", []string{"password", "md5", "sha1", "sha256"}, true},
		{"mongodb", "27017", "", "", nil, true},
		{"redis", "6379", "", "0", nil, true},
	}
	var out []*Key
	for _, d := range dbs {
		p := "vmq_diversity." + d.name + "."
		if d.auth {
			out = append(out, &Key{Name: "vmq_diversity.auth_" + d.name + ".enabled", Type: TypeBool, Default: "off",
				Doc: "Authenticate and authorize clients against " + d.name + "."})
		}
		ssl := "off"
		if d.name == "cockroachdb" {
			ssl = "on"
		}
		out = append(out,
			&Key{Name: p + "host", Type: TypeString, Default: "localhost", NonEmpty: true, Doc: d.name + " host."},
			rng(&Key{Name: p + "port", Type: TypeInt, Default: d.port, Doc: d.name + " port."}, 1, 65535),
			&Key{Name: p + "user", Type: TypeString, Default: d.user, Doc: d.name + " user."},
			&Key{Name: p + "password", Type: TypeString, Doc: d.name + " password."},
			&Key{Name: p + "database", Type: TypeString, Default: d.database, Doc: d.name + " database."},
			&Key{Name: p + "ssl", Type: TypeBool, Default: ssl, Doc: "Use TLS towards " + d.name + "."},
			&Key{Name: p + "cafile", Type: TypeString, Doc: "CA bundle for " + d.name + " TLS."},
			&Key{Name: p + "certfile", Type: TypeString, Doc: "Client certificate for " + d.name + " TLS."},
			&Key{Name: p + "keyfile", Type: TypeString, Doc: "Client key for " + d.name + " TLS."},
			rng(&Key{Name: p + "pool_size", Type: TypeInt, Default: "5", Doc: d.name + " connection pool size."}, 1, 1024),
		)
		if len(d.hashes) > 0 {
			out = append(out, &Key{Name: p + "password_hash_method", Type: TypeEnum, Default: d.hashes[0], Enum: d.hashes,
				Doc: "How " + d.name + " stored passwords are hashed."})
		}
		if d.name == "mongodb" {
			out = append(out,
				&Key{Name: p + "login", Type: TypeString, Doc: "MongoDB login."},
				&Key{Name: p + "auth_source", Type: TypeString, Default: "admin", Doc: "MongoDB auth database."},
				&Key{Name: p + "srv", Type: TypeString, Doc: "MongoDB SRV record (replaces host/port)."},
			)
		}
	}
	return out
}
