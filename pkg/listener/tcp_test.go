package listener

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

func TestTCPEchoAndPeer(t *testing.T) {
	l, rec := start(t, Options{Type: "tcp", Mountpoint: "mp1", AllowAnonymousOverride: true, NrOfAcceptors: 3})
	c := dial(t, l)
	echo(t, c, "\x10\x0c\x00\x04MQTT")
	p := rec.next(t)
	if p.Addr.String() != c.LocalAddr().String() {
		t.Errorf("Peer.Addr = %v, want client address %v", p.Addr, c.LocalAddr())
	}
	if p.Local.String() != l.Addr().String() {
		t.Errorf("Peer.Local = %v, want %v", p.Local, l.Addr())
	}
	if p.Listener != "tcp/default" || p.Type != "tcp" || p.Mountpoint != "mp1" || !p.AllowAnonymousOverride {
		t.Errorf("peer metadata wrong: %+v", p)
	}
	if !bytes.Equal(p.AllowedProtocolVersions, []byte{3, 4, 5, 131}) {
		t.Errorf("AllowedProtocolVersions = %v, want VerneMQ default 3,4,5,131", p.AllowedProtocolVersions)
	}
	if p.CN != "" || p.CNAsUsername {
		t.Errorf("plain TCP peer has CN %q / CNAsUsername %v", p.CN, p.CNAsUsername)
	}
	if s := l.Stats(); s.Accepted != 1 || s.Active != 1 {
		t.Errorf("stats = %+v, want Accepted 1 Active 1", s)
	}
	_ = c.Close()
	eventually.True(t, eventually.Wait, "Active back to 0", func() bool { return l.Stats().Active == 0 })
}

func TestTCPNotProxyPassesHeaderBytes(t *testing.T) {
	// Without proxy_protocol a PROXY line is just payload: the MQTT decoder rejects it.
	l, rec := start(t, Options{Type: "tcp"})
	c := dial(t, l)
	line := "PROXY TCP4 10.1.2.3 10.0.0.1 5555 1883\r\n"
	echo(t, c, line)
	if p := rec.next(t); p.Addr.String() != c.LocalAddr().String() {
		t.Errorf("Peer.Addr = %v, want real socket peer %v (header must not be trusted)", p.Addr, c.LocalAddr())
	}
}

func TestMaxConnectionsRefuses(t *testing.T) {
	l, rec := start(t, Options{Type: "tcp", MaxConnections: 1})
	c1 := dial(t, l)
	echo(t, c1, "one")
	rec.next(t)
	c2 := dial(t, l)
	expectClosed(t, c2)
	eventually.True(t, eventually.Wait, "refusal counted", func() bool { return l.Stats().RefusedMaxConns == 1 })
	rec.none(t)
	echo(t, c1, "still here")
	_ = c1.Close()
	eventually.True(t, eventually.Wait, "slot freed", func() bool { return l.Stats().Active == 0 })
	c3 := dial(t, l)
	echo(t, c3, "three")
	rec.next(t)
	if s := l.Stats(); s.Accepted != 2 || s.RefusedMaxConns != 1 {
		t.Errorf("stats = %+v, want Accepted 2 Refused 1", s)
	}
}

func TestStopStartAndCloseConnections(t *testing.T) {
	addr := freeAddr(t)
	l, rec := start(t, Options{Type: "tcp", Addr: addr})
	c1 := dial(t, l)
	echo(t, c1, "before stop")
	rec.next(t)

	if err := l.Stop(); err != nil {
		t.Fatal(err)
	}
	if l.Running() || l.Addr() != nil {
		t.Fatal("listener still running after Stop")
	}
	echo(t, c1, "survives stop")
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		_ = c.Close()
		t.Fatal("dial succeeded on a stopped listener")
	}

	// Restart on the same port.
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Start = %v, want already running", err)
	}
	c2 := dial(t, l)
	echo(t, c2, "after restart")
	rec.next(t)

	l.CloseConnections()
	expectClosed(t, c1)
	expectClosed(t, c2)
	eventually.True(t, eventually.Wait, "no active connections", func() bool { return l.Stats().Active == 0 })
	if !l.Running() {
		t.Fatal("CloseConnections must not stop the listener")
	}
}

func TestStartErrorNamesAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	l, err := New(Options{Type: "tcp", Addr: busy.Addr().String()}, newRecorder().handle, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = l.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Fatalf("Start on busy port = %v, want error naming %s", err, busy.Addr())
	}
}

func TestContextCancelStopsAll(t *testing.T) {
	rec := newRecorder()
	l, err := New(Options{Type: "tcp", Addr: "127.0.0.1:0"}, rec.handle, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c := dial(t, l)
	echo(t, c, "hi")
	rec.next(t)
	cancel()
	expectClosed(t, c)
	eventually.True(t, eventually.Wait, "listener stopped", func() bool { return !l.Running() })
}

func TestHandlerContextCancelledOnClose(t *testing.T) {
	done, running := make(chan error, 1), make(chan struct{})
	l, err := New(Options{Type: "tcp", Addr: "127.0.0.1:0"}, func(ctx context.Context, c net.Conn, p Peer) {
		close(running)
		<-ctx.Done()
		done <- ctx.Err()
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer l.StopAll()
	dial(t, l)
	// The handler runs, so the connection is tracked: Active counts it a moment before
	// (admit), and a CloseConnections in between would not see it (rarely, under a CPU hog).
	select {
	case <-running:
	case <-time.After(eventually.Wait):
		t.Fatal("handler not called")
	}
	l.CloseConnections()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ctx err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler ctx not cancelled by CloseConnections")
	}
}

func TestUnixSocketListener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mqtt.sock")
	l, rec := start(t, Options{Type: "tcp", Addr: "local:" + path + ":0"})
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echo(t, c, "over unix")
	if p := rec.next(t); p.Type != "tcp" {
		t.Fatalf("peer = %+v", p)
	}
	_ = l
}

func TestOptionsValidation(t *testing.T) {
	h := newRecorder().handle
	cases := []struct {
		o    Options
		want string
	}{
		{Options{Type: "quic", Addr: "127.0.0.1:0"}, "unknown type"},
		{Options{Type: "tcp"}, "no address"},
		{Options{Type: "ssl", Addr: "127.0.0.1:0"}, "certfile and keyfile"},
		{Options{Type: "ws", Addr: "local:/tmp/x.sock"}, "unix socket"},
		{Options{Type: "ws", Addr: "127.0.0.1:0", WSPath: "mqtt"}, "must start with /"},
	}
	for _, c := range cases {
		if _, err := New(c.o, h, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want error containing %q", c.o, err, c.want)
		}
	}
	if _, err := New(Options{Type: "tcp", Addr: "x"}, nil, nil); err == nil {
		t.Error("nil handler accepted")
	}
}

// The handler's context is the tracked connection itself (no context.WithCancel per
// connection): it must still behave as a child of Start's context. Its Done, asked for
// before or after the end, closes when the connection is closed or Start's context ends,
// also after Stop (which leaves connections open and stops watching Start's context).
func TestHandlerContextFollowsListenerContext(t *testing.T) {
	ctxs := make(chan context.Context, 2)
	wait := make(chan bool, 2) // true: the handler waits on Done before the end
	l, err := New(Options{Type: "tcp", Addr: "127.0.0.1:0"}, func(ctx context.Context, c net.Conn, p Peer) {
		if <-wait {
			<-ctx.Done()
		}
		ctxs <- ctx
		_, _ = io.Copy(io.Discard, c)
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := l.Start(parent); err != nil {
		t.Fatal(err)
	}
	defer l.StopAll()

	// Closed before anyone asked for Done: Err and a closed Done at once.
	wait <- false
	dial(t, l)
	ctx := <-ctxs
	if ctx.Err() != nil {
		t.Fatalf("open connection's ctx err = %v", ctx.Err())
	}
	l.CloseConnections()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("closed connection's ctx err = %v, want Canceled", ctx.Err())
	}
	select {
	case <-ctx.Done():
	default:
		t.Fatal("closed connection's ctx Done is not closed")
	}

	// Waiting on Done while Start's context ends after Stop: the socket stays, the ctx ends.
	wait <- true
	c := dial(t, l)
	eventually.True(t, eventually.Wait, "connection active", func() bool { return l.Stats().Active == 1 })
	if err := l.Stop(); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case ctx = <-ctxs:
	case <-time.After(eventually.Wait):
		t.Fatal("handler ctx not done after Start's context was cancelled")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("ctx err = %v, want Canceled", ctx.Err())
	}
	if l.Stats().Active != 1 {
		t.Fatalf("Stop closed the connection: %d active", l.Stats().Active)
	}
	_ = c.Close()
}

// A context derived from the handler's (the TLS handshake's WithDeadline) registers on it
// through AfterFunc, as on a standard context, instead of a goroutine per derived context;
// it ends when the connection closes.
func TestDerivedContextNeedsNoGoroutine(t *testing.T) {
	sc, cc := net.Pipe()
	defer cc.Close()
	l := &Listener{conns: map[*trackedConn]struct{}{}}
	l.active.Add(1)
	tc := l.track(context.Background(), sc)
	if _, ok := context.Context(tc).(interface{ AfterFunc(func()) func() bool }); !ok {
		t.Fatal("trackedConn has no AfterFunc")
	}
	// Goroutines created, not alive: the live count is racy while the goroutines that ran
	// the previous run's AfterFuncs exit.
	created := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(created)
	before := created[0].Value.Uint64()
	const n = 200
	var derived []context.Context
	for range n {
		ctx, cancel := context.WithDeadline(tc, time.Now().Add(time.Hour))
		defer cancel()
		derived = append(derived, ctx)
	}
	metrics.Read(created)
	if started := created[0].Value.Uint64() - before; started >= n/2 {
		t.Fatalf("%d derived contexts started %d goroutines", n, started)
	}
	_ = tc.Close()
	for _, ctx := range derived {
		select {
		case <-ctx.Done():
		case <-time.After(eventually.Wait):
			t.Fatal("a derived context did not end with the connection")
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("derived ctx err = %v, want Canceled", ctx.Err())
		}
	}
}
