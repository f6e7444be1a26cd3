package deploy

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// imageContext prepares the build context of scripts/docker/Containerfile.scratch: the static
// binaries of the release tarball, Debian's static busybox, the entrypoint and confs.
func imageContext(t *testing.T) string {
	t.Helper()
	bb := "/bin/busybox"
	if f, err := elf.Open(bb); err != nil {
		missing(t, "no static /bin/busybox (Debian package busybox-static)")
	} else {
		static := true
		for _, p := range f.Progs {
			static = static && p.Type != elf.PT_INTERP
		}
		f.Close()
		if !static {
			missing(t, "/bin/busybox is dynamically linked: install busybox-static")
		}
	}
	ctx := t.TempDir()
	// The static binaries of `make dist` (CGO_ENABLED=0), shared with the tarball tests.
	tgz := distTarball(t)
	if out, err := run(t, time.Minute, baseEnv(), ctx, "tar", "-xzf", tgz, "--strip-components=2", "--wildcards", "*/bin/*"); err != nil {
		t.Fatalf("unpack %s: %v\n%s", tgz, err, out)
	}
	for _, c := range [][2]string{
		{bb, "busybox"},
		{"scripts/docker/vernemq.sh", "vernemq.sh"},
		{"scripts/docker/vernemq.conf", "vernemq.conf"},
		{"conf/vmq.acl", "vmq.acl"},
		{"scripts/docker/Containerfile.scratch", "Containerfile"},
	} {
		from := c[0]
		if !filepath.IsAbs(from) {
			from = filepath.Join(repoRoot, from)
		}
		copyFile(t, from, filepath.Join(ctx, c[1]))
	}
	for _, x := range []string{"busybox", "vernemq.sh"} {
		if err := os.Chmod(filepath.Join(ctx, x), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return ctx
}

// The container image is built for real (buildah, vfs storage, chroot isolation, FROM
// scratch: no registry), run with its own entrypoint, serves an MQTT client, and stops
// gracefully on SIGTERM.
func TestContainerImage(t *testing.T) {
	buildah := tool(t, "buildah")
	tool(t, "mosquitto_pub")
	ctx := imageContext(t)
	store := t.TempDir()
	b := func(timeout time.Duration, args ...string) string {
		t.Helper()
		all := append([]string{"--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"),
			"--storage-driver", "vfs"}, args...)
		out, err := run(t, timeout, baseEnv(), ctx, buildah, all...)
		if err != nil {
			t.Fatalf("buildah %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(out)
	}
	begin := time.Now()
	b(5*time.Minute, "bud", "--isolation", "chroot", "--layers=false", "-t", "localhost/vernemq-go:test", "-f", "Containerfile", ".")
	t.Logf("image built in %s", time.Since(begin).Round(time.Millisecond))
	inspect := b(time.Minute, "inspect", "--type", "image", "--format", "{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}}", "localhost/vernemq-go:test")
	if inspect != "10000:10000 [/vernemq/bin/vernemq.sh]" {
		t.Fatalf("image config: user and entrypoint %q", inspect)
	}
	c := b(time.Minute, "from", "--pull-never", "localhost/vernemq-go:test")
	t.Cleanup(func() {
		run(t, time.Minute, baseEnv(), ctx, buildah, "--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"), "--storage-driver", "vfs", "rm", c)
	})

	// The container shares the host's network (chroot isolation): listeners on free loopback ports.
	cp := clusterPort(t)
	p := freePorts(t, 3, cp, cp+1)
	args := []string{"--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"), "--storage-driver", "vfs",
		"run", "--isolation", "chroot"}
	for _, e := range []string{
		"VERNEMQ_IP_ADDRESS=127.0.0.1",
		fmt.Sprintf("DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT=127.0.0.1:%d", p[0]),
		fmt.Sprintf("DOCKER_VERNEMQ_LISTENER__WS__DEFAULT=127.0.0.1:%d", p[1]),
		fmt.Sprintf("DOCKER_VERNEMQ_LISTENER__VMQ__CLUSTERING=127.0.0.1:%d", cp),
		fmt.Sprintf("DOCKER_VERNEMQ_LISTENER__HTTP__DEFAULT=127.0.0.1:%d", p[2]),
		"DOCKER_VERNEMQ_USER_bob=builder-pw",
	} {
		args = append(args, "--env", e)
	}
	// buildah run takes a command, not the entrypoint: run the image's entrypoint by name.
	proc := start(t, baseEnv(), buildah, append(args, c, "--", "/vernemq/bin/vernemq.sh")...)
	waitPublish(t, p[0], proc.exited, proc.out.String, "-u", "bob", "-P", "builder-pw")
	// Stop it as a container engine does: SIGTERM to the container's main process, the
	// entrypoint (buildah run answers its own SIGTERM with SIGKILL to the container).
	main := containerMain(t, proc.cmd.Process.Pid, "/vernemq/bin/vernemq.sh")
	if err := syscall.Kill(main, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to the entrypoint (pid %d): %v", main, err)
	}
	select {
	case <-proc.exited:
	case <-time.After(40 * time.Second):
		t.Fatalf("container still running 40s after SIGTERM; output:\n%s", proc.out)
	}
	if proc.err != nil {
		t.Fatalf("container exit after SIGTERM: %v; output:\n%s", proc.err, proc.out)
	}
	if !strings.Contains(proc.out.String(), "node stopped") {
		t.Errorf("no graceful stop in the container's output:\n%s", proc.out)
	}
	if _, err := os.Stat(filepath.Join(ctx, "vernemq")); err != nil {
		t.Fatal(err)
	}
}

// containerMain finds, among the descendants of pid, the process running the entrypoint
// (with chroot isolation the container's processes are ordinary host processes).
func containerMain(t *testing.T, pid int, entry string) int {
	t.Helper()
	var found int
	eventually.True(t, 10*time.Second, "a process of the container running "+entry, func() bool {
		parent := map[int]int{}
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			n, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if err != nil {
				continue
			}
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
			if len(f) > 1 {
				parent[n], _ = strconv.Atoi(f[1])
			}
		}
		for n := range parent {
			desc := false
			for a := parent[n]; a > 1; a = parent[a] {
				if a == pid {
					desc = true
					break
				}
			}
			// The script itself: argv = [<shell>, entry] (buildah's own helpers carry entry among more arguments).
			cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(n), "cmdline"))
			argv := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
			if desc && len(argv) == 2 && strings.HasSuffix(argv[0], "sh") && argv[1] == entry {
				found = n
			}
		}
		return found != 0
	})
	return found
}
