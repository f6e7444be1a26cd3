// Package testdb starts real database servers (PostgreSQL, MariaDB, Redis,
// FerretDB) for the auth plugin tests: on 127.0.0.1, on a free port, with
// their data in a temp dir removed at the end of the test. When the tests
// run as root the servers run as user nobody, since PostgreSQL refuses root.
package testdb

import (
	"bytes"
	"fmt"
	"github.com/vernemq-go/vernemq/internal/freeport"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Require skips the test when a server binary is missing, unless
// VMQ_REQUIRE_TOOLS is set, in which case the test fails.
func Require(t testing.TB, what, path string) {
	t.Helper()
	if path != "" {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	msg := fmt.Sprintf("%s not installed (run scripts/install-authdb.sh)", what)
	if os.Getenv("VMQ_REQUIRE_TOOLS") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// FreePort returns a TCP port free on 127.0.0.1 right now, not handed out before in this process.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runAs is the uid/gid servers run as: nobody when root, else nil (self).
func runAs() *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// Dir makes a temp dir the server user owns; t.TempDir's parents are 0700
// and so closed to nobody, hence a dir directly under os.TempDir.
func Dir(t testing.TB, prefix string) string {
	t.Helper()
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if cr := runAs(); cr != nil {
		if err := os.Chown(d, int(cr.Uid), int(cr.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// command builds a command running as the server user.
func command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	if cr := runAs(); cr != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cr}
	}
	return cmd
}

// runOnce runs a setup command to completion, failing the test with its output.
func runOnce(t testing.TB, name string, args ...string) {
	t.Helper()
	cmd := command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
}

// Server is a started server process that can be stopped and started again
// on the same port and data (to test a database going down and coming back).
type Server struct {
	Port int
	name string
	args []string
	log  string
	stop os.Signal // the signal that shuts the server down quickly
	self bool      // run as the test's own user (binaries nobody cannot reach)
	// ready, when set, says whether the server accepts work: some listen before they do
	// (PostgreSQL answers "the database system is starting up" for a while).
	ready func() bool

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	t      testing.TB
}

func newServer(t testing.TB, port int, logFile string, stop os.Signal, name string, args ...string) *Server {
	s := &Server{Port: port, name: name, args: args, log: logFile, stop: stop, t: t}
	t.Cleanup(s.Stop)
	return s
}

// Addr is 127.0.0.1:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Start starts the process and waits (at most 30 s) until the port accepts connections
// and the server says it is ready.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	f, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	cmd := command(s.name, s.args...)
	if s.self {
		cmd.SysProcAttr = nil
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", s.name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			if s.ready == nil || s.ready() {
				return
			}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(s.log)
			s.cmd = nil
			s.t.Fatalf("%s exited before listening on %s:\n%s", filepath.Base(s.name), s.Addr(), tail(b))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(s.log)
			s.t.Fatalf("%s was not ready on %s within 30s:\n%s", filepath.Base(s.name), s.Addr(), tail(b))
		}
	}
}

// Stop shuts the server down (killing it after 15 s) and waits for it to exit.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(s.stop)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}
