//go:build linux

package listener

import (
	"net"
	"syscall"
	"testing"
)

func TestSocketBuffers(t *testing.T) {
	l, _ := start(t, Options{Type: "tcp", RecBuf: 256 << 10, SndBuf: 128 << 10})
	rc, err := l.ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var rcv, snd int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		rcv, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		if gerr == nil {
			snd, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		}
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	// Linux doubles the requested value for bookkeeping; it never goes below it unless capped by rmem_max.
	if rcv < 128<<10 || snd < 64<<10 {
		t.Fatalf("SO_RCVBUF=%d SO_SNDBUF=%d, want about 256KiB / 128KiB", rcv, snd)
	}
}
