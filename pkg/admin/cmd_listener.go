package admin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

func listenerCommands(r *Registry, b *Backend) {
	r.Register(Command{
		Path:  "listener show",
		Help:  "List listeners: type, status, address, port, mountpoint, max_conns, active_conns",
		Flags: clusterFlags,
		Run: clustered(b, func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Listeners != nil, "listeners"); !ok {
				return res
			}
			var rows [][]string
			for _, l := range b.Listeners() {
				max := "infinity"
				if l.MaxConns > 0 {
					max = strconv.Itoa(l.MaxConns)
				}
				rows = append(rows, []string{l.Type, l.Status, l.Address, l.Port, l.Mountpoint, max, strconv.Itoa(l.ActiveConns)})
			}
			return Table([]string{"type", "status", "address", "port", "mountpoint", "max_conns", "active_conns"}, rows)
		}),
	})
	addrArgs := []Param{
		{Name: "address", Required: true, Help: "IP address of the listener, as listener show prints it"},
		{Name: "port", Required: true, Help: "port of the listener"},
	}
	kill := Param{Name: "kill_sessions", Short: "k", Help: "also close the listener's open connections"}
	r.Register(Command{
		Path: "listener stop", Help: "Stop accepting connections on a listener", Args: addrArgs, Flags: []Param{kill},
		Run: func(ctx context.Context, req *Request) Result {
			return listenerAction(b, req, func(addr string, port int, kill bool) error { return b.StopListener(addr, port, kill) })
		},
	})
	r.Register(Command{
		Path: "listener start", Help: "Start a stopped listener again, or create and start a new one",
		Long: "A listener already on address:port (listener show) starts again as configured. For an address and\n" +
			"port without one, a new MQTT listener starts: plain TCP, --ssl, --websocket or both, with the\n" +
			"listener options of vernemq.conf as flags (--mountpoint, --max_connections, --certfile ...). It\n" +
			"lasts until the node restarts: add it to vernemq.conf to keep it.",
		Args: addrArgs, Flags: listenerStartFlags,
		Run: func(ctx context.Context, req *Request) Result { return startListener(b, req) },
	})
	r.Register(Command{
		Path: "listener delete", Help: "Delete a stopped listener (until the node restarts and reads the conf again)", Args: addrArgs,
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.DeleteListener != nil, "listener control"); !ok {
				return res
			}
			return listenerAction(b, req, func(addr string, port int, _ bool) error { return b.DeleteListener(addr, port) })
		},
	})
	r.Register(Command{
		Path: "listener restart", Help: "Stop and start a listener", Args: addrArgs, Flags: []Param{kill},
		Run: func(ctx context.Context, req *Request) Result {
			return listenerAction(b, req, func(addr string, port int, kill bool) error {
				if err := b.StopListener(addr, port, kill); err != nil {
					return err
				}
				return b.StartListener(addr, port)
			})
		},
	})
}

func listenerAction(b *Backend, req *Request, do func(addr string, port int, kill bool) error) Result {
	if res, ok := ready(b.StopListener != nil && b.StartListener != nil, "listener control"); !ok {
		return res
	}
	port, err := strconv.Atoi(req.Args["port"])
	if err != nil || port < 0 || port > 65535 {
		return Errorf("port=%q is not a port number; see vmq-admin listener show", req.Args["port"])
	}
	_, kill := req.Flag("kill_sessions")
	if err := do(req.Args["address"], port, kill); err != nil {
		return Errorf("%v", fmt.Errorf("%s:%d: %w", req.Args["address"], port, err))
	}
	return Text("Done")
}

// listenerStartFlags are VerneMQ's listener start options: listener options of vernemq.conf,
// plus --ssl and --websocket choosing the type.
var listenerStartFlags = func() []Param {
	ps := []Param{
		{Name: "ssl", Help: "a TLS listener (needs --certfile and --keyfile)"},
		{Name: "websocket", Help: "MQTT over WebSocket (with --ssl: over TLS)"},
		{Name: "http", Help: "not here: HTTP listeners are configured in vernemq.conf"},
		{Name: "mountpoint", Short: "m", Value: "MP", Help: "mountpoint of the listener's clients"},
		{Name: "use_cn_as_username", Value: "on|off", Help: "VerneMQ's older name of --proxy_protocol_use_cn_as_username"},
	}
	opt := func(value string, names ...string) {
		for _, o := range names {
			ps = append(ps, Param{Name: o, Value: value, Help: "as listener.<type>.<name>." + o + " in vernemq.conf"})
		}
	}
	opt("V", "nr_of_acceptors", "max_connections", "allowed_protocol_versions", "max_connection_lifetime", "auth_plugins",
		"authz_plugins", "cafile", "certfile", "keyfile", "keypasswd", "ciphers", "eccs", "crlfile", "tls_version",
		"tls_handshake_timeout", "depth", "pskfile", "forward_connection_opts", "config_mod", "config_fun", "http_modules")
	// On when given bare, as VerneMQ's flags.
	opt("on|off", "allow_anonymous_override", "proxy_protocol", "proxy_protocol_use_cn_as_username", "require_certificate",
		"use_identity_as_username", "psk_support", "proxy_xff_support", "proxy_xff_use_cn_as_username")
	return ps
}()

// startListener starts the listener on address:port, or creates one there (VerneMQ's
// listener start) when none is there or options are given.
func startListener(b *Backend, req *Request) Result {
	if res, ok := ready(b.CreateListener != nil, "listener control"); !ok {
		return res
	}
	typ := "tcp"
	_, ssl := req.Flag("ssl")
	_, ws := req.Flag("websocket")
	switch {
	case ssl && ws:
		typ = "wss"
	case ssl:
		typ = "ssl"
	case ws:
		typ = "ws"
	}
	if _, ok := req.Flag("http"); ok {
		return Errorf("--http: HTTP listeners are configured in vernemq.conf (listener.http.<name>) and start with the node")
	}
	opts := map[string]string{}
	for name, v := range req.Flags {
		switch name {
		case "ssl", "websocket":
			continue
		case "use_cn_as_username": // VerneMQ's older flag
			name = "proxy_protocol_use_cn_as_username"
		}
		if v == "" {
			v = "on" // a bare --flag
		}
		opts[name] = v
	}
	return listenerAction(b, req, func(addr string, port int, _ bool) error {
		if len(opts) > 0 || typ != "tcp" {
			return b.CreateListener(typ, addr, port, opts)
		}
		err := b.StartListener(addr, port)
		if errors.Is(err, ErrNoListener) {
			return b.CreateListener(typ, addr, port, nil)
		}
		return err
	})
}
