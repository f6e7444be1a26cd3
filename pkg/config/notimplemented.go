package config

import "strings"

// VerneMQ 2.2 keys this broker accepts but ignores, so an existing vernemq.conf
// still loads; each use yields one warning "accepted and ignored: <hint>", the
// hint saying what to use instead. Patterns match by dot-separated segment: "*"
// is one segment, a trailing "**" one or more (see matchKey). Keys of the schema
// that are accepted but ignored carry the same kind of hint in Key.Warn.
var ignoredTable = []struct{ pattern, hint string }{
	{"graphite_*", "no Graphite reporter; scrape /metrics on an http listener (vmq_metrics_http) instead"},
	{"leveldb.**", "the message store is bbolt; use store.dir, store.commit_delay and store.fsync"},
	{"vmq_generic_msg_store.**", "the message store is bbolt; use store.dir, store.commit_delay and store.fsync"},
	{"message_store_plugin", "one built-in message store; use store.* keys"},
	{"erlang.**", "Erlang VM tuning; the broker is a Go program (GOMAXPROCS, gc_heap_floor)"},
	{"distributed_cookie_file", "use distributed_cookie"},
	{"vmq_swc.**", "one built-in metadata store (serf gossip); nothing to tune"},
	{"plumtree.**", "one built-in metadata store (serf gossip); nothing to tune"},
	{"vmq_bcrypt.**", "bcrypt runs in the broker's goroutines; nothing to tune"},
	{"vmq_web_ui.**", "no web UI; use the status page (/status on an http listener with vmq_status_http)"},
	{"log.crash", "no Erlang crash log; Go panics go to the console log"},
	{"log.crash.**", "no Erlang crash log; Go panics go to the console log"},
	{"log.sasl", "no Erlang SASL log"},
	{"log.sasl.**", "no Erlang SASL log"},
	{"sasl", "no Erlang SASL log"},
	{"log.file.**", "use log.console.file"},
	{"log.template", "log lines are key=value text or JSON; use log.console.console.format / log.console.file.format"},
	{"log.level", "use log.console.level"},
	{"logging.obfuscation_secret", "client data in logs is not obfuscated; lower log.console.level to keep it out"},
	{"fanout.**", "deliveries fan out per session queue; nothing to tune"},
	{"default_reg_view", "one built-in routing index"},
	{"reg_views", "one built-in routing index"},
	{"systree_reg_view", "one built-in routing index"},
	{"queue_sup_sup_children", "Erlang supervisor tuning; nothing to tune"},
	{"tcp_listen_options", "Erlang socket options; use listener.*.sndbuf/recbuf/buffer"},
	{"outgoing_connect_options", "Erlang socket options of cluster links; nothing to tune"},
	{"outgoing_clustering_flush_threshold", "cluster links flush per batch; use outgoing_clustering_buffer_size"},
	{"outgoing_cluster_handshake_ack_timeout", "cluster links authenticate with distributed_cookie; nothing to tune"},
	{"cluster_ready_rpc_timeout", "cluster readiness comes from serf gossip; nothing to tune"},
	{"crl_refresh_interval", "CRLs are read at start; send SIGHUP to the node to reload certificates and CRLs"},
	{"wait_for_proc", "Erlang release setting"},
	{"default_schema_dir", "Erlang release setting"},
	{"setup.**", "Erlang release setting; use platform_data_dir and platform_log_dir"},
	{"nodetool.**", "Erlang release setting"},
	{"accept_eula", "this broker needs no EULA"},
	{"vmq_diversity.auth_*.script", "the database lookups are built in (no Lua); the script's queries are fixed, as in VerneMQ's stock scripts"},
	{"vmq_diversity.*.ssl.**", "TLS towards the database verifies the server with the system CAs or cafile"},
	{"vmq_diversity.mongodb.w_mode", "the built-in MongoDB lookups only read"},
	{"vmq_diversity.mongodb.read_preference", "the built-in MongoDB lookups use the driver's default read preference"},
	{"vmq_diversity.memcache.**", "no Lua scripts, so no memcache access"},
	{"vmq_diversity.memcached.**", "no Lua scripts, so no memcache access"},
	{"vmq_diversity.clique_lead_line", "CLI text of VerneMQ's plugin"},
	{"vmq_webhooks.clique_lead_line", "CLI text of VerneMQ's plugin"},
	{"vmq_bridge.clique_lead_line", "CLI text of VerneMQ's plugin"},
}

// removed are keys VerneMQ 2.x refuses too (0.x/1.x names, removed features):
// they stay errors here, with the hint a user needs to fix the line.
var removedTable = []struct{ pattern, hint string }{
	{"allow_multiple_sessions", "removed in VerneMQ 2.0 (one session per client id); remove the line, and use shared subscriptions ($share/group/topic) to balance messages between clients"},
	{"acl_file", "a VerneMQ 0.x key; use vmq_acl.acl_file"},
	{"password_file", "a VerneMQ 0.x key; use vmq_passwd.password_file"},
	{"acl_reload_interval", "a VerneMQ 0.x key; use vmq_acl.acl_reload_interval"},
	{"password_reload_interval", "a VerneMQ 0.x key; use vmq_passwd.password_reload_interval"},
	{"sys_interval", "a VerneMQ 0.x key; use systree_interval (milliseconds)"},
	{"trade_consistency", "a VerneMQ 0.x key; use allow_register_during_netsplit, allow_publish_during_netsplit, allow_subscribe_during_netsplit and allow_unsubscribe_during_netsplit"},
	{"graphite.**", "a VerneMQ 0.x key; the 2.x keys are graphite_enabled, graphite_host, graphite_port, graphite_interval (accepted and ignored here)"},
	{"max_connections", "a VerneMQ 0.x key; use listener.max_connections"},
	{"nr_of_acceptors", "a VerneMQ 0.x key; use listener.nr_of_acceptors"},
	{"message_size_limit", "a VerneMQ 0.x key; use max_message_size"},
	{"msg_store_opts", "a VerneMQ 0.x key; the message store is set with store.* keys"},
	{"lager.**", "VerneMQ 1.x logging (lager was removed in 2.0); use log.console, log.console.level, log.console.file"},
	{"log.console.size", "VerneMQ 1.x lager rotation; use log.console.rotation.size and log.console.rotation.keep"},
	{"log.console.rotation", "VerneMQ 1.x lager rotation; use log.console.rotation.size and log.console.rotation.keep"},
	{"vmq_pulse.**", "vmq_pulse was removed in VerneMQ 2.1"},
	{"plugins.vmq_pulse", "vmq_pulse was removed in VerneMQ 2.1"},
}

// notImplementedPlugins are plugin switches accepted only with a warning when on.
var notImplementedPlugins = map[string]bool{"vmq_web_ui": true}

// ignoredKey reports whether key is a known VerneMQ key we ignore, and what to use instead.
func ignoredKey(key string) (string, bool) { return matchTable(ignoredTable, key) }

// removedKey reports whether key is refused by VerneMQ 2.x as well, with the fix.
func removedKey(key string) (string, bool) { return matchTable(removedTable, key) }

func matchTable(t []struct{ pattern, hint string }, key string) (string, bool) {
	for _, e := range t {
		if matchKey(e.pattern, key) {
			return e.hint, true
		}
	}
	return "", false
}

// matchKey matches dot-separated segments: "*" is any one segment, a trailing "**"
// one or more segments, "x_*" any segment starting x_; anything else literally.
func matchKey(pattern, key string) bool {
	ps, ks := strings.Split(pattern, "."), strings.Split(key, ".")
	for i, p := range ps {
		if p == "**" && i == len(ps)-1 {
			return len(ks) > i
		}
		if i >= len(ks) {
			return false
		}
		switch {
		case p == "*":
		case strings.HasSuffix(p, "*"):
			if !strings.HasPrefix(ks[i], strings.TrimSuffix(p, "*")) {
				return false
			}
		case p != ks[i]:
			return false
		}
	}
	return len(ps) == len(ks)
}
