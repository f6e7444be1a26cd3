package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// maxPacket bounds what the generator accepts; brokers only send our own small messages back.
const maxPacket = 1 << 20

// keepAlive outlasts any scenario, so no PINGREQ is needed; 0 ("off") would be the natural
// choice but this broker then keeps its CONNECT read deadline and drops the client after it.
const keepAlive = 900

// target is where and how clients connect.
type target struct {
	Addr    string
	TLS     *tls.Config // nil for plain TCP
	Version byte        // packets.V311 or packets.V5
}

// client is one MQTT connection: writes go through a buffered writer under mu so
// that a reader goroutine can send acks while a publisher writes.
type client struct {
	conn    net.Conn
	br      *bufio.Reader
	mu      sync.Mutex
	bw      *bufio.Writer
	buf     []byte
	version byte
}

// dial connects, sends CONNECT (clean session) and waits for a successful CONNACK.
func dial(t target, id string, timeout time.Duration) (*client, error) {
	return dialConnect(t, &packets.Connect{ProtocolName: "MQTT", ProtocolLevel: t.Version, CleanStart: true, KeepAlive: keepAlive, ClientID: id}, timeout)
}

// dialConnect connects with the given CONNECT (persistent sessions, credentials) and waits for a successful CONNACK.
func dialConnect(t target, cp *packets.Connect, timeout time.Duration) (*client, error) {
	id := cp.ClientID
	d := net.Dialer{Timeout: timeout}
	var c net.Conn
	var err error
	if t.TLS != nil {
		c, err = tls.DialWithDialer(&d, "tcp", t.Addr, t.TLS)
	} else {
		c, err = d.Dial("tcp", t.Addr)
	}
	if err != nil {
		return nil, err
	}
	cl := &client{conn: c, br: bufio.NewReaderSize(c, 32<<10), bw: bufio.NewWriterSize(c, 32<<10), version: t.Version}
	_ = c.SetDeadline(time.Now().Add(timeout))
	err = cl.send(cp, true)
	if err == nil {
		var p packets.Packet
		p, err = packets.ReadPacket(cl.br, t.Version, maxPacket)
		if ack, ok := p.(*packets.Connack); err == nil && (!ok || ack.ReasonCode != 0) {
			err = fmt.Errorf("connect %s: unexpected reply %T %+v", id, p, p)
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return cl, nil
}

// send encodes p into the write buffer; flush pushes it to the socket.
func (c *client) send(p packets.Packet, flush bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	c.buf, err = packets.Encode(c.buf[:0], p, c.version)
	if err != nil {
		return err
	}
	if _, err = c.bw.Write(c.buf); err != nil {
		return err
	}
	if flush {
		return c.bw.Flush()
	}
	return nil
}

func (c *client) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bw.Flush()
}

// subscribe sends one SUBSCRIBE and waits for its SUBACK (call before the read loop starts).
func (c *client) subscribe(filter string, qos byte, timeout time.Duration) error {
	return c.subscribeAll([]string{filter}, qos, timeout)
}

// subscribeAll sends one SUBSCRIBE with every filter at qos and waits for a SUBACK granting
// each of them (call before the read loop starts).
func (c *client) subscribeAll(filters []string, qos byte, timeout time.Duration) error {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	defer c.conn.SetReadDeadline(time.Time{})
	s := &packets.Subscribe{PacketID: 1, Subscriptions: make([]packets.Subscription, len(filters))}
	for i, f := range filters {
		s.Subscriptions[i] = packets.Subscription{Filter: f, Options: packets.SubOptions{QoS: qos}}
	}
	if err := c.send(s, true); err != nil {
		return err
	}
	p, err := packets.ReadPacket(c.br, c.version, maxPacket)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", filters[0], err)
	}
	sa, ok := p.(*packets.Suback)
	if !ok || len(sa.ReasonCodes) != len(filters) {
		return fmt.Errorf("subscribe %s: unexpected reply %T %+v", filters[0], p, p)
	}
	for i, rc := range sa.ReasonCodes {
		if rc > 2 {
			return fmt.Errorf("subscribe %s: refused with 0x%02x", filters[i], rc)
		}
	}
	return nil
}

// close sends DISCONNECT best-effort and closes the socket.
func (c *client) close() {
	_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.send(&packets.Disconnect{}, true)
	c.conn.Close()
}

// readLoop hands every packet to fn until the connection closes; QoS 1 publishes are acked here.
func (c *client) readLoop(fn func(p packets.Packet)) error {
	for {
		p, err := packets.ReadPacket(c.br, c.version, maxPacket)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if pub, ok := p.(*packets.Publish); ok && pub.QoS == 1 {
			// Flush acks only when the read buffer is drained: one syscall per batch.
			if err := c.send(&packets.Ack{Kind: packets.PUBACK, PacketID: pub.PacketID}, c.br.Buffered() == 0); err != nil {
				return err
			}
		}
		fn(p)
	}
}

// closeAll closes clients concurrently enough to be quick with thousands.
func closeAll(cs []*client) {
	var wg sync.WaitGroup
	ch := make(chan *client)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range ch {
				c.close()
			}
		}()
	}
	for _, c := range cs {
		if c != nil {
			ch <- c
		}
	}
	close(ch)
	wg.Wait()
}
