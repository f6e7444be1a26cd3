package metrics

import (
	"strconv"
	"sync"
	"testing"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// ResetCounters zeroes the stored counters while other goroutines count into them and
// register new ones (go test -race proves the registry's locking and the atomic stores);
// gauges and counters computed when read keep their values, and counting goes on from 0.
func TestResetCountersConcurrent(t *testing.T) {
	reg := NewRegistry()
	b := NewBroker(reg)
	b.QueueProcesses.Set(7)
	reg.CounterFunc("system_wallclock", "", nil, func() uint64 { return 42 })
	const workers, perWorker = 4, 20000
	count := func() {
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perWorker {
					b.V4.ConnectReceived.Inc()
					b.V5.PubackSent.Inc(packets.ReasonCode(0x10))
					b.BytesReceived.Add(2)
				}
			}()
		}
		wg.Wait()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			reg.ResetCounters()
			reg.Counter("plugin_counter_"+strconv.Itoa(i%5), "", nil).Inc()
		}
	}()
	count()
	<-done
	if v := b.V4.ConnectReceived.Value(); v > workers*perWorker {
		t.Fatalf("mqtt_connect_received = %d after resets, more than the %d counted", v, workers*perWorker)
	}

	reg.ResetCounters()
	snap := reg.Snapshot()
	for _, s := range snap {
		switch {
		case s.Name == "queue_processes":
			if s.Value != 7 {
				t.Errorf("gauge queue_processes = %v after reset, want 7 (gauges are live state)", s.Value)
			}
		case s.Name == "system_wallclock":
			if s.Value != 42 {
				t.Errorf("computed counter system_wallclock = %v after reset, want 42 (read from elsewhere)", s.Value)
			}
		case s.Kind == CounterKind && s.Value != 0:
			t.Errorf("counter %s%v = %v after reset, want 0", s.Name, s.Labels, s.Value)
		}
	}

	// Without resets every increment counts again, from zero.
	count()
	if v := b.V4.ConnectReceived.Value(); v != workers*perWorker {
		t.Fatalf("mqtt_connect_received = %d, want %d", v, workers*perWorker)
	}
	if v, _ := find(reg.Snapshot(), "mqtt_puback_sent", map[string]string{"mqtt_version": "5", "reason_code": "no_matching_subscribers"}); v != workers*perWorker {
		t.Fatalf("mqtt_puback_sent{reason_code=no_matching_subscribers} = %v, want %d", v, workers*perWorker)
	}
	if v := b.BytesReceived.Value(); v != 2*workers*perWorker {
		t.Fatalf("bytes_received = %d, want %d", v, 2*workers*perWorker)
	}
}
