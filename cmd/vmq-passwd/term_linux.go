package main

import (
	"os"
	"os/signal"
	"syscall"
	"unsafe"
)

// noEcho turns off echo and canonical mode on a terminal, as gets_quiet does,
// and returns the function restoring it. Not a terminal: no-op.
func noEcho(f *os.File) func() {
	fd := f.Fd()
	var orig syscall.Termios
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCGETS, uintptr(unsafe.Pointer(&orig))); e != 0 {
		return func() {}
	}
	quiet := orig
	quiet.Lflag &^= syscall.ECHO
	syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCSETS, uintptr(unsafe.Pointer(&quiet)))
	restore := func() {
		syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCSETS, uintptr(unsafe.Pointer(&orig)))
	}
	// Ctrl-C while typing must not leave the terminal without echo (handle_sigint).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	stop := make(chan struct{})
	go func() {
		select {
		case <-sig:
			restore()
			os.Exit(0)
		case <-stop:
		}
	}()
	return func() {
		signal.Stop(sig)
		close(stop)
		restore()
	}
}
