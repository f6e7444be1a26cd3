package broker

import (
	"context"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
)

// NeverExpire is the v5 session expiry interval meaning "never".
const NeverExpire = 0xFFFFFFFF

// Will is a last will with its v5 delay.
type Will struct {
	Msg   *session.Message
	Delay uint32 // seconds
}

// ConnectRequest is what the router needs of a CONNECT that passed authentication.
type ConnectRequest struct {
	ID         SessionID
	CleanStart bool
	Persistent bool   // 3.1.1 clean_session=0, or v5 session expiry > 0
	Expiry     uint32 // seconds; NeverExpire for never
	Link       session.Link
	Info       session.Info
	RecvMax    int
	MaxPacket  uint32
	Will       *Will
	// Limits are the client's own queue limits (auth_on_register modifiers), nil for the node's.
	Limits *session.Limits
	// Connack builds the CONNACK once it is known whether a session was resumed.
	Connack func(present bool) packets.Packet
	// Corked: the session is attached corked and Link's reader uncorks it as soon as
	// Connect returns, writing the CONNACK itself (session.Attach).
	Corked bool
}

// Connect registers the client, taking over an existing connection of the same
// client id, and returns its session and whether a previous session was resumed.
// Registrations of one client id run one at a time (its id lock); the registry lock is
// held only for map updates, never while a connection is kicked or a hook runs.
// ctx is the connection's: the cluster's registration gives up when the client goes away.
func (b *Broker) Connect(ctx context.Context, req ConnectRequest) (*session.Session, bool) {
	l := b.reg.lockID(req.ID)
	defer b.reg.unlockID(req.ID, l)
	b.beforeConnect(ctx, req.ID, req.CleanStart)
	var wills []*session.Message
	b.reg.mu.Lock()
	e := b.reg.sessions[req.ID]
	present := false
	var stale *session.Session
	var oldLink session.Link
	if e != nil {
		// Takeover: the old connection is told 0x8E and closed [MQTT-3.1.4-3]; its will goes
		// out unless suppress_lwt_on_session_takeover.
		// A will with a delay is not sent when the session continues on the new connection [MQTT-3.1.3-9].
		if w, delay := e.s.TakeWill(false); w != nil && !b.Settings().SuppressLWTOnSessionTakeover && (delay == 0 || req.CleanStart) {
			wills = append(wills, w)
		}
		oldLink = e.s.Link() // the new link is attached only after this registration
		if e.will != nil {
			// A delayed will is cancelled by the return of the client, unless its session ends now [MQTT-3.1.3-9].
			if e.will.timer.Stop() && req.CleanStart {
				wills = append(wills, e.will.will)
			}
			e.will = nil
		}
		if e.expiry != nil {
			e.expiry.Stop()
			e.expiry = nil
		}
		if req.CleanStart {
			stale = e.s
			e = nil
		} else {
			present = true
		}
	}
	b.reg.gen++
	if e == nil {
		s := session.New(req.ID, &b.env)
		e = &entry{s: s}
		b.reg.sessions[req.ID] = e
		b.m.QueueSetup.Inc()
	}
	e.gen = b.reg.gen
	if stale != nil {
		delete(b.reg.online, stale)
	}
	b.reg.online[e.s] = struct{}{} // attached below, under this client id's lock
	e.s.SetPersistence(req.Persistent, req.Expiry)
	e.s.SetLimits(req.Limits)
	b.reg.mu.Unlock()

	if oldLink != nil {
		// The old connection's reader cannot put the session offline meanwhile: its
		// Disconnect waits for the id lock, and then finds the new link attached. The kick
		// runs apart: a client that stopped reading may hold its DISCONNECT for seconds.
		go oldLink.Kick(packets.SessionTakenOver)
	}
	for _, w := range wills {
		go b.publishWill(w)
	}
	if stale != nil {
		b.dropSubscriptions(stale)
		stale.Close()
		b.persist.deleteSession(stale)
	}
	if req.Will != nil {
		e.s.SetWill(req.Will.Msg, req.Will.Delay)
	} else {
		e.s.SetWill(nil, 0)
	}
	b.persist.saveConnect(e.s, req.Info) // durable before the CONNACK, which attach sends
	b.persist.attach(e.s, present, func() {
		if req.Corked {
			e.s.AttachCorked(req.Link, req.Info, req.RecvMax, req.MaxPacket, req.Connack(present))
		} else {
			e.s.Attach(req.Link, req.Info, req.RecvMax, req.MaxPacket, req.Connack(present))
		}
	})
	if h := b.hooks.Load().OnClientWakeup; h != nil {
		h(req.ID)
	}
	return e.s, present
}

// Disconnect is called when the connection of s ends. graceful means a DISCONNECT
// with a normal reason was received (the will is discarded [MQTT-3.1.2-10]).
// It holds s's id lock throughout, so a reconnect of the same client is registered
// after it, and on_client_offline/on_client_gone never follow the client's return.
func (b *Broker) Disconnect(s *session.Session, link session.Link, graceful bool) {
	l := b.reg.lockID(s.ID)
	defer b.reg.unlockID(s.ID, l)
	// Going offline and moving the memory queue to the store happen under the session's
	// store lock, so a publish routed meanwhile is stored after them (order is kept).
	s.LockStore()
	if !s.Detach(link) {
		s.UnlockStore()
		return // taken over: the new connection owns the session
	}
	b.persist.offline(s)
	s.UnlockStore()
	willMsg, willDelay := s.TakeWill(graceful)
	persistent, expiry := s.Persistent()
	b.reg.mu.Lock()
	delete(b.reg.online, s)
	e := b.reg.sessions[s.ID]
	if e == nil || e.s != s {
		b.reg.mu.Unlock()
		return
	}
	gen := e.gen
	if !persistent || expiry == 0 {
		delete(b.reg.sessions, s.ID)
		b.reg.mu.Unlock()
		if willMsg != nil {
			b.publishWill(willMsg)
		}
		b.dropSubscriptions(s)
		s.Close()
		b.persist.deleteSession(s)
		b.m.QueueTeardown.Inc()
		if h := b.hooks.Load().OnClientGone; h != nil {
			h(s.ID)
		}
		return
	}
	var willNow *session.Message
	if willMsg != nil {
		switch {
		case willDelay == 0:
			willNow = willMsg
		case expiry != NeverExpire && willDelay >= expiry:
			// The will goes at the earlier of its delay and the session's end [MQTT-3.1.3-9].
			e.will = b.scheduleWill(s.ID, gen, willMsg, time.Duration(expiry)*time.Second)
		default:
			e.will = b.scheduleWill(s.ID, gen, willMsg, time.Duration(willDelay)*time.Second)
		}
	}
	if expiry != NeverExpire {
		e.expiry = time.AfterFunc(time.Duration(expiry)*time.Second, func() { b.expire(s.ID, gen) })
	}
	b.reg.mu.Unlock()
	if willNow != nil {
		b.publishWill(willNow)
	}
	b.persist.saveDisconnect(s)
	if h := b.hooks.Load().OnClientOffline; h != nil {
		h(s.ID)
	}
}

// expire removes an offline session whose expiry interval has passed.
func (b *Broker) expire(id SessionID, gen uint64) {
	b.reg.mu.Lock()
	e := b.reg.sessions[id]
	if e == nil || e.gen != gen || e.s.Online() {
		b.reg.mu.Unlock()
		return
	}
	delete(b.reg.sessions, id)
	w := e.will
	b.reg.mu.Unlock()
	if w != nil && w.timer.Stop() {
		b.publishWill(w.will)
	}
	b.dropSubscriptions(e.s)
	e.s.Close()
	b.persist.deleteSession(e.s)
	b.m.SessionExpired.Inc()
	b.m.QueueTeardown.Inc()
	if h := b.hooks.Load().OnSessionExpired; h != nil {
		h(id)
	}
}

// Forget removes a session whatever its state (vmq-admin session disconnect --cleanup).
func (b *Broker) Forget(id SessionID) bool {
	b.reg.mu.Lock()
	e := b.reg.sessions[id]
	if e == nil {
		b.reg.mu.Unlock()
		return false
	}
	delete(b.reg.sessions, id)
	if e.expiry != nil {
		e.expiry.Stop()
	}
	if e.will != nil {
		e.will.timer.Stop()
	}
	b.reg.mu.Unlock()
	e.s.Kick(packets.AdministrativeAction)
	b.dropSubscriptions(e.s)
	e.s.Close()
	b.persist.deleteSession(e.s)
	b.m.QueueTeardown.Inc()
	return true
}

// onDrop tells the on_message_drop hook of a delivery a session dropped.
func (b *Broker) onDrop(id SessionID, d session.Delivery, r session.DropReason) {
	if h := b.hooks.Load().OnMessageDrop; h != nil {
		h(id, d, r)
	}
}
