package growstack

import (
	"runtime"
	"sync"
	"testing"
)

// Goroutines that called Grow hold stacks of 8 KiB, not the 2 KiB they start with: the frame is
// not optimised away. (Stack in use per goroutine is measured loosely: a grown goroutine's 2 KiB
// starting stack is freed and may be counted against it.)
func TestGrow(t *testing.T) {
	const n = 200
	stackInUse := func(grow bool) uint64 {
		var before, after runtime.MemStats
		release := make(chan struct{})
		var started sync.WaitGroup
		started.Add(n)
		runtime.ReadMemStats(&before)
		for range n {
			go func() {
				if grow {
					Grow()
				}
				started.Done()
				<-release
			}()
		}
		started.Wait()
		runtime.ReadMemStats(&after)
		close(release)
		return (after.StackInuse - min(before.StackInuse, after.StackInuse)) / n
	}
	plain, grown := stackInUse(false), stackInUse(true)
	t.Logf("stack per goroutine: %d B plain, %d B after Grow", plain, grown)
	if grown < 5<<10 {
		t.Fatalf("a goroutine that called Grow holds %d B of stack, want about 8 KiB", grown)
	}
}
