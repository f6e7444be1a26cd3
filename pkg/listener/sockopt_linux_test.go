//go:build linux

package listener

import (
	"net"
	"syscall"
	"testing"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

func TestSocketBuffers(t *testing.T) {
	l, _ := start(t, Options{Type: "tcp", RecBuf: 256 << 10, SndBuf: 128 << 10})
	rc, err := l.ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var rcv, snd int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		rcv, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		if gerr == nil {
			snd, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		}
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	// Linux doubles the requested value for bookkeeping; it never goes below it unless capped by rmem_max.
	if rcv < 128<<10 || snd < 64<<10 {
		t.Fatalf("SO_RCVBUF=%d SO_SNDBUF=%d, want about 256KiB / 128KiB", rcv, snd)
	}
}

// TestAcceptedSocketOptions: accepted sockets of every listener type have no OS TCP keepalive
// (Go turns it on by default; MQTT's keep alive covers dead peers, as in VerneMQ, whose
// tcp_listen_options do not set it) and keep TCP_NODELAY.
func TestAcceptedSocketOptions(t *testing.T) {
	p := newPKI(t)
	for _, o := range []Options{
		{Type: "tcp"},
		{Type: "tcp", ProxyProtocol: true},
		sslOptions(p),
		{Type: "ws"},
		{Type: "wss", CAFile: p.caFile, CertFile: p.serverCert, KeyFile: p.serverKey},
	} {
		t.Run(o.Type, func(t *testing.T) {
			l, _ := start(t, o)
			dial(t, l) // the options are the accepted socket's, before any protocol runs on it
			var tc *trackedConn
			eventually.True(t, eventually.Wait, "the listener tracks the accepted connection", func() bool {
				l.mu.Lock()
				defer l.mu.Unlock()
				for c := range l.conns {
					tc = c
				}
				return tc != nil
			})
			rc, err := tc.Conn.(*net.TCPConn).SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			var keepAlive, noDelay int
			var gerr error
			if err := rc.Control(func(fd uintptr) {
				keepAlive, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
				if gerr == nil {
					noDelay, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
				}
			}); err != nil || gerr != nil {
				t.Fatal(err, gerr)
			}
			if keepAlive != 0 || noDelay == 0 {
				t.Fatalf("accepted socket: SO_KEEPALIVE=%d TCP_NODELAY=%d, want 0 and 1", keepAlive, noDelay)
			}
		})
	}
}
