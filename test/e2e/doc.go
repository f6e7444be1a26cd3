// Package e2e holds the end-to-end tests of the broker core: each test runs
// the real vernemq binary on its own port and data dir (see node_test.go).
// Run with `go test ./test/e2e/ -count=1`; VMQ_BIN=dir reuses built binaries.
package e2e
