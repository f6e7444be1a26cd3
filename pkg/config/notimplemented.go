package config

import "strings"

// notImplemented lists VerneMQ keys this broker accepts but ignores, so an
// existing vernemq.conf still loads; each use yields one warning naming the key.
// A trailing "*" or "." makes the entry a prefix.
var notImplemented = []string{
	"graphite_*",              // Graphite push reporter
	"vmq_bridge.",             // MQTT bridge plugin
	"plugins.vmq_bridge.",     // its priority/path
	"leveldb.",                // replaced by store.*
	"vmq_generic_msg_store.",  // replaced by store.*
	"message_store_plugin",    // one built-in store
	"erlang.",                 // Erlang VM tuning
	"distributed_cookie_file", // Erlang distribution
	"vmq_swc.",                // metadata store tuning
	"plumtree.",               // legacy metadata store
	"vmq_bcrypt.",             // bcrypt worker pools
	"vmq_web_ui.",             // web UI
	"vmq_http_pub.",           // REST publish plugin options
	"log.error",               // separate error log
	"log.error.",              //
	"log.crash",               // Erlang crash log
	"log.crash.",              //
	"log.sasl",                // Erlang SASL log
	"log.syslog",              // syslog output
	"log.syslog.",             //
	"log.console.rotation.",   // log rotation
	"log.file.",               //
	"log.template",            // Erlang logger template
	"logging.obfuscation_secret",
	"fanout.",                // experimental VerneMQ fan-out sharding
	"default_reg_view",       // routing index selection
	"reg_views",              //
	"queue_sup_sup_children", // Erlang supervisor tuning
	"tcp_listen_options",     // Erlang socket options
	"outgoing_connect_options",
	"outgoing_clustering_flush_threshold",
	"outgoing_cluster_handshake_ack_timeout",
	"cluster_ready_rpc_timeout",
	"nodetool.",
	"accept_eula",
}

// notImplementedPlugins are plugin switches accepted only when off.
var notImplementedPlugins = map[string]bool{"vmq_bridge": true, "vmq_http_pub": true, "vmq_web_ui": true}

// isNotImplemented reports whether key is a known VerneMQ key we ignore.
func isNotImplemented(key string) bool {
	for _, p := range notImplemented {
		switch {
		case strings.HasSuffix(p, "*"):
			if strings.HasPrefix(key, strings.TrimSuffix(p, "*")) {
				return true
			}
		case strings.HasSuffix(p, "."):
			if strings.HasPrefix(key, p) {
				return true
			}
		case key == p:
			return true
		}
	}
	return false
}
