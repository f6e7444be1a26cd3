package bridge

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// The local client acknowledges deliveries (paho's goroutine) while the bridge publishes
// (its own): over the node's pipe every packet must arrive whole, never interleaved.
func TestLocalClientWritesWholePackets(t *testing.T) {
	const n = 2000
	client, server := net.Pipe()
	defer server.Close()

	var pubs, acks atomic.Int64
	bad := make(chan error, 1)
	connected := make(chan struct{})
	go func() { // the node's side: a strict decoder
		br := bufio.NewReader(server)
		version := byte(0)
		for {
			p, err := packets.ReadPacket(br, version, 0)
			if err != nil {
				select {
				case bad <- err:
				default:
				}
				server.Close() // the client's writes fail at once instead of waiting for a reader
				return
			}
			switch p := p.(type) {
			case *packets.Connect:
				version = packets.V5
				if _, err := server.Write([]byte{0x20, 0x03, 0x00, 0x00, 0x00}); err != nil {
					return
				}
				close(connected)
			case *packets.Publish:
				pubs.Add(1)
			case *packets.Ack:
				if p.Kind == packets.PUBACK {
					acks.Add(1)
				}
			}
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := connectLocal(ctx, client, "bridge-test", nil, func(pr paho.PublishReceived) {
		pr.Client.Ack(pr.Packet)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	<-connected

	go func() { // deliveries to the bridge, QoS 1: each is acknowledged
		topic := "out/x"
		for i := 1; i <= n; i++ {
			body := binary.BigEndian.AppendUint16(nil, uint16(len(topic)))
			body = append(body, topic...)
			body = binary.BigEndian.AppendUint16(body, uint16(i))
			body = append(body, 0x00) // no properties
			body = append(body, fmt.Sprintf("m%d", i)...)
			if _, err := server.Write(append([]byte{0x32, byte(len(body))}, body...)); err != nil {
				return
			}
		}
	}()
	for i := 0; i < n; i++ {
		if err := l.publish(ctx, Msg{Topic: "in/x", Payload: []byte("payload of a bridged message")}); err != nil {
			select {
			case e := <-bad:
				t.Fatalf("the node read a broken packet stream after %d publishes, %d acks: %v", pubs.Load(), acks.Load(), e)
			default:
			}
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	eventually.True(t, 20*time.Second, fmt.Sprintf("%d publishes and %d acks decoded", n, n), func() bool {
		select {
		case err := <-bad:
			t.Fatalf("the node read a broken packet stream after %d publishes, %d acks: %v", pubs.Load(), acks.Load(), err)
		default:
		}
		return pubs.Load() == n && acks.Load() == n
	})
}
