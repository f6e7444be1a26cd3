package conn

import (
	"time"

	"github.com/vernemq-go/vernemq/pkg/poller"
)

// EnableParking lets idle connections park in p (see park.go) and starts the sweeper,
// which parks long-idle readers and enforces keepalive on parked ones, until Shutdown.
// Call it before the first Serve.
func (s *Server) EnableParking(p *poller.Poller) {
	s.poller = p
	go s.sweep()
}

// Parked is the number of connections waiting in the poller without a reader.
func (s *Server) Parked() int {
	if s.poller == nil {
		return 0
	}
	return s.poller.Len()
}

// ParkStats counts parks (a reader gave its connection to the poller) and resumes (a new
// reader took it back) since the server started.
type ParkStats struct {
	Parks, Resumes uint64
}

// ParkStats reports the parking counters.
func (s *Server) ParkStats() ParkStats {
	return ParkStats{Parks: s.parks.Load(), Resumes: s.resumes.Load()}
}

// sweepEvery is the sweeper's period: a quarter of the park delay, within [100ms, 1s];
// it is also the precision of keepalive expiry for parked clients.
func sweepEvery(after time.Duration) time.Duration {
	return min(max(after/4, 100*time.Millisecond), time.Second)
}

func (s *Server) sweep() {
	t := time.NewTimer(sweepEvery(s.settings.Load().ParkIdleAfter))
	defer t.Stop()
	var expired, closed []*client
	for {
		select {
		case <-s.stopped:
			return
		case <-t.C:
		}
		after := s.settings.Load().ParkIdleAfter
		now := time.Now().UnixNano()
		expired, closed = expired[:0], closed[:0]
		s.mu.Lock()
		for c := range s.clients {
			e, cl := c.sweepOne(now, after)
			if e {
				expired = append(expired, c)
			} else if cl {
				closed = append(closed, c)
			}
		}
		s.mu.Unlock()
		for _, c := range expired {
			c.expireKeepalive()
		}
		for _, c := range closed {
			c.unpark() // closed by the listener (listener stop --kill): the reader ends it
		}
		clear(expired[:cap(expired)])
		clear(closed[:cap(closed)])
		t.Reset(sweepEvery(after))
	}
}
