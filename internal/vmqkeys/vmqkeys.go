// Package vmqkeys reads the list of VerneMQ 2.2's conf keys (pkg/config/testdata/
// vernemq-2.2-keys.tsv, taken from VerneMQ's cuttlefish schemas) for tests: the value
// forms each key's datatype allows, and the vernemq.conf VerneMQ would generate from
// its defaults. Test-only: nothing in cmd/ imports it.
package vmqkeys

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Key is one mapping of the list.
type Key struct {
	Name     string // with $name, $module... as in the schema
	Datatype string
	Default  string // as written in the schema
	Hidden   bool   // not in VerneMQ's generated conf
	Schema   string // schema file
}

// Read parses the tsv file.
func Read(path string) ([]Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Key
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 5 {
			return nil, fmt.Errorf("%s:%d: %d columns, want 5", path, n, len(cols))
		}
		out = append(out, Key{Name: cols[0], Datatype: cols[1], Default: cols[2], Hidden: cols[3] == "hidden", Schema: cols[4]})
	}
	return out, sc.Err()
}

// buildVars are VerneMQ's package variables (vars.config) used in schema defaults.
var buildVars = map[string]string{
	"platform_data_dir": "./data", "platform_etc_dir": "./etc", "platform_log_dir": "./log",
	"platform_share_dir": "./share", "max_connections": "10000", "max_nr_of_acceptors": "10",
	"console_log_default": "file", "metadata_plugin": "vmq_swc",
}

var varRe = regexp.MustCompile(`\{\{\s*([a-z_]+)\s*\}\}?`)

// tupleDefaults are the {"{{ip}}", port} defaults of the address mappings, cut in the tsv.
var tupleDefaults = map[string]string{
	"cluster_default_ip": "127.0.0.1:44053", "cluster_ssl_default_ip": "127.0.0.1:44054",
	"http_default_ip": "127.0.0.1:8888", "https_default_ip": "127.0.0.1:8889",
}

// DefaultValue is the default as a generated conf writes it ("" when there is none).
func (k Key) DefaultValue() string {
	d := strings.TrimSpace(k.Default)
	if strings.HasPrefix(d, "{ ") { // {"{{cluster_default_ip}}", 44053}, cut at its comma
		if m := varRe.FindStringSubmatch(d); m != nil {
			return tupleDefaults[m[1]]
		}
	}
	if d == "256*1024*1024" {
		return "268435456"
	}
	if d == "undefined" {
		return ""
	}
	d = strings.Trim(d, `"'`)
	return varRe.ReplaceAllStringFunc(d, func(s string) string { return buildVars[varRe.FindStringSubmatch(s)[1]] })
}

// Fill replaces the $ segments of the name with concrete names.
func (k Key) Fill() string {
	segs := strings.Split(k.Name, ".")
	for i, s := range segs {
		switch {
		case s == "$name" && len(segs) > 1 && segs[0] == "listener" && segs[1] == "vmq":
			segs[i] = "clustering"
		case s == "$name" && segs[0] == "vmq_bridge":
			segs[i] = "br0"
		case s == "$name":
			segs[i] = "default"
		case s == "$module":
			segs[i] = "vmq_http_mgmt_api"
		case s == "$script":
			segs[i] = "myscript"
		case s == "$topic_id":
			segs[i] = "1"
		}
	}
	return strings.Join(segs, ".")
}

// enumRe finds the atoms of {enum, [a, 'b', c]}.
var enumRe = regexp.MustCompile(`\{enum, \[([^\]]*)`)

// Values lists values the key's datatype allows, every form VerneMQ accepts for it:
// the default, each enum value, on and off for flags, infinity where allowed, sizes
// with units, and a sample for strings without default.
func (k Key) Values() []string {
	var out []string
	add := func(v ...string) {
		for _, s := range v {
			if s != "" && !contains(out, s) {
				out = append(out, s)
			}
		}
	}
	add(k.DefaultValue())
	dt := k.Datatype
	if m := enumRe.FindStringSubmatch(dt); m != nil {
		for _, e := range strings.Split(m[1], ",") {
			add(strings.Trim(strings.TrimSpace(e), "'"))
		}
	}
	switch {
	case dt == "flag":
		add("on", "off")
	case strings.Contains(dt, "{atom, infinity}"):
		add("infinity")
	}
	switch {
	case strings.HasPrefix(dt, "[bytesize") || dt == "bytesize":
		add("1024", "64KB", "1MB")
	case strings.HasPrefix(dt, "[integer") || dt == "integer":
		if len(out) == 0 || k.DefaultValue() == "" {
			add(sampleInt(k.Name))
		}
	case dt == "ip" || strings.HasPrefix(dt, "[ip"):
		add(sampleAddr(k.Name))
	case dt == "file" || dt == "directory" || strings.HasPrefix(dt, "[directory"):
		if len(out) == 0 {
			add("./etc/sample")
		}
	case dt == "{percent, integer}":
		add("10%")
	}
	if len(out) == 0 {
		add(sampleString(k.Name))
	}
	return out
}

func sampleInt(name string) string {
	if strings.HasSuffix(name, "max_apikey_expiry_days") {
		return "30"
	}
	return "1"
}

func sampleAddr(name string) string {
	switch {
	case strings.HasPrefix(name, "listener.vmq"):
		return "127.0.0.1:44053"
	case strings.HasPrefix(name, "listener.http"):
		return "127.0.0.1:8888"
	}
	return "127.0.0.1:1883"
}

// sampleString gives a string key without default a value of the form it expects.
func sampleString(name string) string {
	switch {
	case strings.HasSuffix(name, ".endpoint"):
		return "http://127.0.0.1:8080/hook"
	case strings.HasSuffix(name, "buffer_sizes"):
		return "4KB,4KB,4KB"
	case strings.HasPrefix(name, "vmq_bridge.") && strings.Count(name, ".") == 2:
		return "127.0.0.1:1884"
	case strings.HasSuffix(name, "plugins"):
		return "vmq_passwd,vmq_acl"
	case strings.HasSuffix(name, ".allowed_protocol_versions"):
		return "3,4,5"
	case strings.HasSuffix(name, ".tls_version"):
		return "tlsv1.2"
	case strings.HasSuffix(name, "mqtt_auth.mode"): // vmq_http_pub's
		return "on-behalf-of"
	case strings.HasSuffix(name, "auth.mode"):
		return "apikey"
	case strings.HasSuffix(name, ".mountpoint"):
		return "tenant1"
	}
	return "sample"
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Prerequisites are the lines a key needs beside it to mean anything: the listener
// it configures (with a certificate for TLS types), the other half of a webhook.
func (k Key) Prerequisites() []string {
	key := k.Fill()
	segs := strings.Split(key, ".")
	var out []string
	if tmpl := strings.Split(k.Name, "."); tmpl[0] == "listener" && len(tmpl) >= 3 && tmpl[2] == "$name" {
		base := strings.Join(segs[:3], ".")
		out = append(out, base+" = "+sampleAddr(base))
		switch segs[1] {
		case "ssl", "wss", "vmqs", "https":
			out = append(out, base+".certfile = ./etc/cert.pem", base+".keyfile = ./etc/key.pem", base+".cafile = ./etc/ca.pem")
		}
	}
	if segs[0] == "vmq_webhooks" && len(segs) == 3 && segs[1] != "pool_max_connections" {
		out = append(out, "vmq_webhooks."+segs[1]+".hook = on_publish",
			"vmq_webhooks."+segs[1]+".endpoint = http://127.0.0.1:8080/hook")
	}
	// The key under test is set on its own line, not twice.
	kept := out[:0]
	for _, l := range out {
		if k, _, _ := strings.Cut(l, " = "); k != key {
			kept = append(kept, l)
		}
	}
	return kept
}

// DefaultConf is the vernemq.conf VerneMQ 2.2 generates: every mapping that is not
// hidden and has a default, with its default, $name as the schema's include_default
// names it, the stock listeners, and cuttlefish's closing include line.
func DefaultConf(keys []Key) string {
	var b strings.Builder
	b.WriteString("## Generated from VerneMQ 2.2's schemas (not hidden keys, their defaults)\n")
	seen := map[string]bool{}
	for _, k := range keys {
		v := k.DefaultValue()
		if k.Hidden || v == "" || seen[k.Name] {
			continue
		}
		seen[k.Name] = true
		if k.Name == "listener.vmq.$name" || k.Name == "listener.http.$name" {
			fmt.Fprintf(&b, "%s = %s\n", k.Fill(), v)
			continue
		}
		if strings.Contains(k.Name, "$") && k.Name != "listener.ssl.$name.allow_anonymous_override" {
			continue // cuttlefish leaves these out of the generated conf, commented
		}
		name := k.Name
		if name == "listener.ssl.$name.allow_anonymous_override" {
			// the stock conf sets this for a listener named "name" that it never defines
			name = "listener.ssl.name.allow_anonymous_override"
		}
		fmt.Fprintf(&b, "%s = %s\n", name, v)
	}
	b.WriteString("listener.tcp.default = 127.0.0.1:1883\n")
	b.WriteString("listener.ws.default = 127.0.0.1:8080\n")
	b.WriteString("nodename = VerneMQ@127.0.0.1\n")
	b.WriteString("include conf.d/*.conf\n")
	return b.String()
}
