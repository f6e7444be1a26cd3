package config

import (
	"fmt"
	"net/url"
)

var logLevels = []string{"none", "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

// miscKeys: directories, logging, our message store, $SYS, HTTP and the admin socket (§3c, §3d).
func miscKeys() []*Key {
	return []*Key{
		{Name: "platform_data_dir", Type: TypeString, Default: "./data", NonEmpty: true,
			Doc: "Directory for persistent state (message store, metadata, admin socket)."},
		{Name: "platform_log_dir", Type: TypeString, Default: "./log", NonEmpty: true,
			Doc: "Directory for log files."},
		{Name: "platform_etc_dir", Type: TypeString, Default: "./etc", NonEmpty: true,
			Doc: "Directory for vmq.passwd, vmq.acl and similar files."},

		{Name: "log.console", Type: TypeEnum, Default: "file", Enum: []string{"off", "file", "console", "both"},
			Doc: "Where the console log goes."},
		{Name: "log.console.level", Type: TypeEnum, Default: "info", Enum: logLevels, Runtime: true,
			Doc: "Lowest level written to the console log."},
		{Name: "log.console.file", Type: TypeString, Default: "$(platform_log_dir)/console.log", NonEmpty: true,
			Doc: "Console log file when log.console is file or both."},
		{Name: "log.console.format", Type: TypeEnum, Default: "text", Enum: []string{"text", "json"},
			Doc: "Log line format of both outputs unless log.console.console.format or log.console.file.format says otherwise (ours)."},
		{Name: "log.console.console.format", Type: TypeEnum, Enum: []string{"text", "json"}, Inherit: inheritFrom("log.console.format"),
			Doc: "Log line format on the console (stderr)."},
		{Name: "log.console.file.format", Type: TypeEnum, Enum: []string{"text", "json"}, Inherit: inheritFrom("log.console.format"),
			Doc: "Log line format in log.console.file."},

		{Name: "store.dir", Type: TypeString, Default: "$(platform_data_dir)/msgstore", NonEmpty: true,
			Doc: "Directory of the message store (replaces VerneMQ's leveldb/msg store keys)."},
		{Name: "store.commit_delay", Type: TypeDuration, Default: "2ms", Unit: "ms",
			Doc: "Group writes for up to this long before making them durable with one log sync; a lull of a sixteenth of it without a new write ends the wait; 0 syncs as soon as the store is free."},
		{Name: "store.fsync", Type: TypeBool, Default: "on",
			Doc: "fsync the message store's log at each group commit and its file at each checkpoint; off trades durability on power loss for speed."},

		{Name: "systree_enabled", Type: TypeBool, Default: "on", Runtime: true,
			Doc: "Publish metrics under $SYS/<nodename>/."},
		{Name: "systree_interval", Type: TypeDuration, Default: "20000ms", Unit: "ms", Runtime: true,
			Doc: "Interval of $SYS publishes; 0 = off."},
		rng(&Key{Name: "systree_qos", Type: TypeInt, Default: "0", Runtime: true, Doc: "QoS of $SYS messages."}, 0, 2),
		{Name: "systree_retain", Type: TypeBool, Default: "off", Runtime: true, Doc: "Retain $SYS messages."},
		{Name: "systree_mountpoint", Type: TypeString, Default: "", Runtime: true, Doc: "Mountpoint of $SYS messages."},
		{Name: "prometheus_namespace", Type: TypeString, Default: "vernemq_", Check: checkPromPrefix,
			Doc: "Prefix of Prometheus metric names; empty for VerneMQ's Grafana dashboard, which queries bare names."},

		{Name: "http_modules", Type: TypeList, Default: "vmq_metrics_http,vmq_http_mgmt_api,vmq_status_http,vmq_health_http,vmq_http_v2_api",
			Enum: httpModules, Doc: "HTTP modules served on http/https listeners unless a listener overrides."},
		{Name: "http_module.$name.auth.mode", Type: TypeEnum, Enum: []string{"apikey", "noauth"},
			Doc: "Authentication of one HTTP module: apikey or noauth."},
		atLeast(&Key{Name: "min_apikey_length", Type: TypeInt, Default: "16",
			Doc: "Shortest accepted new API key (VerneMQ's default is 0; 16 refuses guessable keys such as \"a\")."}, 0),
		atLeast(&Key{Name: "max_apikey_expiry_days", Type: TypeInt, Default: "0",
			Doc: "Longest allowed API key lifetime in days; 0 = unlimited."}, 0),

		{Name: "cluster.discovery_node", Type: TypeString, Default: "",
			Doc: "host:port of a cluster node (its listener.vmq.clustering or gossip port) to join at start (ours; vmq-admin cluster join at run time)."},
		{Name: "cluster.stop_handover_timeout", Type: TypeDuration, Default: "20s", Runtime: true,
			Doc: "On a graceful stop, how long a clustered node may take to hand its persistent sessions and their offline queues to the remaining nodes (each committed to the new node's store before it is acknowledged); what is not acknowledged in time stays on this node's disk. 0 = hand nothing over (ours)."},
		{Name: "admin.socket", Type: TypeString, Default: "$(platform_data_dir)/vmq-admin.sock", NonEmpty: true,
			Doc: "Unix socket of vmq-admin (ours)."},
		rng(&Key{Name: "admin.socket_mode", Type: TypeInt, Default: "0600", Octal: true,
			Doc: "File mode of the admin socket, octal (ours)."}, 0, 0o777),
	}
}

func inheritFrom(key string) func(string) string { return func(string) string { return key } }

var httpModules = []string{"vmq_metrics_http", "vmq_http_mgmt_api", "vmq_status_http", "vmq_health_http",
	"vmq_http_v2_api", "vmq_http_pub", "vmq_web_ui"}

// checkURL accepts absolute http(s) URLs, as webhook endpoints need.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", s)
	}
	return nil
}

// checkPromPrefix accepts what may start a Prometheus metric name, so a prefix like `""`
// (quotes kept by the parser) is an error here rather than every metric being invalid.
func checkPromPrefix(s string) error {
	for i, r := range s {
		if r == '_' || r == ':' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return fmt.Errorf("%q: a metric name prefix has only letters, digits (not first), '_' and ':'; leave the value empty for none", s)
	}
	return nil
}
