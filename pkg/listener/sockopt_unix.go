//go:build unix

package listener

import (
	"syscall"
)

// socketControl sets SO_SNDBUF/SO_RCVBUF on the listening socket before bind,
// so accepted sockets inherit them and the TCP window scale fits RecBuf.
func socketControl(sndBuf, recBuf int) func(network, address string, c syscall.RawConn) error {
	if sndBuf <= 0 && recBuf <= 0 {
		return nil
	}
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if sndBuf > 0 {
				if e := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, sndBuf); e != nil {
					serr = e
					return
				}
			}
			if recBuf > 0 {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, recBuf)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}
