//go:build linux

package conn_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/race"
	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/auth/acl"
	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/conn"
	"github.com/vernemq-go/vernemq/pkg/listener"
	"github.com/vernemq-go/vernemq/pkg/metrics"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/poller"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/workers"
)

// rawSession is one persistent session's bytes as a device sends them: CONNECT
// (clean_session=false), SUBSCRIBE of one QoS 1 filter, DISCONNECT.
type rawSession struct{ connect, subscribe []byte }

var disconnectBytes = []byte{0xE0, 0}

// rawClient plays a device with system calls only, so that the count of the process's
// allocations is the broker's: net.Dial and a bufio reader would add their own.
type rawClient struct {
	sa  syscall.SockaddrInet4
	buf [64]byte
}

// readN reads exactly n bytes (an answer of known size); 0 means until EOF.
func (r *rawClient) readN(fd, n int) error {
	got := 0
	for n == 0 || got < n {
		m, err := syscall.Read(fd, r.buf[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if m == 0 {
			if n == 0 {
				return nil
			}
			return syscall.ECONNRESET
		}
		got += m
	}
	return nil
}

// session runs one device: CONNECT, CONNACK, SUBSCRIBE, SUBACK, DISCONNECT, then waits
// for the broker to close the socket.
func (r *rawClient) session(s rawSession) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	// A broker that stops answering fails the read instead of hanging the test.
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &readTimeout); err != nil {
		return err
	}
	if err := syscall.Connect(fd, &r.sa); err != nil {
		return err
	}
	for _, step := range [...]struct {
		out  []byte
		want int
	}{{s.connect, 4}, {s.subscribe, 5}, {disconnectBytes, 0}} {
		if _, err := syscall.Write(fd, step.out); err != nil {
			return err
		}
		if err := r.readN(fd, step.want); err != nil {
			return err
		}
	}
	return nil
}

var readTimeout = syscall.Timeval{Sec: 10}

// Creating a persistent session through a real listener and conn.Server allocates little
// (issue 19: creation is CPU-bound, a tenth of it allocation and collection). The count
// is the whole process's over 400 sessions, each as `vmq-bench park` makes it: listener,
// conn, packets, broker (no store: the store's share is pinned by its own tests) and the
// runtime's. VMQ_CONN_ALLOC_PROFILE=file writes where they are.
func TestSessionCreateConnAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates on its own and drops pooled items: counts do not hold")
	}
	if f := os.Getenv("VMQ_CONN_ALLOC_PROFILE"); f != "" {
		// Every allocation sampled, to see where they are: go tool pprof -sample_index=alloc_objects.
		defer writeHeapProfile(t, f, runtime.MemProfileRate)
		runtime.MemProfileRate = 1
	}
	srv, b, l := startServer(t)
	addr := l.Addr().(*net.TCPAddr)
	var cl rawClient
	cl.sa.Port = addr.Port
	copy(cl.sa.Addr[:], addr.IP.To4())

	const warm, runs = 500, 400 // the warm-up gives the maps and pools their size
	sessions := make([]rawSession, warm+runs)
	for i := range sessions {
		id := "dev-" + strconv.Itoa(i)
		c, err := packets.Encode(nil, &packets.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, KeepAlive: 60, ClientID: id}, packets.V311)
		if err != nil {
			t.Fatal(err)
		}
		s, err := packets.Encode(nil, &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "dev/" + strconv.Itoa(i), Options: packets.SubOptions{QoS: 1}}}}, packets.V311)
		if err != nil {
			t.Fatal(err)
		}
		sessions[i] = rawSession{c, s}
	}
	idle := func() bool { return srv.Count() == 0 && l.Stats().Active == 0 }
	for _, s := range sessions[:warm] {
		if err := cl.session(s); err != nil {
			t.Fatal(err)
		}
	}
	eventually.True(t, eventually.Wait, "every warm-up connection closed", idle)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, s := range sessions[warm:] {
		if err := cl.session(s); err != nil {
			t.Fatal(err)
		}
	}
	eventually.True(t, eventually.Wait, "every connection closed", idle)
	runtime.ReadMemStats(&after)
	per := float64(after.Mallocs-before.Mallocs) / runs
	t.Logf("per persistent session created: %.2f allocations, %.0f B", per, float64(after.TotalAlloc-before.TotalAlloc)/runs)
	// Measured 24.02-24.12 (42.07 before issue 19's connection pass): Go's accept (the
	// netFD, the TCPConn, both socket addresses twice over: 6), the tracked connection,
	// its Detach closure, the function that starts its goroutine, the socket's RawConn, the
	// client, its auth.Client, its resume and descriptor funcs, the SUBSCRIBE's auth
	// topics and session subscriptions, the SUBACK, the client id and filter strings,
	// and the broker's: session, registry entry, online part, index entry, trie node.
	const budget = 25
	if per > budget {
		t.Errorf("creating a persistent session through listener and conn allocates %.2f times, want at most %d", per, budget)
	}
	n := 0
	b.Sessions(func(*session.Session) bool { n++; return true })
	if got := n; got != warm+runs {
		t.Fatalf("broker holds %d sessions, want %d", got, warm+runs)
	}
}

// startServer runs a broker (no store), conn.Server with parking and a tcp listener on
// 127.0.0.1, wired as pkg/node wires them (connection goroutines from a workers.Pool), with vmq_acl allowing every topic (as `make
// bench` and scripts/profile.sh configure it); all stop at the end of the test.
func startServer(t *testing.T) (*conn.Server, *broker.Broker, *listener.Listener) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	b := broker.New(broker.Options{Node: "n1", Log: log})
	m := metrics.NewBroker(metrics.NewRegistry())
	aclFile := filepath.Join(t.TempDir(), "acl")
	if err := os.WriteFile(aclFile, []byte("topic #\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	acls := acl.New(acl.Config{File: aclFile, Log: log})
	if err := acls.Reload(); err != nil {
		t.Fatal(err)
	}
	srv := conn.NewServer(b, auth.NewChain(func() bool { return true }, log, acls), m, log, conn.DefaultSettings())
	pool := workers.New(4 * runtime.GOMAXPROCS(0))
	p, err := poller.New(pool.Go)
	if err != nil {
		t.Skip(err)
	}
	srv.EnableParking(p)
	l, err := listener.New(listener.Options{Type: listener.TypeTCP, Addr: "127.0.0.1:0", Go: pool.Go}, func(ctx context.Context, c net.Conn, pe listener.Peer) {
		srv.Serve(ctx, c, conn.Peer{Addr: pe.Addr, Listener: pe.Listener, Type: pe.Type, Mountpoint: pe.Mountpoint,
			AllowedProtocolVersions: pe.AllowedProtocolVersions, Detach: pe.Detach})
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = l.StopAll()
		ctx, cancel := context.WithTimeout(context.Background(), eventually.Wait)
		defer cancel()
		_ = srv.Shutdown(ctx, 0)
		_ = p.Close()
		pool.Close()
	})
	return srv, b, l
}

func writeHeapProfile(t *testing.T, path string, rate int) {
	defer func() { runtime.MemProfileRate = rate }() // after the write: pprof scales the counts by the rate
	out, err := os.Create(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer out.Close()
	if err := pprof.Lookup("allocs").WriteTo(out, 0); err != nil {
		t.Error(err)
	}
}
