package deploy

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	distOnce sync.Once
	distPath string
	distOut  string
	distErr  error
)

// distTarball runs `make dist` once per test run into a scratch directory.
func distTarball(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		missing(t, "make is not installed")
	}
	distOnce.Do(func() {
		dir := filepath.Join(scratch, "dist")
		distOut, distErr = run(t, 150*time.Second, baseEnv(), repoRoot, "make", "--no-print-directory", "dist", "DIST="+dir)
		if distErr != nil {
			return
		}
		m, _ := filepath.Glob(filepath.Join(dir, "vernemq-*-linux-amd64.tar.gz"))
		if len(m) != 1 {
			distErr = errors.New("make dist did not leave one dist/vernemq-<version>-linux-amd64.tar.gz")
			return
		}
		distPath = m[0]
	})
	if distErr != nil {
		t.Fatalf("make dist: %v\n%s", distErr, distOut)
	}
	return distPath
}

func TestMakeDist(t *testing.T) {
	tgz := distTarball(t)
	version := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(tgz), "vernemq-"), "-linux-amd64.tar.gz")
	if version == "" {
		t.Fatalf("no version in %s", tgz)
	}
	top := "vernemq-" + version + "-linux-amd64/"
	files := untar(t, tgz, filepath.Join(scratch, "unpacked"))
	for _, f := range []string{"bin/vernemq", "bin/vmq-admin", "bin/vmq-passwd", "conf/vernemq.conf", "conf/vmq.acl",
		"systemd/vernemq.service", "docs/commands.txt"} {
		mode, ok := files[top+f]
		if !ok {
			t.Errorf("%s not in the tarball", f)
			continue
		}
		if strings.HasPrefix(f, "bin/") && mode&0o111 == 0 {
			t.Errorf("%s is not executable (mode %o)", f, mode)
		}
	}
	root := filepath.Join(scratch, "unpacked", top)
	out, err := run(t, 10*time.Second, baseEnv(), root, filepath.Join(root, "bin/vernemq"), "version")
	if err != nil || strings.TrimSpace(out) != "vernemq "+version {
		t.Errorf("bin/vernemq version = %q (%v), want the version of the tarball's name %s", out, err, version)
	}
	help, err := os.ReadFile(filepath.Join(root, "docs/commands.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"vernemq console", "vernemq config check", "vmq-admin", "vmq-passwd"} {
		if !strings.Contains(string(help), want) {
			t.Errorf("docs/commands.txt lacks the help of %q", want)
		}
	}
}

// untar unpacks a .tar.gz and returns its file names with their modes.
func untar(t *testing.T, tgz, dest string) map[string]os.FileMode {
	t.Helper()
	f, err := os.Open(tgz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string]os.FileMode{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = os.FileMode(h.Mode)
		p := filepath.Join(dest, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			var b []byte
			if b, err = io.ReadAll(tr); err == nil {
				os.MkdirAll(filepath.Dir(p), 0o755)
				err = os.WriteFile(p, b, os.FileMode(h.Mode)&0o777)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
