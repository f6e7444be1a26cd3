package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vernemq-go/vernemq/pkg/admin"
	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/node"
)

// startTimeout bounds how long start waits for the node to answer ping; stopTimeout
// how long stop waits for it to exit (the node gives its graceful stop 30s).
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 45 * time.Second
	pingTimeout  = 5 * time.Second
)

// nodeFiles are the paths start, stop, ping and getpid work with, from the conf.
type nodeFiles struct {
	cfg               *config.Config
	name              string // nodename, for messages
	pid, socket, logf string
}

// start checks the conf as console will (startable); stop, ping and getpid only
// read it, so a node whose certificate vanished can still be stopped.
func files(confPath, pidFile string, startable bool) (nodeFiles, error) {
	load := config.Read
	if startable {
		load = config.Load
	}
	cfg, warnings, err := load(confPath, os.Environ())
	if startable {
		for _, w := range warnings {
			fmt.Fprintln(os.Stderr, "warning:", w)
		}
	}
	if err != nil {
		return nodeFiles{}, err
	}
	if startable {
		if err := node.Check(cfg); err != nil {
			return nodeFiles{}, err
		}
	}
	f := nodeFiles{cfg: cfg, name: cfg.String("nodename"), pid: pidFile, socket: cfg.String("admin.socket"),
		logf: filepath.Join(cfg.String("platform_log_dir"), "start.log")}
	if f.pid == "" {
		f.pid = filepath.Join(cfg.String("platform_data_dir"), "vernemq.pid")
	}
	return f, nil
}

// pingNode asks the node's admin socket for pong.
func pingNode(socket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	res, err := admin.Call(ctx, socket, []string{"node", "ping"}, nil)
	if err != nil {
		return err
	}
	if res.Type != "text" || res.Text != "pong" {
		return fmt.Errorf("unexpected answer %+v", res)
	}
	return nil
}

func ping(confPath string) error {
	f, err := files(confPath, "", false)
	if err != nil {
		return err
	}
	if err := pingNode(f.socket); err != nil {
		fmt.Fprintf(os.Stderr, "Node '%s' not responding to pings (%v).\n", f.name, err)
		return errQuiet
	}
	fmt.Println("pong")
	return nil
}

// readPid returns the pid in path if that process is alive, else 0.
func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0
	}
	return pid
}

// writePidFile records this process in path (refusing if a live node holds it) and
// returns the function that removes it again.
func writePidFile(path string) (func(), error) {
	if pid := readPid(path); pid != 0 && pid != os.Getpid() {
		return nil, fmt.Errorf("pid file %s names running process %d: the node is already running (vernemq stop, or remove the file if that process is not a node)", path, pid)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("pid file: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("pid file: %w", err)
	}
	return func() {
		if readPid(path) == os.Getpid() {
			os.Remove(path)
		}
	}, nil
}

func getpid(confPath, pidFile string) error {
	f, err := files(confPath, pidFile, false)
	if err != nil {
		return err
	}
	pid := readPid(f.pid)
	if pid == 0 {
		fmt.Fprintf(os.Stderr, "Node '%s' is not running (no live process in %s).\n", f.name, f.pid)
		return errQuiet
	}
	fmt.Println(pid)
	return nil
}

// start runs `vernemq console` detached (own session, output to start.log) and
// returns once the node answers ping, or fails with the end of its output.
func start(confPath, pidFile string) error {
	f, err := files(confPath, pidFile, true)
	if err != nil {
		return fmt.Errorf("refusing to start:\n%w", err)
	}
	if pid := readPid(f.pid); pid != 0 {
		fmt.Fprintf(os.Stderr, "Node '%s' is already running (pid %d, %s).\n", f.name, pid, f.pid)
		return errQuiet
	}
	if pingNode(f.socket) == nil {
		fmt.Fprintf(os.Stderr, "Node '%s' is already running (its admin socket %s answers).\n", f.name, f.socket)
		return errQuiet
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	absConf, _ := filepath.Abs(confPath)
	absPid, _ := filepath.Abs(f.pid)
	if err := os.MkdirAll(filepath.Dir(f.logf), 0o755); err != nil {
		return fmt.Errorf("platform_log_dir: %w", err)
	}
	out, err := os.OpenFile(f.logf, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("start log: %w", err)
	}
	defer out.Close()
	offset, _ := out.Seek(0, 2)
	cmd := exec.Command(self, "console", "-c", absConf, "--pid-file", absPid)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // survives the shell that ran start
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-exited:
			fmt.Fprintf(os.Stderr, "Node '%s' failed to start (%v); its output (%s):\n%s", f.name, err, f.logf, tail(f.logf, offset))
			return errQuiet
		case <-time.After(100 * time.Millisecond):
		}
		if pingNode(f.socket) == nil && readPid(f.pid) == cmd.Process.Pid {
			return nil
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "Node '%s' (pid %d) did not answer ping within %v; see %s\n", f.name, cmd.Process.Pid, startTimeout, f.logf)
			return errQuiet
		}
	}
}

// tail returns what path gained after offset, at most its last 4 KiB.
func tail(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	b = b[offset:]
	if len(b) > 4096 {
		b = b[len(b)-4096:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// stop sends SIGTERM to the node in the pid file and waits until it has exited.
func stop(confPath, pidFile string) error {
	f, err := files(confPath, pidFile, false)
	if err != nil {
		return err
	}
	pid := readPid(f.pid)
	if pid == 0 {
		fmt.Fprintf(os.Stderr, "Node '%s' is not running (no live process in %s).\n", f.name, f.pid)
		return errQuiet
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(stopTimeout)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "Node '%s' (pid %d) still runs %v after SIGTERM.\n", f.name, pid, stopTimeout)
			return errQuiet
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Println("ok")
	return nil
}
