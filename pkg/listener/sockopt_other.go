//go:build !unix

package listener

import "syscall"

// socketControl is a no-op where SO_SNDBUF/SO_RCVBUF cannot be set before
// bind portably; setConnBuffers still applies them per accepted connection.
func socketControl(sndBuf, recBuf int) func(network, address string, c syscall.RawConn) error {
	return nil
}
