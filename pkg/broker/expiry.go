package broker

import (
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// ApplyClientExpiration sets persistent_client_expiration (seconds, 0 = never) on the
// 3.1/3.1.1 persistent sessions that are offline now, re-arming their expiry from the
// moment they went offline, so a changed setting applies at once. A session that goes
// offline during the walk takes the new setting from the broker's settings already.
func (b *Broker) ApplyClientExpiration(secs uint32) {
	expiry := secs
	if expiry == 0 {
		expiry = NeverExpire
	}
	b.reg.eachEntry(func(id SessionID, e *entry) { b.applyExpiry(id, e, expiry) })
}

// applyExpiry re-arms e's expiry; the caller holds reg.mu.
func (b *Broker) applyExpiry(id SessionID, e *entry, expiry uint32) {
	info, offlineAt := e.s.Info()
	persistent, _ := e.s.Persistent()
	if !persistent || info.Protocol == packets.V5 || offlineAt.IsZero() || e.s.Online() {
		return
	}
	e.s.SetPersistence(true, expiry)
	if e.expiry != nil {
		e.expiry.Stop()
		e.expiry = nil
	}
	if expiry == NeverExpire {
		return
	}
	left := max(time.Until(offlineAt.Add(time.Duration(expiry)*time.Second)), 0)
	gen := e.gen
	e.expiry = time.AfterFunc(left, func() { b.expire(id, gen) })
}
