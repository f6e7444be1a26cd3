package testdb

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
)

// PGPassword is the password of the PGUser superuser the tests connect as.
const (
	PGUser     = "vmq"
	PGPassword = "vmq-secret"
)

// PGBin is the newest /usr/lib/postgresql/*/bin, "" if none.
func PGBin() string {
	ds, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(ds, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(ds[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(ds[j])))
		return a < b
	})
	if len(ds) == 0 {
		return ""
	}
	return ds[len(ds)-1]
}

// Postgres initialises a cluster (scram-sha-256, user PGUser) and starts it.
func Postgres(t testing.TB) *Server {
	t.Helper()
	bin := PGBin()
	Require(t, "PostgreSQL", filepath.Join(bin, "postgres"))
	dir := Dir(t, "vmq-pg-")
	data := filepath.Join(dir, "data")
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(PGPassword+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runOnce(t, filepath.Join(bin, "initdb"), "-D", data, "-U", PGUser, "--pwfile="+pw,
		"--auth=scram-sha-256", "-E", "UTF8", "--no-sync", "--locale=C")
	port := FreePort(t)
	s := newServer(t, port, filepath.Join(dir, "log"), syscall.SIGINT, filepath.Join(bin, "postgres"),
		"-D", data, "-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "shared_buffers=16MB")
	isReady := filepath.Join(bin, "pg_isready")
	s.ready = func() bool {
		return exec.Command(isReady, "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(port)).Run() == nil
	}
	s.Start()
	return s
}
