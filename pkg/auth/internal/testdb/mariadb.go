package testdb

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// MariaDB root password set by MariaDB; tests connect as root over TCP.
const MariaDBRootPassword = "vmq-root-secret"

// MariaDB installs a data dir and starts mariadbd. The root password is
// set through the unix socket; the returned socket path is for that only.
func MariaDB(t testing.TB) (s *Server, socket string) {
	t.Helper()
	bin, _ := exec.LookPath("mariadbd")
	if bin == "" {
		bin = "/usr/sbin/mariadbd"
	}
	Require(t, "MariaDB", bin)
	inst, _ := exec.LookPath("mariadb-install-db")
	Require(t, "mariadb-install-db", inst)
	dir := Dir(t, "vmq-my-")
	data := filepath.Join(dir, "data")
	socket = filepath.Join(dir, "sock")
	runOnce(t, inst, "--no-defaults", "--datadir="+data, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve")
	port := FreePort(t)
	s = newServer(t, port, filepath.Join(dir, "log"), syscall.SIGTERM, bin,
		"--no-defaults", "--datadir="+data, "--port="+strconv.Itoa(port), "--bind-address=127.0.0.1",
		"--socket="+socket, "--pid-file="+filepath.Join(dir, "pid"), "--skip-name-resolve",
		"--innodb-buffer-pool-size=16M", "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0",
		"--log-error="+filepath.Join(dir, "err"))
	s.Start()
	return s, socket
}
