package config

import (
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
)

// ListenerTypes are VerneMQ's listener kinds, in the order Listeners() sorts them.
var ListenerTypes = []string{"tcp", "ssl", "ws", "wss", "vmq", "vmqs", "http", "https"}

var (
	allTypes   = ListenerTypes
	mqttTypes  = []string{"tcp", "ssl", "ws", "wss"}
	tlsTypes   = []string{"ssl", "wss", "vmqs", "https"}
	proxyTypes = []string{"tcp", "ws", "http"} // VerneMQ supports PROXY protocol on these
	wsTypes    = []string{"ws", "wss"}
	httpTypes  = []string{"http", "https"}
	mqttVMQ    = []string{"tcp", "ssl", "ws", "wss", "vmq", "vmqs"} // VerneMQ's schema has mountpoint on these
	tlsHTTPWS  = []string{"http", "https", "ws", "wss"}             // cowboy-served listeners
	pluginsOn  = []string{"tcp", "ssl", "ws", "wss"}                // per-listener plugin lists
	tcpSSL     = []string{"tcp", "ssl"}                             // Erlang active_n
)

// listenerOpt is one option resolved through listener.<opt> → listener.<type>.<opt>
// → listener.<type>.<name>.<opt>; key.Default is the top-level default.
type listenerOpt struct {
	key   Key
	types []string
	top   string // key inherited from at the top; "" means listener.<opt>
}

func listenerOpts() []listenerOpt {
	return []listenerOpt{
		{key: *atLeast(&Key{Name: "max_connections", Type: TypeInt, Default: "10000", Infinity: true, Unset: "-1",
			Doc: "Concurrent connections per listener; infinity (read as 0) = unlimited; -1 on a type or name = inherit."}, -1), types: allTypes},
		{key: *rng(&Key{Name: "nr_of_acceptors", Type: TypeInt, Default: "10", Unset: "-1",
			Doc: "Goroutines accepting connections concurrently per listener; -1 on a type or name = inherit."}, 1, 1024), types: allTypes},
		{key: Key{Name: "mountpoint", Type: TypeString, Default: "", Check: checkMountpoint,
			Doc: "Topic-tree prefix isolating this listener's clients; off or empty = none."}, types: mqttVMQ},
		{key: Key{Name: "max_connection_lifetime", Type: TypeDuration, Default: "0", Unit: "s",
			Doc: "Disconnect clients after this long to force re-authentication; 0 = off."}, types: mqttTypes},
		{key: Key{Name: "allowed_protocol_versions", Type: TypeList, Default: "3,4,5", NonEmpty: true,
			Enum: []string{"3", "4", "5", "131"},
			Doc:  "Accepted MQTT protocol levels (3 = 3.1, 4 = 3.1.1, 5, 131 = bridge)."}, types: mqttTypes},
		{key: Key{Name: "allow_anonymous_override", Type: TypeBool, Default: "off",
			Doc: "Let clients of this listener in without auth plugins even if allow_anonymous is off."}, types: mqttTypes},
		{key: Key{Name: "proxy_protocol", Type: TypeBool, Default: "off",
			Doc: "Expect a PROXY protocol v1/v2 header from a load balancer."}, types: proxyTypes},
		{key: Key{Name: "proxy_protocol_use_cn_as_username", Type: TypeBool, Default: "on",
			Doc: "Use the TLS client CN forwarded in PROXY v2 as MQTT username."}, types: proxyTypes},
		{key: Key{Name: "proxy_protocol_timeout", Type: TypeDuration, Default: "3000ms", Unit: "ms", MinDur: 1e6,
			Doc: "Close connections whose PROXY header does not arrive in time (ours)."}, types: proxyTypes},
		{key: Key{Name: "cafile", Type: TypeString, Default: "", Doc: "PEM CA bundle for client certificates."}, types: tlsTypes},
		{key: Key{Name: "certfile", Type: TypeString, Default: "", Doc: "PEM server certificate chain."}, types: tlsTypes},
		{key: Key{Name: "keyfile", Type: TypeString, Default: "", Doc: "PEM private key."}, types: tlsTypes},
		{key: Key{Name: "keypasswd", Type: TypeString, Default: "", Doc: "Password of an encrypted keyfile."}, types: tlsTypes},
		{key: Key{Name: "crlfile", Type: TypeString, Default: "", Doc: "PEM certificate revocation list."}, types: tlsTypes},
		{key: Key{Name: "require_certificate", Type: TypeBool, Default: "off",
			Doc: "Require and verify a client certificate (needs cafile)."}, types: tlsTypes},
		{key: Key{Name: "use_identity_as_username", Type: TypeBool, Default: "off",
			Doc: "Use the client certificate CN as MQTT username."}, types: []string{"ssl", "wss"}},
		{key: Key{Name: "tls_version", Type: TypeList, Default: "tlsv1.2", NonEmpty: true,
			Enum: []string{"tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3"}, Doc: "Accepted TLS versions."}, types: tlsTypes},
		{key: Key{Name: "ciphers", Type: TypeString, Default: "",
			Doc: "Colon-separated cipher suite names; empty = Go's defaults."}, types: tlsTypes},
		{key: Key{Name: "tls_handshake_timeout", Type: TypeDuration, Default: "10000ms", Unit: "ms", Never: "infinity", Unset: "-1",
			Doc: "Close TLS connections whose handshake takes longer; infinity reads as the 10s default (an endless handshake would let idle sockets pile up)."}, types: tlsTypes},
		{key: Key{Name: "eccs", Type: TypeString, Default: "", Warn: "accepted and ignored: Go's TLS picks its curves (X25519, P-256, P-384); restrict TLS with tls_version and ciphers",
			Doc: "Elliptic curves offered (VerneMQ); ignored here."}, types: tlsTypes},
		{key: Key{Name: "psk_support", Type: TypeBool, Default: "off", Warn: "accepted and ignored: no TLS-PSK (Go's TLS has no PSK cipher suites); use certificates",
			Doc: "TLS-PSK (VerneMQ); ignored here."}, types: []string{"ssl"}},
		{key: Key{Name: "psk_identity_hint", Type: TypeString, Default: "VMQ_PSK", Warn: "accepted and ignored: no TLS-PSK; use certificates",
			Doc: "TLS-PSK identity hint (VerneMQ); ignored here."}, types: []string{"ssl"}},
		{key: Key{Name: "pskfile", Type: TypeString, Default: "$(platform_etc_dir)/vmq.psk", Warn: "accepted and ignored: no TLS-PSK; use certificates",
			Doc: "TLS-PSK key file (VerneMQ); ignored here."}, types: []string{"ssl"}},
		{key: Key{Name: "pskfile_separator", Type: TypeString, Default: ":", Warn: "accepted and ignored: no TLS-PSK; use certificates",
			Doc: "Separator in the PSK file (VerneMQ); ignored here."}, types: []string{"ssl"}},
		{key: *rng(&Key{Name: "depth", Type: TypeInt, Default: "1",
			Doc: "Maximum intermediate certificates in a client chain."}, 0, 100), types: tlsTypes},
		{key: *atLeast(&Key{Name: "sndbuf", Type: TypeBytes, Default: "0", Doc: "Socket send buffer; 0 = OS default."}, 0), types: allTypes},
		{key: *atLeast(&Key{Name: "recbuf", Type: TypeBytes, Default: "0", Doc: "Socket receive buffer; 0 = OS default."}, 0), types: allTypes},
		{key: *atLeast(&Key{Name: "buffer", Type: TypeBytes, Default: "0", Doc: "User-space read buffer; 0 = default."}, 0), types: allTypes},
		{key: Key{Name: "buffer_sizes", Type: TypeString, Default: "", Check: checkBufferSizes,
			Doc: "VerneMQ form sndbuf,recbuf,buffer; used where sndbuf/recbuf/buffer are 0."}, types: allTypes},
		{key: *atLeast(&Key{Name: "active_n", Type: TypeInt, Default: "100", Warn: "accepted and ignored: Erlang socket tuning; a Go connection reads as data arrives",
			Doc: "Erlang {active, N} (VerneMQ); ignored here."}, 1), types: tcpSSL},
		{key: Key{Name: "forward_connection_opts", Type: TypeBool, Default: "off", Warn: "accepted and ignored: plugins see the peer address and certificate CN, not socket options",
			Doc: "Pass socket options to plugins (VerneMQ); ignored here."}, types: mqttTypes},
		{key: Key{Name: "auth_plugins", Type: TypeString, Default: "", Warn: "accepted and ignored: every listener uses the one plugin chain (plugins.*); use allow_anonymous_override or a mountpoint per listener",
			Doc: "Authentication plugins of this listener (VerneMQ); ignored here."}, types: pluginsOn},
		{key: Key{Name: "authz_plugins", Type: TypeString, Default: "", Warn: "accepted and ignored: every listener uses the one plugin chain (plugins.*); use a mountpoint per listener",
			Doc: "Authorization plugins of this listener (VerneMQ); ignored here."}, types: pluginsOn},
		{key: Key{Name: "proxy_xff_support", Type: TypeBool, Default: "off", Warn: "accepted and ignored: no X-Forwarded-For; use proxy_protocol on the listener",
			Doc: "Take the peer from X-Forwarded-For (VerneMQ); ignored here."}, types: []string{"ws"}},
		{key: Key{Name: "proxy_xff_trusted_intermediate", Type: TypeString, Default: "", Warn: "accepted and ignored: no X-Forwarded-For; use proxy_protocol on the listener",
			Doc: "Trusted proxies of X-Forwarded-For (VerneMQ); ignored here."}, types: []string{"ws"}},
		{key: Key{Name: "proxy_xff_use_cn_as_username", Type: TypeBool, Default: "off", Warn: "accepted and ignored: no X-Forwarded-For; use proxy_protocol and proxy_protocol_use_cn_as_username",
			Doc: "Username from a forwarded certificate CN header (VerneMQ); ignored here."}, types: []string{"ws"}},
		{key: Key{Name: "proxy_xff_cn_header", Type: TypeString, Default: "x-ssl-client-cn", Warn: "accepted and ignored: no X-Forwarded-For; use proxy_protocol and proxy_protocol_use_cn_as_username",
			Doc: "Header carrying the certificate CN (VerneMQ); ignored here."}, types: []string{"ws"}},
		{key: *atLeast(&Key{Name: "max_request_line_length", Type: TypeInt, Default: "8000", Warn: "accepted and ignored: Go's HTTP server bounds request headers at 1 MB in total",
			Doc: "Cowboy request line limit (VerneMQ); ignored here."}, 1), types: tlsHTTPWS},
		{key: *atLeast(&Key{Name: "max_header_value_length", Type: TypeInt, Default: "4096", Warn: "accepted and ignored: Go's HTTP server bounds request headers at 1 MB in total",
			Doc: "Cowboy header value limit (VerneMQ); ignored here."}, 1), types: tlsHTTPWS},
		{key: Key{Name: "config_mod", Type: TypeString, Default: "vmq_http_config", Warn: "accepted and ignored: Erlang module of VerneMQ's HTTP listener; use http_modules",
			Doc: "Erlang config module (VerneMQ); ignored here."}, types: httpTypes},
		{key: Key{Name: "config_fun", Type: TypeString, Default: "config", Warn: "accepted and ignored: Erlang function of VerneMQ's HTTP listener; use http_modules",
			Doc: "Erlang config function (VerneMQ); ignored here."}, types: httpTypes},
		{key: *atLeast(&Key{Name: "high_watermark", Type: TypeInt, Default: "8192", Warn: "accepted and ignored: cluster links are bounded by outgoing_clustering_buffer_size",
			Doc: "Erlang socket watermark (VerneMQ); ignored here."}, 0), types: []string{"vmq"}},
		{key: *atLeast(&Key{Name: "low_watermark", Type: TypeInt, Default: "4096", Warn: "accepted and ignored: cluster links are bounded by outgoing_clustering_buffer_size",
			Doc: "Erlang socket watermark (VerneMQ); ignored here."}, 0), types: []string{"vmq"}},
		{key: *atLeast(&Key{Name: "high_msgq_watermark", Type: TypeInt, Default: "8192", Warn: "accepted and ignored: cluster links are bounded by outgoing_clustering_buffer_size",
			Doc: "Erlang port queue watermark (VerneMQ); ignored here."}, 0), types: []string{"vmq"}},
		{key: *atLeast(&Key{Name: "low_msgq_watermark", Type: TypeInt, Default: "4096", Warn: "accepted and ignored: cluster links are bounded by outgoing_clustering_buffer_size",
			Doc: "Erlang port queue watermark (VerneMQ); ignored here."}, 0), types: []string{"vmq"}},
		{key: Key{Name: "ws_path", Type: TypeString, Default: "/mqtt", NonEmpty: true, Check: checkPath,
			Doc: "HTTP path of the WebSocket endpoint (ours; VerneMQ fixes /mqtt)."}, types: wsTypes},
		{key: Key{Name: "http_modules", Type: TypeList, Enum: httpModules,
			Doc: "HTTP modules served on this listener; defaults to http_modules."}, types: httpTypes, top: "http_modules"},
	}
}

// listenerKeys expands listenerOpts into the three hierarchy levels plus address patterns.
func listenerKeys() []*Key {
	var out []*Key
	for _, t := range allTypes {
		out = append(out, &Key{Name: "listener." + t + ".$name", Type: TypeString, NonEmpty: true,
			Check: addrChecker(t), Doc: "Address ip:port of a " + t + " listener."})
	}
	for _, o := range listenerOpts() {
		if o.top == "" {
			g := o.key
			g.Name = "listener." + o.key.Name
			out = append(out, &g)
		}
		top := o.top
		if top == "" {
			top = "listener." + o.key.Name
		}
		for _, t := range o.types {
			tk := o.key
			tk.Name, tk.Default = "listener."+t+"."+o.key.Name, ""
			tk.Inherit = func(string) string { return top }
			nk := o.key
			nk.Name, nk.Default = "listener."+t+".$name."+o.key.Name, ""
			typeKey := tk.Name
			nk.Inherit = func(string) string { return typeKey }
			out = append(out, &tk, &nk)
		}
	}
	// Per-listener authentication of one HTTP module, over http_module.$name.auth.mode.
	for _, t := range httpTypes {
		out = append(out, &Key{Name: "listener." + t + ".$name.http_module.$module.auth.mode", Type: TypeEnum,
			Enum: []string{"apikey", "noauth"}, Doc: "Authentication of one HTTP module on this listener: apikey or noauth."})
	}
	return out
}

// splitAddr parses VerneMQ listener addresses: ip:port, [v6]:port, v6:port, local:/path.sock[:0].
func splitAddr(typ, s string) (network, addr string, err error) {
	if rest, ok := strings.CutPrefix(s, "local:"); ok {
		if typ != "tcp" {
			return "", "", fmt.Errorf("%q: unix sockets (local:) are only allowed for tcp listeners", s)
		}
		rest = strings.TrimSuffix(rest, ":0")
		if rest == "" {
			return "", "", fmt.Errorf("%q has no socket path (use local:/path/to/mqtt.sock:0)", s)
		}
		return "unix", rest, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		i := strings.LastIndex(s, ":")
		if i < 0 {
			return "", "", fmt.Errorf("%q is not ip:port (e.g. 127.0.0.1:1883)", s)
		}
		host, port = s[:i], s[i+1:]
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return "", "", fmt.Errorf("%q: %q is not an IP address (use an IP such as 0.0.0.0 or 127.0.0.1)", s, host)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", "", fmt.Errorf("%q: port %q is not in 0..65535", s, port)
	}
	return "tcp", net.JoinHostPort(ip.String(), strconv.Itoa(p)), nil
}

func addrChecker(typ string) func(string) error {
	return func(s string) error { _, _, err := splitAddr(typ, s); return err }
}

func checkMountpoint(s string) error {
	if strings.ContainsAny(s, "+#\x00") {
		return fmt.Errorf("%q must not contain wildcards or NUL", s)
	}
	return nil
}

func checkPath(s string) error {
	if !strings.HasPrefix(s, "/") {
		return fmt.Errorf("%q must start with /", s)
	}
	return nil
}

// checkBufferSizes validates VerneMQ's "sndbuf,recbuf,buffer" triple.
func checkBufferSizes(s string) error {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return fmt.Errorf("%q must be three sizes sndbuf,recbuf,buffer (e.g. 4KB,4KB,4KB)", s)
	}
	for _, p := range parts {
		n, err := parseBytes(strings.TrimSpace(p))
		if err != nil {
			return err
		}
		if n > math.MaxInt32 {
			return fmt.Errorf("%q: %s is too large", s, p)
		}
	}
	return nil
}

// misplacedListenerOpt explains listener.<type>[.<name>].<opt> keys whose option
// does not apply to the type (e.g. certfile on tcp), which would otherwise read
// as a listener named "certfile" or as an unknown key.
func misplacedListenerOpt(key string) string {
	segs := strings.Split(key, ".")
	if len(segs) < 3 || len(segs) > 4 || segs[0] != "listener" || !slices.Contains(ListenerTypes, segs[1]) {
		return ""
	}
	opt := segs[len(segs)-1]
	for _, o := range listenerOpts() {
		if o.key.Name == opt && !slices.Contains(o.types, segs[1]) {
			return fmt.Sprintf("%s is not an option of %s listeners (it applies to: %s)", opt, segs[1], strings.Join(o.types, ", "))
		}
	}
	return ""
}
