package conn

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/metrics"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
)

// client is one connection; the reader loop runs in Serve's goroutine.
type client struct {
	srv  *Server
	nc   net.Conn
	br   *bufio.Reader
	peer Peer

	version    byte
	keepAlive  time.Duration
	sess       *session.Session
	auth       *auth.Client
	mountpoint string
	expiry     uint32 // session expiry from CONNECT (v5), may be changed by DISCONNECT
	aliases    map[uint16]string
	aliasMax   uint16
	mods       *regMods // auth_on_register modifiers that outlive CONNECT (modifiers.go); nil: none

	enh       enhanced     // MQTT 5 enhanced authentication (enhanced.go)
	pub       auth.Publish // auth_on_publish's argument, reused: hooks keep it only for the call
	pendingIn atomic.Int32 // incoming QoS 1/2 publishes not yet acknowledged (v5 Receive Maximum)

	congested <-chan struct{} // a subscriber of our last publish is congested (flow control)
	flowWait  time.Duration   // how long to wait on congested at most

	rateWindow time.Time
	rateCount  int
	maxRate    int
	pause      time.Duration // a plugin's throttle modifier: wait this long before reading on

	corked     bool // the session's flusher is held back while this reader works (cork)
	corkWanted bool // the packet being handled wants the reader to write its answers

	kickOnce sync.Once

	ctx         context.Context // &life, or the listener's before run
	life        lifetime
	lifetime    *time.Timer
	src         countingReader
	deadlineSet time.Time    // when the keepalive deadline last moved
	deadline    atomic.Int64 // the read deadline in Unix ns, 0 = none
	out         socketWriter // every write to the socket (writer.go)
	parking                  // idle parking (park.go)
}

// lifetime is the connection's context: Done when it is kicked (a takeover, an admin
// disconnect, the node stopping), so a plugin call or cluster registration made for a
// client that was replaced ends. Err also reports the listener's context ending (the
// listener closes its sockets then). A field of the client rather than a
// context.WithCancel, which cost every idle connection ~600 B (TestIdleConnectionMemory).
// Its channel is made by the first Done, as context.WithCancel's is: few connections
// ever wait on it (a throttled or congested reader, a plugin that waits), and one made
// for every connection was an allocation per connect and 96 B per idle one (issue 19).
type lifetime struct {
	context.Context // the listener's
	kicked          atomic.Bool
	done            atomic.Pointer[chan struct{}] // nil until Done or the kick; &closedDone after a kick without Done
}

var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (l *lifetime) Done() <-chan struct{} {
	if p := l.done.Load(); p != nil {
		return *p
	}
	ch := make(chan struct{})
	if l.done.CompareAndSwap(nil, &ch) {
		return ch
	}
	return *l.done.Load() // made by another Done, or kicked meanwhile
}

// kick ends the lifetime (once: Kick's).
func (l *lifetime) kick() {
	l.kicked.Store(true)
	if p := l.done.Swap(&closedDone); p != nil && *p != closedDone {
		close(*p)
	}
}

func (l *lifetime) Err() error {
	if l.kicked.Load() {
		return context.Canceled
	}
	return l.Context.Err()
}

type countingReader struct {
	c net.Conn
	n *metrics.Counter
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.c.Read(p)
	r.n.Add(uint64(n))
	return n, err
}

// defaultReadBuffer holds ~16 small publishes per read; a parked connection holds none.
const defaultReadBuffer = 1024

func readBufferSize(n int) int {
	if n <= 0 {
		return defaultReadBuffer // the listener's buffer setting raises it
	}
	return min(n, 1<<20)
}

func newClient(s *Server, c net.Conn, p Peer) *client {
	cl := &client{srv: s, nc: c, peer: p}
	cl.src = countingReader{c, s.Metrics.BytesReceived}
	cl.br = newReader(&cl.src, readBufferSize(p.ReadBuffer))
	return cl
}

// Kick ends the connection; v5 clients first get a DISCONNECT with code (session.Link).
func (c *client) Kick(code packets.ReasonCode) {
	c.kickOnce.Do(func() {
		if code != 0 && c.version == packets.V5 && c.final(&packets.Disconnect{ReasonCode: code}) {
			c.reasonSent("disconnect", code)
		}
		c.life.kick()
		c.nc.Close()
		c.unpark() // a parked client has no reader to notice the close
	})
}

// reasonSent counts one CONNACK refusal, PUBACK/PUBREC failure or DISCONNECT by reason code,
// as VerneMQ's reason_code label does; off the hot path, so the registry lookup is fine.
func (c *client) reasonSent(packet string, code packets.ReasonCode) {
	c.srv.Metrics.Reg.Counter("mqtt_"+packet+"_sent_reason",
		strings.ToUpper(packet)+" packets sent with a refusal or error reason code, by reason_code.",
		map[string]string{"reason_code": code.String()}).Inc()
}

// maxConnectSize bounds the first packet: an unauthenticated peer gets the smaller of
// max_connect_message_size and max_message_size.
func (c *client) maxConnectSize() int {
	st := c.srv.settings.Load()
	if m := st.MaxConnectSize; m > 0 && (st.MaxMessageSize == 0 || m < st.MaxMessageSize) {
		return m
	}
	return c.maxSize()
}

// pm is the packet counters of the client's protocol (3.1.1's until CONNECT is read).
func (c *client) pm() *metrics.Proto { return c.srv.Metrics.Proto(c.version) }

func (c *client) maxSize() int {
	m := c.srv.settings.Load().MaxMessageSize
	if c.mods != nil && c.mods.maxMessageSize != nil {
		m = *c.mods.maxMessageSize // max_message_size modifier
	}
	if m > 0 {
		return m
	}
	return 268435460 // the protocol's maximum packet size
}

// run is Serve's part: the handshake, then the reader loop, which may park the
// connection (and end this goroutine) while the client is idle.
func (c *client) run(ctx context.Context) {
	// Plugin calls and the cluster's registration made for this client end when it is kicked.
	c.life.Context = ctx
	ctx = &c.life
	c.ctx = ctx
	c.directWriter()
	if !c.handshake(ctx) {
		c.finish(false)
		return
	}
	if life := c.maxLifetime(); life > 0 {
		// max_connection_lifetime: the client must reconnect (and re-authenticate) [v5 0xA0].
		c.lifetime = time.AfterFunc(life, func() { c.Kick(packets.MaximumConnectTime) })
	}
	c.raw = c.parkable()
	c.firstDeadline(time.Now())
	c.serve()
}

// firstDeadline replaces the handshake's deadline after CONNACK: the keepalive deadline
// (none for keep alive 0 [MQTT-3.1.2-23]), or, on a connection that can park, a past one:
// the reader parks at its first wait, since an idle client should hold no goroutine, and
// the poller resumes fresh connections in the order their first packets arrive (a SUBSCRIBE
// on one connection, then a PUBLISH on another). The keepalive deadline is kept as a number
// for the sweeper and restored when the connection resumes: one deadline change, not two.
func (c *client) firstDeadline(now time.Time) {
	var t time.Time
	if c.keepAlive > 0 {
		t = now.Add(c.keepAlive*3/2 + c.keepAlive/4) // as moveDeadline
		c.deadline.Store(t.UnixNano())
	}
	c.deadlineSet = now
	if c.raw != nil && c.srv.settings.Load().ParkIdleAfter > 0 {
		c.parkFirst = true
		if c.bare {
			// The first wait parks without a read (waitReadable), so no deadline is needed
			// until the resumed reader (or the rest of a packet sent with CONNECT) restores
			// the keepalive one: one deadline change fewer per connection.
			return
		}
		// A read with a past deadline fails at once, without a system call, unless a layer
		// (TLS, PROXY) holds data: then the packet is handled first.
		t = aLongTimeAgo
	}
	c.nc.SetReadDeadline(t)
}

// serve runs the reader loop; the connection ends here unless it parked.
func (c *client) serve() {
	parked, graceful := false, false
	defer func() {
		if !parked {
			c.finish(graceful) // also when a handler panics
		}
	}()
	parked, graceful = c.loop()
}

// finish tears the connection down once: session offline, socket closed, slot freed.
func (c *client) finish(graceful bool) {
	if c.lifetime != nil {
		c.lifetime.Stop()
	}
	if c.sess != nil {
		// The broker reports on_client_offline (persistent session) or on_client_gone (clean).
		c.srv.Broker.Disconnect(c.sess, c, graceful)
	}
	c.srv.Metrics.SocketClose.Inc()
	c.nc.Close()
	c.releaseReader() // the next connection's: nothing reads from this one any more
	c.srv.release(c)
}

// loop reads and handles packets until the connection ends (parked false) or it
// parks in the poller (parked true: another goroutine resumes it).
func (c *client) loop() (parked, graceful bool) {
	// PUBLISH, ack and SUBSCRIBE packets are decoded into one scratch while this reader runs:
	// nothing keeps a packet past handle (a message keeps the PUBLISH's body, a session a
	// SUBSCRIBE's filter strings, a trace copies the packet).
	sc := scratchPool.Get().(*packets.Scratch)
	defer putScratch(sc)
	for {
		if c.br.Buffered() == 0 {
			// Everything read so far is handled: write the answers (PUBACKs...) in one batch
			// before blocking on the socket.
			c.uncork()
			now := time.Now()
			c.moveDeadline(now)
			park, err := c.waitReadable(now)
			if park {
				return true, false
			}
			if err != nil {
				c.readError(err)
				return false, false
			}
		}
		if c.parkFirst && !packetBuffered(c.br) {
			// The rest of a packet sent with CONNECT is on its way: reading it must not meet the past deadline.
			c.parkFirst = false
			c.restoreDeadline()
		}
		p, err := packets.ReadPacketInto(c.br, c.version, c.maxSize(), sc)
		if err != nil {
			c.uncork()
			c.readError(err)
			return false, false
		}
		// Cork while more is buffered (one write for the burst's answers), or for a packet
		// that is answered when the reader can write the answer itself at the next Uncork.
		// Handlers uncork around plugin calls that may wait (pluginCall).
		c.corkWanted = c.br.Buffered() > 0 || c.out.raw != nil && answered(p)
		if c.corkWanted {
			c.cork()
		}
		done, g := c.handle(c.ctx, p)
		if done {
			c.uncork()
			return false, g
		}
		if c.congested != nil {
			c.uncork()
			c.waitCongestion()
		}
		if c.maxRate > 0 || c.pause > 0 {
			c.uncork()
			c.throttle()
		}
	}
}

// cork holds the session's flusher back while this reader handles packets (Session.Cork).
func (c *client) cork() {
	if !c.corked {
		c.sess.Cork()
		c.corked = true
	}
}

// uncork writes what the handled packets produced (Session.Uncork).
func (c *client) uncork() {
	if c.corked {
		c.sess.Uncork(c, c.directWrite())
		c.corked = false
	}
}

// beforePlugin uncorks ahead of an authorization hook that may wait on I/O (a webhook, a
// database): deliveries to this client must not wait for it. afterPlugin corks again.
func (c *client) beforePlugin() {
	if c.corked && c.srv.Auth.MayBlock() {
		c.uncork()
	}
}

func (c *client) afterPlugin() {
	if c.corkWanted {
		c.cork()
	}
}

var scratchPool = sync.Pool{New: func() any { return new(packets.Scratch) }}

// putScratch gives sc back cleared: a pooled scratch must not hold a client's strings.
func putScratch(sc *packets.Scratch) {
	*sc = packets.Scratch{}
	scratchPool.Put(sc)
}

// answered says whether handling p queues a packet to the client (all but QoS 0 PUBLISH).
func answered(p packets.Packet) bool {
	pub, ok := p.(*packets.Publish)
	return !ok || pub.QoS > 0
}

// moveDeadline sets the keepalive read deadline: 1.5 times the keep alive
// [MQTT-3.1.2-24], plus up to a quarter of slack so the deadline (a timer update)
// moves only every keepalive/4, not on every packet.
func (c *client) moveDeadline(now time.Time) {
	if c.keepAlive <= 0 || c.parkFirst {
		return // the keepalive deadline comes back with restoreDeadline
	}
	if now.Sub(c.deadlineSet) > c.keepAlive/4 {
		c.setReadDeadline(now.Add(c.keepAlive*3/2 + c.keepAlive/4))
		c.deadlineSet = now
	}
}

// setReadDeadline sets and remembers the read deadline (the sweeper checks it for parked clients).
func (c *client) setReadDeadline(t time.Time) {
	if t.IsZero() {
		c.deadline.Store(0)
	} else {
		c.deadline.Store(t.UnixNano())
	}
	c.nc.SetReadDeadline(t)
}

// readError closes the connection after a failed read, with the right reason code.
func (c *client) readError(err error) {
	var pe *packets.Error
	switch {
	case errors.As(err, &pe):
		if pe.Code == packets.PacketTooLarge {
			c.pm().InvalidMsgSizeError.Inc()
		}
		c.srv.Log.Info("closing connection: bad packet", "client_id", c.clientID(), "peer", c.peer.Addr, "reason", pe.Code.String(), "error", pe.Msg)
		c.Kick(pe.Code)
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.expireKeepalive()
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	default:
		c.srv.Metrics.SocketError.Inc()
	}
}

// expireKeepalive ends a client that sent nothing for 1.5 times its keep alive.
func (c *client) expireKeepalive() {
	if c.life.kicked.Load() {
		return
	}
	c.pm().KeepaliveExpired.Inc()
	c.srv.Metrics.SocketCloseTimeout.Inc()
	level := slog.LevelInfo
	if c.srv.settings.Load().KeepaliveAsWarning {
		level = slog.LevelWarn
	}
	c.srv.Log.Log(context.Background(), level, "client keepalive expired", "client_id", c.clientID(), "peer", c.peer.Addr, "keepalive", c.keepAlive)
	c.Kick(packets.KeepAliveTimeout)
}

func (c *client) clientID() string {
	if c.sess != nil {
		return c.sess.ID.ClientID
	}
	return ""
}

// protocolError ends the connection for a packet the spec does not allow here.
func (c *client) protocolError(code packets.ReasonCode, msg string) (bool, bool) {
	c.srv.Log.Info("closing connection: protocol error", "client_id", c.clientID(), "peer", c.peer.Addr, "reason", code.String(), "error", msg)
	c.Kick(code)
	return true, false
}

// maxFlowWait bounds how long one QoS 1/2 publish waits for a congested subscriber, so
// a subscriber that stopped reading cannot stall its publishers for good.
const maxFlowWait = 100 * time.Millisecond

// maxFlowWaitQoS0 is the QoS 0 bound: enough for the subscriber's flusher to run on a
// busy machine, short enough that QoS 0 keeps its drop-when-full character.
const maxFlowWaitQoS0 = 5 * time.Millisecond

// waitCongestion pauses reading until the congested subscriber's queue is back to half.
func (c *client) waitCongestion() {
	ch := c.congested
	c.congested = nil
	t := time.NewTimer(c.flowWait)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-c.life.Done():
	}
}

// throttle pauses reads when the client publishes faster than max_message_rate, as VerneMQ does.
func (c *client) throttle() {
	if c.pause > 0 {
		// auth_on_publish's throttle modifier (VerneMQ's {throttle, Ms}), never with the session corked.
		select {
		case <-time.After(min(c.pause, 10*time.Second)):
		case <-c.life.Done():
		}
		c.pause = 0
	}
	if c.maxRate <= 0 || c.rateCount < c.maxRate {
		return
	}
	now := time.Now()
	if wait := c.rateWindow.Add(time.Second).Sub(now); wait > 0 {
		c.srv.Metrics.PublishThrottled.Inc()
		select {
		case <-time.After(wait):
		case <-c.life.Done():
		}
	}
	c.rateWindow, c.rateCount = time.Now(), 0
}

// handle dispatches one packet; done ends the connection, graceful keeps the will from being sent.
func (c *client) handle(ctx context.Context, p packets.Packet) (done, graceful bool) {
	c.traceIn(p)
	m := c.pm()
	switch p := p.(type) {
	case *packets.Publish:
		m.PublishReceived.Inc()
		return c.publish(ctx, p)
	case *packets.Ack:
		return c.ack(p)
	case *packets.Subscribe:
		m.SubscribeReceived.Inc()
		return c.subscribe(ctx, p)
	case *packets.Unsubscribe:
		m.UnsubscribeReceived.Inc()
		return c.unsubscribe(ctx, p)
	case *packets.Pingreq:
		m.PingreqReceived.Inc()
		c.sess.Send(c, &packets.Pingresp{})
	case *packets.Disconnect:
		m.DisconnectReceived.Inc(p.ReasonCode)
		return c.disconnect(p)
	case *packets.Auth:
		m.AuthReceived.Inc(p.ReasonCode)
		return c.authPacket(ctx, p)
	case *packets.Connect:
		return c.protocolError(packets.ProtocolError, "second CONNECT") // [MQTT-3.1.0-2]
	default:
		return c.protocolError(packets.ProtocolError, "unexpected packet from a client")
	}
	return false, false
}

func (c *client) ack(a *packets.Ack) (bool, bool) {
	m := c.pm()
	s := c.sess
	switch a.Kind {
	case packets.PUBACK:
		m.PubackReceived.Inc(a.ReasonCode)
		if !s.Puback(c, a.PacketID) {
			c.srv.Log.Debug("PUBACK for an unknown packet id", "client_id", s.ID.ClientID, "packet_id", a.PacketID)
			m.PubackInvalidError.Inc()
		}
	case packets.PUBREC:
		m.PubrecReceived.Inc(a.ReasonCode)
		if !s.Pubrec(c, a.PacketID, a.ReasonCode) {
			m.PubrecInvalidError.Inc()
			// Unknown id: answer PUBREL with 0x92 so the client can finish [MQTT-4.3.3].
			if c.version == packets.V5 {
				s.Send(c, &packets.Ack{Kind: packets.PUBREL, PacketID: a.PacketID, ReasonCode: packets.PacketIDNotFound})
			}
		}
	case packets.PUBREL:
		m.PubrelReceived.Inc(a.ReasonCode)
		code := packets.Success
		if !s.ReleasedQoS2(a.PacketID) && c.version == packets.V5 {
			code = packets.PacketIDNotFound
		}
		c.srv.Broker.ReleasedQoS2(s, a.PacketID)
		s.Send(c, &packets.Ack{Kind: packets.PUBCOMP, PacketID: a.PacketID, ReasonCode: code})
	case packets.PUBCOMP:
		m.PubcompReceived.Inc(a.ReasonCode)
		if !s.Pubcomp(c, a.PacketID) {
			m.PubcompInvalidError.Inc()
		}
	}
	return false, false
}

func (c *client) disconnect(d *packets.Disconnect) (bool, bool) {
	if c.version == packets.V5 && d.Props != nil && d.Props.SessionExpiry != nil {
		if c.expiry == 0 && *d.Props.SessionExpiry != 0 {
			// [MQTT-3.14.2-2]
			return c.protocolError(packets.ProtocolError, "session expiry set in DISCONNECT after 0 in CONNECT")
		}
		c.expiry = *d.Props.SessionExpiry
		c.sess.SetPersistence(c.expiry > 0, c.expiry)
	}
	// 0x04 "disconnect with will message" keeps the will [MQTT-3.14.4-3].
	return true, d.ReasonCode != packets.DisconnectWithWill
}
