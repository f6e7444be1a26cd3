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
		if err := c.handle(peer, t, body); err != nil {
			c.log.Warn("bad cluster frame; closing the link", "peer", peer, "type", t, "error", err)
			return
		}
	}
}

// handle processes one frame from peer. Bodies alias the read buffer: decoders copy what they keep.
func (c *Cluster) handle(peer string, t byte, body []byte) error {
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
		c.b.DeliverLocal(m)
		c.forwardMoved(m)
	case fShared:
		sub := d.sid()
		dl := d.delivery()
		if err := d.done(); err != nil {
			return err
		}
		if !c.b.DeliverShared(sub, dl) && !c.forwardMovedShared(sub, dl) {
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
