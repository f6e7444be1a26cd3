package cluster

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// The data link handshake proves to both sides that the other knows the cookie,
// without sending it: each side sends a random nonce and answers the other's with an HMAC.
//
//	server → client: "VMQ1" nonceS[32]
//	client → server: "VMQ1" nonceC[32] u16 len(name) name hmac(k, "c"|nonceS|nonceC|name)[32]
//	server → client: hmac(k, "s"|nonceC|nonceS|name)[32]
const linkMagic = "VMQ1"

const handshakeTimeout = 5 * time.Second

var errBadCookie = errors.New("cluster peer does not know our distributed_cookie: check that every node has the same cookie")

// GossipKey is the serf/memberlist AES-256 key: sha256 of the cookie.
func GossipKey(cookie string) []byte {
	k := sha256.Sum256([]byte(cookie))
	return k[:]
}

// linkKey is the data link's HMAC key; derived apart from the gossip key so one never reveals the other.
func linkKey(cookie string) []byte {
	k := sha256.Sum256([]byte("vmq-data-link\x00" + cookie))
	return k[:]
}

func mac(key []byte, role string, a, b []byte, name string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(role))
	h.Write(a)
	h.Write(b)
	h.Write([]byte(name))
	return h.Sum(nil)
}

func nonce() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}

// clientHandshake authenticates a dialled connection as node name.
func clientHandshake(c net.Conn, key []byte, name string) error {
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	defer c.SetDeadline(time.Time{})
	hello := make([]byte, 4+32)
	if _, err := io.ReadFull(c, hello); err != nil {
		return fmt.Errorf("cluster handshake: %w", err)
	}
	if string(hello[:4]) != linkMagic {
		return errors.New("cluster handshake: the peer's listener.vmq.clustering is not a cluster data link")
	}
	ns, nc := hello[4:], nonce()
	if len(name) > 0xFFFF {
		return errors.New("cluster handshake: nodename too long")
	}
	msg := append([]byte(linkMagic), nc...)
	msg = binary.BigEndian.AppendUint16(msg, uint16(len(name)))
	msg = append(msg, name...)
	msg = append(msg, mac(key, "c", ns, nc, name)...)
	if _, err := c.Write(msg); err != nil {
		return fmt.Errorf("cluster handshake: %w", err)
	}
	got := make([]byte, 32)
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("cluster handshake refused (wrong cookie?): %w", err)
	}
	if !hmac.Equal(got, mac(key, "s", nc, ns, name)) {
		return errBadCookie
	}
	return nil
}

// serverHandshake authenticates an accepted connection and returns the peer's node name.
func serverHandshake(c net.Conn, key []byte) (string, error) {
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	defer c.SetDeadline(time.Time{})
	ns := nonce()
	if _, err := c.Write(append([]byte(linkMagic), ns...)); err != nil {
		return "", fmt.Errorf("cluster handshake: %w", err)
	}
	head := make([]byte, 4+32+2)
	if _, err := io.ReadFull(c, head); err != nil {
		return "", fmt.Errorf("cluster handshake: %w", err)
	}
	if string(head[:4]) != linkMagic {
		return "", errors.New("cluster handshake: the client is not a cluster node")
	}
	nc := head[4:36]
	rest := make([]byte, int(binary.BigEndian.Uint16(head[36:]))+32)
	if _, err := io.ReadFull(c, rest); err != nil {
		return "", fmt.Errorf("cluster handshake: %w", err)
	}
	name, got := string(rest[:len(rest)-32]), rest[len(rest)-32:]
	if !hmac.Equal(got, mac(key, "c", ns, nc, name)) {
		return "", errBadCookie
	}
	if _, err := c.Write(mac(key, "s", nc, ns, name)); err != nil {
		return "", fmt.Errorf("cluster handshake: %w", err)
	}
	return name, nil
}
