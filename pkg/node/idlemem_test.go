package node

import (
	"bufio"
	"fmt"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// Idle connections cost no goroutine and a bounded heap (scenario 6 of make bench
// measures the process RSS). VMQ_IDLE_PROFILE=F writes an exact heap profile to F.
func TestIdleConnectionMemory(t *testing.T) {
	if f := os.Getenv("VMQ_IDLE_PROFILE"); f != "" {
		runtime.MemProfileRate = 1
		defer func() {
			out, _ := os.Create(f)
			pprof.Lookup("heap").WriteTo(out, 0)
			out.Close()
		}()
	}
	n, addr := startNode(t)
	const count = 1000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	conns := make([]net.Conn, 0, count)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range count {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		b, _ := packets.Encode(nil, &packets.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanStart: true, KeepAlive: 900, ClientID: fmt.Sprintf("idle-%d", i)}, 4)
		c.Write(b)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := packets.ReadPacket(bufio.NewReaderSize(c, 16), 4, 1<<20); err != nil {
			t.Fatal(err)
		}
	}
	eventually.True(t, eventually.Wait, "every idle client parked", func() bool { return n.Server.Parked() == count })
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	goroutines := runtime.NumGoroutine() - g0
	// Signed: goroutines of earlier tests' nodes may still be ending and free memory meanwhile.
	heap := float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / count
	stack := float64(int64(after.StackInuse)-int64(before.StackInuse)) / count
	t.Logf("%d idle clients: %+d goroutines; per connection %.0f B heap (client side included), %.0f B stack", count, goroutines, heap, stack)
	if goroutines > count/20 {
		t.Errorf("%d more goroutines for %d idle clients: idle connections should hold none", goroutines, count)
	}
	if heap > 3500 || stack > 512 {
		t.Errorf("per idle connection %.0f B heap and %.0f B stack; budget 3500 and 512 (scenario 6 targets 4 KiB RSS)", heap, stack)
	}
}
