package testdb

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// FerretDBPath is $VMQ_FERRETDB, else $(go env GOPATH)/vmq-tools/ferretdb
// as scripts/build-ferretdb.sh builds it.
func FerretDBPath() string {
	if p := os.Getenv("VMQ_FERRETDB"); p != "" {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = string(out[:len(out)-1])
		}
	}
	return filepath.Join(gopath, "vmq-tools", "ferretdb")
}

// FerretDB starts FerretDB v1 with the SQLite handler (a MongoDB wire
// protocol server), its debug listener on a free port instead of 8088.
func FerretDB(t testing.TB) *Server {
	t.Helper()
	bin := FerretDBPath()
	Require(t, "FerretDB (scripts/build-ferretdb.sh)", bin)
	dir := Dir(t, "vmq-ferret-")
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o777); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	s := newServer(t, port, filepath.Join(dir, "log"), syscall.SIGTERM, bin,
		"--handler=sqlite", "--sqlite-url=file:"+data+"/", "--listen-addr=127.0.0.1:"+strconv.Itoa(port),
		"--debug-addr=127.0.0.1:"+strconv.Itoa(FreePort(t)), "--state-dir="+dir, "--telemetry=disable",
		"--log-level=warn")
	s.self = true // the binary lives under the builder's GOPATH
	s.Start()
	return s
}
