// Package growstack grows a new goroutine's stack once, up front. A connection's goroutine
// starts with the runtime's small starting stack and would otherwise grow it two or three
// times during a handshake (CONNECT, auth hooks, registration, a store commit), each time
// copying an ever deeper stack and adjusting every frame; growing it at the start copies
// almost nothing. CockroachDB's util/growstack does the same for its request goroutines.
package growstack

// Grow makes the calling goroutine's stack at least 8 KiB, which a connection's handshake
// and its packets' handling fit in (the runtime doubles a stack until a frame fits, so one
// growth reaches the size). The GC shrinks it again if the goroutine lives long and uses
// little of it.
//
//go:noinline
func Grow() {
	var buf [frame]byte
	use(buf[:])
}

// frame is Grow's frame size: 4 KiB, so the stack becomes 8 KiB.
const frame = 4 << 10

//go:noinline
func use([]byte) {}
