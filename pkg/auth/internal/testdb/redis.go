package testdb

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// RedisPassword is the requirepass of the test server.
const RedisPassword = "vmq-redis-secret"

// Redis starts redis-server; no RDB snapshots, but an append-only file so
// data survives Stop/Start.
func Redis(t testing.TB) *Server {
	t.Helper()
	bin, _ := exec.LookPath("redis-server")
	if bin == "" {
		bin = "/usr/bin/redis-server"
	}
	Require(t, "Redis", bin)
	dir := Dir(t, "vmq-redis-")
	port := FreePort(t)
	s := newServer(t, port, filepath.Join(dir, "log"), syscall.SIGTERM, bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "no",
		"--dir", dir, "--requirepass", RedisPassword)
	s.Start()
	return s
}
