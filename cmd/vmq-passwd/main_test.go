package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/auth/passwd"
)

// buildTool compiles vmq-passwd once per test binary run.
func buildTool(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vmq-passwd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type result struct {
	code           int
	stdout, stderr string
}

func runTool(t *testing.T, bin, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, o.String(), e.String()}
}

// check asks the real passwd plugin about user/password.
func check(t *testing.T, file, user, pw string) auth.Result {
	t.Helper()
	p := passwd.New(passwd.Config{File: file})
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	d, _ := p.AuthOnRegister(context.Background(), &auth.Client{Username: user, Password: []byte(pw)})
	return d.Result
}

func TestVmqPasswd(t *testing.T) {
	bin := buildTool(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "vmq.passwd")

	if r := runTool(t, bin, ""); r.code != 1 || !strings.Contains(r.stdout, "Usage: vmq-passwd [-c | -D] passwordfile username") {
		t.Fatalf("no args: %+v", r)
	}
	if r := runTool(t, bin, "", "-x", file, "u"); r.code != 1 || !strings.Contains(r.stdout, "-U    : update") {
		t.Fatalf("bad flag: %+v", r)
	}

	r := runTool(t, bin, "s3cret\ns3cret\n", "-c", file, "alice")
	if r.code != 0 || r.stdout != "Password: \nReenter password: \n" {
		t.Fatalf("-c: %+v", r)
	}
	if got := check(t, file, "alice", "s3cret"); got != auth.OK {
		t.Fatalf("alice after -c: %v", got)
	}
	if got := check(t, file, "alice", "wrong"); got != auth.Error {
		t.Fatalf("alice wrong password: %v", got)
	}

	if r := runTool(t, bin, "x\nx\n", "-c", file, "bob"); r.code != 1 || !strings.Contains(r.stderr, "already exists. Please use -cf") {
		t.Fatalf("-c on existing file: %+v", r)
	}
	if r := runTool(t, bin, "a\nb\n", file, "bob"); r.code != 1 || !strings.Contains(r.stderr, "Error: Passwords do not match.") {
		t.Fatalf("mismatch: %+v", r)
	}
	if r := runTool(t, bin, "\n", file, "bob"); r.code != 1 || !strings.Contains(r.stderr, "Error: Empty password.") {
		t.Fatalf("empty: %+v", r)
	}
	if r := runTool(t, bin, "x\nx\n", file, "a:b"); r.code != 1 || !strings.Contains(r.stderr, "':'") {
		t.Fatalf("colon in user: %+v", r)
	}

	// add bob, then change alice's password in place
	if r := runTool(t, bin, "bobpw\nbobpw\n", file, "bob"); r.code != 0 {
		t.Fatalf("add bob: %+v", r)
	}
	if r := runTool(t, bin, "new\nnew\n", file, "alice"); r.code != 0 {
		t.Fatalf("update alice: %+v", r)
	}
	if check(t, file, "bob", "bobpw") != auth.OK || check(t, file, "alice", "new") != auth.OK || check(t, file, "alice", "s3cret") != auth.Error {
		t.Fatal("after add/update: wrong answers")
	}
	b, _ := os.ReadFile(file)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "alice:$6$") {
		t.Fatalf("file after update:\n%s", b)
	}

	// delete
	if r := runTool(t, bin, "", "-D", file, "alice"); r.code != 0 {
		t.Fatalf("-D: %+v", r)
	}
	if check(t, file, "alice", "new") != auth.Next || check(t, file, "bob", "bobpw") != auth.OK {
		t.Fatal("after -D: wrong answers")
	}
	if r := runTool(t, bin, "", "-D", file, "nobody"); r.code != 0 || !strings.Contains(r.stderr, "Warning: User nobody not found") {
		t.Fatalf("-D unknown: %+v", r)
	}

	// -cf overwrites
	if r := runTool(t, bin, "z\nz\n", "-cf", file, "zed"); r.code != 0 || !strings.Contains(r.stdout, "File already exists") {
		t.Fatalf("-cf: %+v", r)
	}
	if check(t, file, "bob", "bobpw") != auth.Next || check(t, file, "zed", "z") != auth.OK {
		t.Fatal("after -cf: wrong answers")
	}

	// -U hashes a plain-text file
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("u1:p1\nu2:p:2\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runTool(t, bin, "", "-U", plain); r.code != 0 {
		t.Fatalf("-U: %+v", r)
	}
	if check(t, plain, "u1", "p1") != auth.OK || check(t, plain, "u2", "p:2") != auth.OK {
		b, _ := os.ReadFile(plain)
		t.Fatalf("after -U:\n%s", b)
	}
	if fi, err := os.Stat(plain); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("-U changed permissions: %v %v", fi.Mode(), err)
	}

	if r := runTool(t, bin, "x\nx\n", filepath.Join(dir, "missing"), "u"); r.code != 1 || !strings.Contains(r.stderr, "Unable to open password file") {
		t.Fatalf("missing file: %+v", r)
	}
}
