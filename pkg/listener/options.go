// Package listener runs the MQTT network listeners of the broker in VerneMQ's
// style: tcp, ssl, ws and wss, with optional PROXY protocol (v1/v2), client
// certificates, CRLs, connection limits and acceptor pools. It does not decode
// MQTT: every accepted connection is handed, as a net.Conn plus Peer info, to a
// Handler running in its own goroutine.
package listener

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"
)

// Listener types, as VerneMQ names them in listener.<type>.<name>.
const (
	TypeTCP = "tcp"
	TypeSSL = "ssl"
	TypeWS  = "ws"
	TypeWSS = "wss"
)

// Defaults applied by New when the option is zero.
const (
	DefaultProxyHeaderTimeout  = 5 * time.Second
	DefaultTLSHandshakeTimeout = 10 * time.Second
	DefaultWSPath              = "/mqtt"
	DefaultMaxWSFrameSize      = 256 << 20 // VerneMQ max_ws_frame_size
	DefaultDepth               = 1         // VerneMQ listener.ssl.depth
	DefaultName                = "default"
)

// DefaultAllowedProtocolVersions is VerneMQ's allowed_protocol_versions default
// (3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0, 131 = 3.1.1 bridge).
var DefaultAllowedProtocolVersions = []byte{3, 4, 5, 131}

// WSSubprotocols are the WebSocket subprotocols accepted, in preference order.
var WSSubprotocols = []string{"mqtt", "mqttv3.1"}

// Peer describes an accepted connection to the Handler.
type Peer struct {
	Addr                    net.Addr // the client's address: from the PROXY header when proxy_protocol is on
	Local                   net.Addr
	Listener                string // "tcp/default" style name
	Type                    string // tcp, ssl, ws, wss
	Mountpoint              string
	AllowedProtocolVersions []byte // shared by the listener's connections: read only
	CN                      string // client certificate CN (TLS) or PROXY v2 PP2_SUBTYPE_SSL_CN
	CNAsUsername            bool   // use_identity_as_username (ssl) or proxy_protocol_use_cn_as_username
	AllowAnonymousOverride  bool
	// Detach, called by the handler before it returns, keeps the connection open
	// after the return: the handler then owns it and must close it. Plain and TLS
	// connections only (WebSocket handlers must not detach).
	Detach func()
}

// Handler serves one connection. It runs in its own goroutine; the connection
// is closed after it returns unless it called Peer.Detach. ctx is cancelled when
// the connection is closed (by anyone), by CloseConnections or when the context
// given to Start is cancelled.
type Handler func(ctx context.Context, c net.Conn, p Peer)

// Options configure one listener. Zero values take the defaults noted.
type Options struct {
	Type, Name, Addr string // Addr is ip:port, [ipv6]:port, or local:/path.sock[:0] (unix socket, tcp/ssl)

	MaxConnections int // 0 = unlimited; beyond it new connections are closed at once and counted

	Mountpoint              string
	AllowedProtocolVersions []byte // nil = DefaultAllowedProtocolVersions
	AllowAnonymousOverride  bool

	ProxyProtocol                bool
	ProxyProtocolUseCNAsUsername bool
	ProxyHeaderTimeout           time.Duration // default 5s

	CAFile, CertFile, KeyFile, KeyPasswd, CRLFile string
	TLSVersion                                    string // "tlsv1.2", "tlsv1.3" or a comma list; "" = TLS 1.2 and 1.3
	Ciphers                                       string // colon/comma separated OpenSSL (or Go/IANA) names; "" = Go defaults
	RequireCertificate, UseIdentityAsUsername     bool
	Depth                                         int           // max intermediate CAs between client cert and root; 0 = 1 (VerneMQ default); < 0 = unlimited
	TLSHandshakeTimeout                           time.Duration // default 10s

	SndBuf, RecBuf int // SO_SNDBUF / SO_RCVBUF when > 0

	WSPath         string // default /mqtt
	MaxWSFrameSize int64  // largest WebSocket message read; default 256 MiB

	NrOfAcceptors int // number of accept goroutines (min 1)

	// Go starts each connection's goroutine (nil: a go statement); the node passes a
	// workers.Pool's, whose goroutines keep their grown stacks from one connection to the next.
	Go func(func())
}

// Stats are the listener's counters. Accepted counts connections admitted
// (under MaxConnections); refused ones are in RefusedMaxConns only.
type Stats struct {
	Active, Accepted, RefusedMaxConns, ProxyErrors, TLSErrors uint64
}

// isTLS reports whether the listener terminates TLS itself.
func (o *Options) isTLS() bool { return o.Type == TypeSSL || o.Type == TypeWSS }

// isWS reports whether connections carry MQTT inside WebSocket frames.
func (o *Options) isWS() bool { return o.Type == TypeWS || o.Type == TypeWSS }

// withDefaults validates opts and returns a copy with defaults filled in.
func (o Options) withDefaults() (Options, error) {
	o.Type = strings.ToLower(strings.TrimSpace(o.Type))
	switch o.Type {
	case TypeTCP, TypeSSL, TypeWS, TypeWSS:
	default:
		return o, fmt.Errorf("listener: unknown type %q: use one of tcp, ssl, ws, wss", o.Type)
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Addr == "" {
		return o, fmt.Errorf("listener %s/%s: no address: set listener.%s.%s = ip:port", o.Type, o.Name, o.Type, o.Name)
	}
	if isUnixAddr(o.Addr) && o.isWS() {
		return o, fmt.Errorf("listener %s/%s: unix socket address %q is only supported for tcp and ssl listeners", o.Type, o.Name, o.Addr)
	}
	if o.MaxConnections < 0 {
		o.MaxConnections = 0 // VerneMQ's infinity
	}
	if o.AllowedProtocolVersions == nil {
		o.AllowedProtocolVersions = append([]byte(nil), DefaultAllowedProtocolVersions...)
	}
	if o.ProxyHeaderTimeout <= 0 {
		o.ProxyHeaderTimeout = DefaultProxyHeaderTimeout
	}
	if o.TLSHandshakeTimeout <= 0 {
		o.TLSHandshakeTimeout = DefaultTLSHandshakeTimeout
	}
	if o.Depth == 0 {
		o.Depth = DefaultDepth
	}
	if o.WSPath == "" {
		o.WSPath = DefaultWSPath
	}
	if !strings.HasPrefix(o.WSPath, "/") {
		return o, fmt.Errorf("listener %s/%s: ws path %q must start with /", o.Type, o.Name, o.WSPath)
	}
	if o.MaxWSFrameSize <= 0 {
		o.MaxWSFrameSize = DefaultMaxWSFrameSize
	}
	if o.NrOfAcceptors < 1 {
		o.NrOfAcceptors = 1
	}
	if o.isTLS() && (o.CertFile == "" || o.KeyFile == "") {
		return o, fmt.Errorf("listener %s/%s: TLS needs certfile and keyfile: set listener.%s.%s.certfile and .keyfile", o.Type, o.Name, o.Type, o.Name)
	}
	if o.isTLS() && o.RequireCertificate && o.CAFile == "" {
		return o, fmt.Errorf("listener %s/%s: require_certificate is on but no cafile is set: set listener.%s.%s.cafile to the CA that signs client certificates", o.Type, o.Name, o.Type, o.Name)
	}
	if o.isTLS() && o.CRLFile != "" && o.CAFile == "" {
		return o, fmt.Errorf("listener %s/%s: crlfile needs cafile to check the CRL's signature: set listener.%s.%s.cafile", o.Type, o.Name, o.Type, o.Name)
	}
	return o, nil
}

// isUnixAddr reports whether addr is VerneMQ's local:/path.sock:0 form.
func isUnixAddr(addr string) bool { return strings.HasPrefix(addr, "local:") }

// unixPath extracts the socket path from local:/path.sock[:0].
func unixPath(addr string) string {
	p := strings.TrimPrefix(addr, "local:")
	return strings.TrimSuffix(p, ":0")
}
