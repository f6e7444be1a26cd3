//go:build !linux

package main

import "os"

// noEcho is a no-op where termios ioctls are not wired up; input is echoed.
func noEcho(*os.File) func() { return func() {} }
