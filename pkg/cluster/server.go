package cluster

import (
	"bufio"
	"errors"
	"io"
	"net"
	"time"
)

// accept serves the incoming halves of the data links: each peer dials us once and
// only writes; what we send goes over our own outgoing link to it.
func (c *Cluster) accept() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			select {
			case <-c.stop:
				return
			default:
			}
			c.log.Warn("cluster accept failed", "error", err)
			select {
			case <-c.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		c.inMu.Lock()
		c.in[conn] = struct{}{}
		c.inMu.Unlock()
		c.wg.Add(1)
		go c.serve(conn)
	}
}

func (c *Cluster) serve(conn net.Conn) {
	defer c.wg.Done()
	defer func() {
		conn.Close()
		c.inMu.Lock()
		delete(c.in, conn)
		c.inMu.Unlock()
	}()
	peer, err := serverHandshake(conn, c.key)
	if err != nil {
		c.log.Warn("cluster connection refused", "remote", conn.RemoteAddr().String(), "error", err)
		return
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	var buf []byte
	var fl linkFlow
	for {
		t, body, nb, err := readFrame(r, buf, c.o.IncomingMax)
		buf = nb
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.log.Info("cluster link from peer ended", "peer", peer, "error", err)
			}
			return
		}
		c.received.Add(uint64(len(body) + frameHeader))
		if err := c.handle(peer, t, body, &fl); err != nil {
			c.log.Warn("bad cluster frame; closing the link", "peer", peer, "type", t, "error", err)
			return
		}
	}
}

// handle processes one frame from peer. Bodies alias the read buffer: decoders copy what they keep.
func (c *Cluster) handle(peer string, t byte, body []byte, fl *linkFlow) error {
	d := &dec{b: body}
	switch t {
	case fPublish:
		m := d.message()
		if err := d.done(); err != nil {
			return err
		}
		if m.Retain {
			c.ret.noteRemote(m)
		}
		_, congested := c.b.DeliverLocal(m)
		c.forwardMoved(m)
		if congested != nil {
			fl.wait(congested)
		}
	case fShared:
		sub := d.sid()
		dl := d.delivery()
		if err := d.done(); err != nil {
			return err
		}
		if !c.b.DeliverShared(sub, dl) && !c.PassOn(sub, dl) {
			c.log.Debug("shared delivery for a session that is gone", "client_id", sub.ClientID)
		}
	case fSessions:
		f := decodeSessions(d)
		if err := d.done(); err != nil {
			return err
		}
		if !c.tab.apply(peer, f) {
			c.sendTo(peer, syncReqFrame())
		}
	case fDigest:
		inc, ver := d.uv(), d.uv()
		if err := d.done(); err != nil {
			return err
		}
		if !c.tab.inSync(peer, inc, ver) {
			c.sendTo(peer, syncReqFrame())
		}
	case fSyncReq:
		if err := d.done(); err != nil {
			return err
		}
		c.sendTo(peer, c.tab.fullFrame())
	case fRetain, fRetainSync:
		return c.ret.handle(c, d, t == fRetainSync)
	case fHandoverReq:
		return c.handleHandoverReq(peer, d)
	case fHandoverRes:
		return c.handleHandoverRes(d)
	case fRegLock, fRegGrant, fRegUnlock:
		return c.handleRegFrame(peer, t, d)
	case fMoveIn:
		return c.handleMoveIn(peer, d)
	case fAdminReq, fAdminRes:
		return c.handleAdmin(peer, t, d)
	default:
		c.log.Debug("unknown cluster frame type ignored", "peer", peer, "type", t)
	}
	return nil
}

func syncReqFrame() []byte {
	f, _ := appendFrame(nil, fSyncReq, func(*enc) error { return nil })
	return f
}

// linkFlow is a link reader's flow control toward congested local subscribers. The
// reader waits, as a local QoS 0 publisher does, at most maxFlowWait for a congested
// queue to drain to half, giving that subscriber's flusher the CPU before its queue
// overflows. Everything from the peer shares the link, so the waits are also bounded by
// a budget per second: a subscriber that stays full costs the link at most a tenth of
// its time, and its messages are then dropped (and counted) at its queue.
type linkFlow struct {
	window time.Time     // start of the current second
	spent  time.Duration // waited in it
}

const (
	maxFlowWait    = 5 * time.Millisecond
	flowWaitBudget = 100 * time.Millisecond // per second of link time
)

// wait blocks until congested closes, maxFlowWait passes or the budget is spent.
func (f *linkFlow) wait(congested <-chan struct{}) {
	now := time.Now()
	if now.Sub(f.window) >= time.Second {
		f.window, f.spent = now, 0
	}
	left := flowWaitBudget - f.spent
	if left <= 0 {
		return
	}
	t := time.NewTimer(min(maxFlowWait, left))
	select {
	case <-congested:
	case <-t.C:
	}
	t.Stop()
	f.spent += time.Since(now)
}
