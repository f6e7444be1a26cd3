package admin

import (
	"context"
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
		Path: "listener start", Help: "Start a stopped listener again", Args: addrArgs,
		Run: func(ctx context.Context, req *Request) Result {
			return listenerAction(b, req, func(addr string, port int, _ bool) error { return b.StartListener(addr, port) })
		},
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

// tlsCommands is VerneMQ's tls clear-pem-cache: VerneMQ reads certificate files through
// Erlang's PEM cache, and clearing it makes the next handshakes read them again.
func tlsCommands(r *Registry, b *Backend) {
	r.Register(Command{
		Path: "tls clear-pem-cache",
		Help: "Read the certfile, keyfile, cafile and crlfile of every ssl and wss listener again",
		Long: "New handshakes use the files as they are now; established connections keep theirs. Changed files\n" +
			"are also picked up every 2 minutes, and on SIGHUP. A listener whose files fail to load keeps\n" +
			"its previous certificates and the error names it.",
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.ReloadCerts != nil, "TLS listeners"); !ok {
				return res
			}
			if err := b.ReloadCerts(); err != nil {
				return Errorf("%v", err)
			}
			return Text("Done")
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
