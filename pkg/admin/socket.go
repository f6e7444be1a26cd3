package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// The socket protocol is newline-delimited JSON: the client sends one SocketRequest;
// the node answers zero or more {"line": ...} frames (streaming commands) and then
// one {"result": ...} frame, and closes. Closing the connection early cancels the command.

// SocketRequest is what vmq-admin sends.
type SocketRequest struct {
	Argv []string `json:"argv"`
}

// SocketFrame is one line of the node's answer.
type SocketFrame struct {
	Line   *string `json:"line,omitempty"`
	Result *Result `json:"result,omitempty"`
}

// ServeUnix serves reg on a Unix socket at path with file mode perm. A stale socket
// file is removed; a socket a running node answers on is an error.
func ServeUnix(ctx context.Context, path string, perm os.FileMode, reg *Registry, log *slog.Logger) (closeFn func() error, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("admin socket: %w (check admin.socket and platform_data_dir)", err)
	}
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("admin socket %s is in use by a running node: stop it or give this node another admin.socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("admin socket: removing stale %s: %w", path, err)
		}
	}
	// Bind under a temporary name and rename once the mode is set, so the socket is
	// never reachable with the default mode.
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w (a unix socket path must be short, about 100 bytes)", err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, perm); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					log.Warn("admin socket accept failed", "error", err)
				}
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				serveConn(ctx, c, reg, log)
			}()
		}
	}()
	var once sync.Once
	return func() error {
		once.Do(func() {
			cancel()
			ln.Close()
			wg.Wait()
			os.Remove(path)
		})
		return nil
	}, nil
}

func serveConn(ctx context.Context, c net.Conn, reg *Registry, log *slog.Logger) {
	defer c.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	context.AfterFunc(ctx, func() { c.Close() }) // node stopping ends long commands (trace)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(io.LimitReader(c, 1<<20))
	line, err := br.ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return
	}
	var req SocketRequest
	enc := json.NewEncoder(c)
	var mu sync.Mutex
	send := func(f SocketFrame) {
		mu.Lock()
		defer mu.Unlock()
		c.SetWriteDeadline(time.Now().Add(30 * time.Second))
		enc.Encode(f)
	}
	if err := json.Unmarshal(line, &req); err != nil {
		res := Errorf("bad request: %v (send {\"argv\": [...]} and a newline)", err)
		send(SocketFrame{Result: &res})
		return
	}
	// The client closing its side cancels the command.
	c.SetReadDeadline(time.Time{})
	go func() {
		io.Copy(io.Discard, br)
		cancel()
	}()
	res := reg.Exec(ctx, req.Argv, func(s string) { send(SocketFrame{Line: &s}) })
	if res.Type == "error" {
		log.Debug("admin command failed", "argv", req.Argv, "error", res.Error)
	}
	send(SocketFrame{Result: &res})
}

// Call runs argv on the node behind the socket at path; out receives streamed lines.
func Call(ctx context.Context, path string, argv []string, out func(string)) (Result, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return Result{}, fmt.Errorf("no node answers on admin socket %s: %w", path, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := json.NewEncoder(c).Encode(SocketRequest{Argv: argv}); err != nil {
		return Result{}, fmt.Errorf("admin socket %s: %w", path, err)
	}
	dec := json.NewDecoder(bufio.NewReader(c))
	for {
		var f SocketFrame
		if err := dec.Decode(&f); err != nil {
			if ctx.Err() != nil {
				return Result{}, ctx.Err()
			}
			return Result{}, fmt.Errorf("admin socket %s: the node closed the connection without an answer: %v", path, err)
		}
		switch {
		case f.Result != nil:
			return *f.Result, nil
		case f.Line != nil && out != nil:
			out(*f.Line)
		}
	}
}
