// Package eventually is the one way tests wait for something to happen: poll a condition
// until it holds or a deadline passes. A test never sleeps to synchronise; a check that
// something does NOT happen names its bound and why at the call site.
package eventually

import (
	"testing"
	"time"
)

// Wait is the deadline tests use when nothing slower is expected: long enough for a loaded
// 2-core CI machine, short enough that a real failure is reported quickly.
const Wait = 5 * time.Second

// True polls cond until it returns true; after d it fails the test, naming what it waited for.
func True(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Within(d, cond) {
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// Within polls cond as True does and reports whether it held before d passed, for a caller
// that reports a miss with its own details (what is missing) or goes on to another round.
func Within(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	poll := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(poll)
		if poll < 20*time.Millisecond {
			poll *= 2 // quick for what takes microseconds, cheap for what takes seconds
		}
	}
	return true
}

// Never checks that cond stays false for d: the bound of a negative check ("nothing else
// arrives"), which the caller chooses well above the time the event would take if it came.
func Never(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			t.Fatalf("%s (checked for %v)", what, d)
		}
		time.Sleep(time.Millisecond)
	}
	if cond() {
		t.Fatalf("%s (checked for %v)", what, d)
	}
}

// Settle is the bound of a negative check in-process: a delivery that would come takes
// microseconds here, so one that has not come within Settle is not coming.
const Settle = 50 * time.Millisecond
