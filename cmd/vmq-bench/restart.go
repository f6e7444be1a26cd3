package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// Scenario 9 spans a broker restart, which the script does (it owns the process), so it is
// three steps: `fill` queues the messages, the script stops and starts the broker, and
// `restart-probe` times the way back.

func restartTopic(i int) string { return "restart/" + strconv.Itoa(i) }

// fillCmd: vmq-bench fill -addr A -sessions 100 -msgs 10000 -timeout 4m -pid P -out F.
func fillCmd(args []string) error {
	fs := flag.NewFlagSet("fill", flag.ExitOnError)
	broker := fs.String("broker", "this", "name of the broker in the results")
	addr := fs.String("addr", "127.0.0.1:1883", "MQTT TCP address")
	sessions := fs.Int("sessions", 100, "offline persistent sessions (restart-<i> on restart/<i>)")
	msgs := fs.Int("msgs", 10000, "QoS 1 messages queued per session")
	timeout := fs.Duration("timeout", 4*time.Minute, "give up filling after this long")
	pid := fs.Int("pid", 0, "broker process id (CPU, RSS)")
	out := fs.String("out", "", "JSON-lines file to append the row to")
	_ = fs.Parse(args)
	t := target{Addr: *addr, Version: packets.V311}
	r := row{Broker: *broker, ID: "9a", Unit: "msg/s",
		Scenario: fmt.Sprintf("restart: fill %s queued QoS1 msgs (%d offline sessions × %d, unpaced, acked msg/s)", human(float64(*sessions**msgs)), *sessions, *msgs)}
	acked, el, bc, gc, err := fillQueues(t, *sessions, *msgs, *timeout, *pid)
	r.BrokerCores, r.GenCores = bc, gc
	if err != nil {
		r.Failed = err.Error()
	} else {
		r.Value = float64(acked) / el.Seconds()
		r.Detail = fmt.Sprintf("%d acked in %.1fs, RSS %.0f MiB", acked, el.Seconds(), float64(rssKiB(*pid))/1024)
		if acked < int64(*sessions)*int64(*msgs) {
			r.Detail += fmt.Sprintf(" (stopped at the %s time limit)", *timeout)
		}
	}
	return emit(*out, r)
}

// fillQueues parks the sessions, then publisher i sends msgs QoS 1 messages to restart/<i>.
func fillQueues(t target, sessions, msgs int, timeout time.Duration, pid int) (acked int64, el time.Duration, bc, gc float64, err error) {
	if err := parkSessions(t, "restart", sessions, restartTopic); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("park %d persistent sessions: %w", sessions, err)
	}
	cs, err := connectMany(t, "fill-pub", sessions, 50, 10*time.Second)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	a := newAckCounter(cs)
	defer a.close()
	topics := make([]string, sessions)
	for i := range topics {
		topics[i] = restartTopic(i)
	}
	m := startCPU(pid)
	start := time.Now()
	end := start.Add(timeout)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.blast(i, end, int64(msgs), func(i int, _ int64) string { return topics[i] })
		}()
	}
	wg.Wait()
	// The last window of each publisher is still unacked: wait for it (bounded by the deadline).
	want := int64(sessions) * int64(msgs)
	for a.acked.Load() < want && time.Now().Before(end.Add(10*time.Second)) {
		time.Sleep(10 * time.Millisecond)
	}
	el = time.Since(start)
	bc, gc, _ = m.stop()
	return a.acked.Load(), el, bc, gc, nil
}

// probeCmd: vmq-bench restart-probe -addr A -t0 NS -shutdown S -msgs N -queued Q -pid P -out F.
// t0 is when the script started the broker (Unix ns); it is measured from there.
func probeCmd(args []string) error {
	fs := flag.NewFlagSet("restart-probe", flag.ExitOnError)
	broker := fs.String("broker", "this", "name of the broker in the results")
	addr := fs.String("addr", "127.0.0.1:1883", "MQTT TCP address")
	t0 := fs.Int64("t0", 0, "Unix time in ns when the broker was started")
	shutdown := fs.Float64("shutdown", -1, "seconds the broker took to exit on SIGTERM (from the script)")
	msgs := fs.Int("msgs", 10000, "messages queued for session restart-0")
	queued := fs.Int64("queued", 0, "messages queued in all (for the label)")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for the port and the messages")
	pid := fs.Int("pid", 0, "broker process id (RSS after start)")
	out := fs.String("out", "", "JSON-lines file to append the rows to")
	_ = fs.Parse(args)
	if *t0 == 0 {
		return errors.New("restart-probe needs -t0 (date +%s%N when the broker was started)")
	}
	start := time.Unix(0, *t0)
	label := fmt.Sprintf("restart with %s queued msgs: ", human(float64(*queued)))
	acc := row{Broker: *broker, ID: "9b", Scenario: label + "start → MQTT port accepts (s, lower is better)", Unit: "s"}
	first := row{Broker: *broker, ID: "9c", Scenario: label + "start → first queued msg of a session delivered (s, lower is better)", Unit: "s"}
	t := target{Addr: *addr, Version: packets.V311}
	deadline := time.Now().Add(*wait)
	if err := waitPort(t.Addr, deadline); err != nil {
		acc.Failed, first.Failed = err.Error(), err.Error()
		return emit(*out, acc, first)
	}
	acc.Value = time.Since(start).Seconds()
	if *shutdown >= 0 {
		acc.Detail = fmt.Sprintf("SIGTERM → exit took %.2fs before it", *shutdown)
	}
	got, firstAt, allAt, err := drainSession(t, "restart-0", *msgs, deadline)
	if err != nil {
		first.Failed = err.Error()
		return emit(*out, acc, first)
	}
	first.Value = firstAt.Sub(start).Seconds()
	first.Detail = fmt.Sprintf("session restart-0 got %d of %d back", got, *msgs)
	if got == *msgs {
		first.Detail += fmt.Sprintf(", all by %.2fs", allAt.Sub(start).Seconds())
	}
	first.Detail += fmt.Sprintf("; RSS %.0f MiB", float64(rssKiB(*pid))/1024)
	return emit(*out, acc, first)
}

// drainSession reconnects a persistent session and reads its queued messages until want have
// arrived, 2 s pass without one, or deadline. It returns the count and when the first and last came.
func drainSession(t target, id string, want int, deadline time.Time) (got int, first, last time.Time, err error) {
	var c *client
	for { // the port may accept before the broker takes CONNECTs: retry until the deadline
		c, err = dialConnect(t, persistentConnect(t, id), 5*time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return 0, first, last, fmt.Errorf("reconnect %s: %w", id, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer c.close()
	var n atomic.Int64
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.readLoop(func(p packets.Packet) {
			if _, ok := p.(*packets.Publish); !ok {
				return
			}
			now := time.Now()
			mu.Lock()
			if first.IsZero() {
				first = now
			}
			last = now
			mu.Unlock()
			n.Add(1)
		})
	}()
	lastN, quiet := int64(-1), time.Now()
	for n.Load() < int64(want) && time.Now().Before(deadline) {
		if v := n.Load(); v != lastN {
			lastN, quiet = v, time.Now()
		} else if v > 0 && time.Since(quiet) > 2*time.Second {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if n.Load() == 0 {
		return 0, first, last, fmt.Errorf("session %s got no queued message back within the deadline", id)
	}
	return int(n.Load()), first, last, nil
}

// emit appends rows to out (stdout when empty) and logs them.
func emit(out string, rows ...row) error {
	for i := range rows {
		fmt.Fprintf(logOut, "%s %s %s: %s\n", rows[i].Broker, rows[i].ID, rows[i].Scenario, cell(&rows[i]))
	}
	if out == "" {
		for _, r := range rows {
			fmt.Printf("%+v\n", r)
		}
		return nil
	}
	return appendRows(out, rows)
}
