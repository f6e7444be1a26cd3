package conn

import (
	"testing"
	"unsafe"
)

// An idle connection holds its client struct (TestIdleConnectionMemory, pkg/node): it
// stays in the 704-byte size class (696 B on 64-bit after issue 19's allocation pass).
func TestClientStructSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the budget is for 64-bit platforms")
	}
	if n := unsafe.Sizeof(client{}); n > 704 {
		t.Errorf("client is %d B, over the 704-byte size class: every connection would pay the next (768)", n)
	}
}
