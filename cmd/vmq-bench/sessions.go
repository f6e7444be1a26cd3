package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// Scenario 12 (issue 19): many offline persistent sessions, each with one QoS 1 subscription
// dev/<i>. Like scenario 9 it spans a restart the script does: `park` creates the sessions and
// reports memory and creation rate, the script restarts the broker on the same data, and
// `park-probe` times the way back and checks that a publish to the last session is kept.

func devTopic(i int) string { return "dev/" + strconv.Itoa(i) }

// parkCmd: vmq-bench park -addr A -sessions N -pid P -out F.
func parkCmd(args []string) error {
	fs := flag.NewFlagSet("park", flag.ExitOnError)
	broker := fs.String("broker", "this", "name of the broker in the results")
	addr := fs.String("addr", "127.0.0.1:1883", "MQTT TCP address")
	sessions := fs.Int("sessions", 10000, "offline persistent sessions dev-<i>, each subscribed to dev/<i> at QoS 1")
	pid := fs.Int("pid", 0, "broker process id (CPU, RSS)")
	out := fs.String("out", "", "JSON-lines file to append the rows to")
	_ = fs.Parse(args)
	t := target{Addr: *addr, Version: packets.V311}
	n := human(float64(*sessions))
	mem := row{Broker: *broker, ID: "12a", Unit: "KiB",
		Scenario: fmt.Sprintf("%s offline persistent sessions, 1 QoS1 sub each: RSS per session (KiB, lower is better)", n)}
	rate := row{Broker: *broker, ID: "12b", Unit: "sessions/s",
		Scenario: fmt.Sprintf("%s persistent sessions created (CONNECT, SUBSCRIBE, DISCONNECT; 50 at a time): sessions/s", n)}
	before := rssKiB(*pid)
	m := startCPU(*pid)
	start := time.Now()
	err := parkEach(t, *sessions)
	el := time.Since(start)
	rate.BrokerCores, rate.GenCores, _ = m.stop()
	if err != nil {
		mem.Failed, rate.Failed = err.Error(), err.Error()
		return emit(*out, mem, rate)
	}
	after := rssKiB(*pid)
	rate.Value = float64(*sessions) / el.Seconds()
	rate.Detail = fmt.Sprintf("%d in %.1fs", *sessions, el.Seconds())
	mem.Value = float64(after-before) / float64(*sessions)
	mem.Detail = fmt.Sprintf("RSS %.0f → %.0f MiB", float64(before)/1024, float64(after)/1024)
	return emit(*out, mem, rate)
}

// parkProbeCmd: vmq-bench park-probe -addr A -t0 NS -sessions N -pid P -out F, after a restart.
func parkProbeCmd(args []string) error {
	fs := flag.NewFlagSet("park-probe", flag.ExitOnError)
	broker := fs.String("broker", "this", "name of the broker in the results")
	addr := fs.String("addr", "127.0.0.1:1883", "MQTT TCP address")
	t0 := fs.Int64("t0", 0, "Unix time in ns when the broker was started")
	sessions := fs.Int("sessions", 10000, "sessions parked before the restart")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for the port and the message")
	pid := fs.Int("pid", 0, "broker process id (RSS after start)")
	out := fs.String("out", "", "JSON-lines file to append the rows to")
	_ = fs.Parse(args)
	if *t0 == 0 {
		return errors.New("park-probe needs -t0 (date +%s%N when the broker was started)")
	}
	start := time.Unix(0, *t0)
	n := human(float64(*sessions))
	acc := row{Broker: *broker, ID: "12c", Unit: "s",
		Scenario: fmt.Sprintf("restart with %s offline sessions: start → MQTT port accepts (s, lower is better)", n)}
	mem := row{Broker: *broker, ID: "12d", Unit: "MiB",
		Scenario: fmt.Sprintf("restart with %s offline sessions: RSS once a publish to one of them is queued (MiB, lower is better)", n)}
	t := target{Addr: *addr, Version: packets.V311}
	deadline := time.Now().Add(*wait)
	for {
		c, err := net.DialTimeout("tcp", t.Addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			acc.Failed = fmt.Sprintf("port %s not accepting after %s: %v", t.Addr, *wait, err)
			mem.Failed = acc.Failed
			return emit(*out, acc, mem)
		}
		time.Sleep(2 * time.Millisecond)
	}
	acc.Value = time.Since(start).Seconds()
	// The last session restored must route: publish to it at QoS 1, then collect it.
	last := *sessions - 1
	if err := publishOnce(t, devTopic(last), deadline); err != nil {
		mem.Failed = err.Error()
		return emit(*out, acc, mem)
	}
	mem.Value = float64(rssKiB(*pid)) / 1024
	got, _, _, err := drainSession(t, "dev-"+strconv.Itoa(last), 1, deadline)
	if err != nil {
		mem.Failed = err.Error()
	} else {
		mem.Detail = fmt.Sprintf("session dev-%d got %d queued msg back", last, got)
	}
	return emit(*out, acc, mem)
}

// parkEach creates dev-<i> subscribed to dev/<i> at QoS 1, 50 clients at a time, each one
// disconnected once its SUBACK came (the session is durable then), so no more than 50 sockets
// are open at once however many sessions are parked.
func parkEach(t target, n int) error {
	_, err := connectManyFn(n, 50, func(i int) (*client, error) {
		c, err := dialConnect(t, persistentConnect(t, "dev-"+strconv.Itoa(i)), 10*time.Second)
		if err != nil {
			return nil, err
		}
		defer c.close()
		if err := c.subscribe(devTopic(i), 1, 10*time.Second); err != nil {
			return nil, fmt.Errorf("subscribe dev-%d: %w", i, err)
		}
		return nil, nil
	})
	return err
}

// publishOnce sends one QoS 1 PUBLISH and waits for its PUBACK, retrying the connect until
// deadline (a port may accept before the broker takes CONNECTs).
func publishOnce(t target, topic string, deadline time.Time) error {
	var c *client
	var err error
	for {
		c, err = dial(t, "park-probe-pub", 5*time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("connect publisher: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer c.close()
	acked := make(chan struct{})
	go func() {
		_ = c.readLoop(func(p packets.Packet) {
			if a, ok := p.(*packets.Ack); ok && a.Kind == packets.PUBACK {
				select {
				case <-acked:
				default:
					close(acked)
				}
			}
		})
	}()
	if err := c.send(&packets.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("probe")}, true); err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	select {
	case <-acked:
		return nil
	case <-time.After(time.Until(deadline)):
		return fmt.Errorf("no PUBACK for the publish to %s before the deadline", topic)
	}
}
