package broker

import (
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// ApplyClientExpiration sets persistent_client_expiration (seconds, 0 = never) on the
// 3.1/3.1.1 persistent sessions that are offline now, re-arming their expiry from the
// moment they went offline, so a changed setting applies at once.
func (b *Broker) ApplyClientExpiration(secs uint32) {
	expiry := secs
	if expiry == 0 {
		expiry = NeverExpire
	}
	b.reg.mu.Lock()
	defer b.reg.mu.Unlock()
	for id, e := range b.reg.sessions {
		info, offlineAt := e.s.Info()
		persistent, _ := e.s.Persistent()
		if !persistent || info.Protocol == packets.V5 || offlineAt.IsZero() || e.s.Online() {
			continue
		}
		e.s.SetPersistence(true, expiry)
		if e.expiry != nil {
			e.expiry.Stop()
			e.expiry = nil
		}
		if expiry == NeverExpire {
			continue
		}
		left := max(time.Until(offlineAt.Add(time.Duration(expiry)*time.Second)), 0)
		id, gen := id, e.gen
		e.expiry = time.AfterFunc(left, func() { b.expire(id, gen) })
	}
}
