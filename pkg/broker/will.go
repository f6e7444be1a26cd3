package broker

import (
	"time"

	"github.com/vernemq-go/vernemq/pkg/session"
)

type willState struct {
	will  *session.Message
	timer *time.Timer
}

// scheduleWill publishes m after d unless the client comes back first (v5 Will Delay Interval).
func (b *Broker) scheduleWill(id SessionID, gen uint64, m *session.Message, d time.Duration) *willState {
	w := &willState{will: m}
	w.timer = time.AfterFunc(d, func() {
		b.reg.mu.Lock()
		e := b.reg.sessions[id]
		ok := e != nil && e.gen == gen && e.will == w
		if ok {
			e.will = nil
		}
		b.reg.mu.Unlock()
		if ok {
			b.publishWill(m)
		}
	})
	return w
}

func (b *Broker) publishWill(m *session.Message) {
	b.Publish(m)
}
