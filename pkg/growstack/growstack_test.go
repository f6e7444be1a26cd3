package growstack

import (
	"testing"
	"unsafe"
)

// A goroutine that called Grow runs a 6 KiB frame without its stack being copied again: a
// copy moves the goroutine's locals, so a local's address tells whether one happened. Without
// Grow (or if its frame were optimised away) the 6 KiB frame moves the 2 KiB starting stack.
func TestGrow(t *testing.T) {
	for range 100 {
		moved := make(chan bool)
		go func() {
			var x byte
			Grow()
			before := uintptr(unsafe.Pointer(&x))
			deep()
			moved <- uintptr(unsafe.Pointer(&x)) != before
		}()
		if <-moved {
			t.Fatal("the stack was copied after Grow: a 6 KiB frame did not fit in it")
		}
	}
}

//go:noinline
func deep() {
	var buf [6 << 10]byte
	use(buf[:])
}
