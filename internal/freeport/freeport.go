// Package freeport finds free loopback ports for test and bench nodes.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// given holds the ports handed out in this process: a port is free again once its finder
// closes it, so without it two calls in a row (two listeners of one node) could get the same.
var (
	givenMu sync.Mutex
	given   = map[int]bool{}
)

// take reports whether p was not handed out yet, and marks it handed out.
func take(ports ...int) bool {
	givenMu.Lock()
	defer givenMu.Unlock()
	for _, p := range ports {
		if given[p] {
			return false
		}
	}
	if len(given) > 6000 {
		clear(given) // half the range: the oldest are long in use or closed; keep finding ports
	}
	for _, p := range ports {
		given[p] = true
	}
	return true
}

// One returns a TCP port free on 127.0.0.1, below the kernel's ephemeral range (see Pair) and
// never the same twice in one process.
func One() (int, error) {
	for range 200 {
		p := 20000 + rand.IntN(12000)
		if free(p, false) && take(p) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port in 127.0.0.1:20000-32000 after 200 tries")
}

// Pair returns p with p and p+1 free on 127.0.0.1 (TCP, and UDP for p+1): a node's
// listener.vmq.clustering and its serf gossip port. p is below the kernel's ephemeral
// range (32768+): a pair taken from :0 has p+1 in that range, where any outgoing
// connection of the test itself could take it before the node binds it. Never the same
// pair twice in one process.
func Pair() (int, error) {
	for range 200 {
		p := 20000 + rand.IntN(12000)
		if free(p, false) && free(p+1, true) && take(p, p+1) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port pair in 127.0.0.1:20000-32000 after 200 tries")
}

func free(p int, udp bool) bool {
	addr := fmt.Sprintf("127.0.0.1:%d", p)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer l.Close()
	if udp {
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		u.Close()
	}
	return true
}
