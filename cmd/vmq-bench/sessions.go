package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// Scenario 12 (issue 19): many offline persistent sessions, each with one QoS 1 subscription
// dev/<i>. Like scenario 9 it spans a restart the script does: `park` creates the sessions and
// reports memory and creation rate, the script restarts the broker on the same data, and
// `park-probe` times the way back and checks that a publish to the last session is kept.
// Scenario 13 (subs.go) has the same shape; the helpers below serve both.

func devTopic(i int) string { return "dev/" + strconv.Itoa(i) }

// offlineFlags are the flags every step of scenarios 12-14 takes.
type offlineFlags struct {
	broker, addr, out *string
	sessions, pid     *int
}

func newOfflineFlags(fs *flag.FlagSet, sessionsHelp string) offlineFlags {
	return offlineFlags{
		broker:   fs.String("broker", "this", "name of the broker in the results"),
		addr:     fs.String("addr", "127.0.0.1:1883", "MQTT TCP address"),
		out:      fs.String("out", "", "JSON-lines file to append the rows to"),
		sessions: fs.Int("sessions", 10000, sessionsHelp),
		pid:      fs.Int("pid", 0, "broker process id (CPU, RSS)"),
	}
}

func (f offlineFlags) target() target { return target{Addr: *f.addr, Version: packets.V311} }

// parkCmd: vmq-bench park -addr A -sessions N -timeout D -pid P -out F.
func parkCmd(args []string) error {
	fs := flag.NewFlagSet("park", flag.ExitOnError)
	f := newOfflineFlags(fs, "offline persistent sessions dev-<i>, each subscribed to dev/<i> at QoS 1")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up creating sessions after this long (the row says how far it got)")
	_ = fs.Parse(args)
	n := human(float64(*f.sessions))
	mem := row{Broker: *f.broker, ID: "12a", Unit: "KiB",
		Scenario: fmt.Sprintf("%s offline persistent sessions, 1 QoS1 sub each: RSS per session (KiB, lower is better)", n)}
	rate := row{Broker: *f.broker, ID: "12b", Unit: "sessions/s",
		Scenario: fmt.Sprintf("%s persistent sessions created (CONNECT, SUBSCRIBE, DISCONNECT; 50 at a time): sessions/s", n)}
	return createSessions(f, &mem, &rate, 1, *timeout, "dev", func(i int) []string { return []string{devTopic(i)} })
}

// persistentMaker is createSessions' step: client prefix-<i> connects with clean_session=false,
// subscribes to filters(i) at QoS 1 in one SUBSCRIBE and disconnects. A network error (a reset
// seen once in 278,000 sessions on loopback) is retried, twice at most, which makes the same
// session again; retried (when not nil) counts the sessions that needed it.
func persistentMaker(t target, prefix string, filters func(i int) []string, retried *atomic.Int64) func(i int) error {
	once := func(id string, i int) error {
		c, err := dialConnect(t, persistentConnect(t, id), 10*time.Second)
		if err != nil {
			return err
		}
		defer c.close()
		if err := c.subscribeAll(filters(i), 1, 10*time.Second); err != nil {
			return fmt.Errorf("subscribe %s: %w", id, err)
		}
		return nil
	}
	return func(i int) error {
		id := prefix + "-" + strconv.Itoa(i)
		var err error
		for attempt := range 3 {
			if err = once(id, i); err == nil {
				if attempt > 0 && retried != nil {
					retried.Add(1)
				}
				return nil
			}
			var ne net.Error
			if !errors.As(err, &ne) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				return err // a refusal, not the network: no retry
			}
			time.Sleep(100 * time.Millisecond)
		}
		return fmt.Errorf("%s after 3 attempts: %w", id, err)
	}
}

// createSessions makes every session prefix-<i> with persistentMaker, 50 clients at a time, each
// disconnected once its SUBACK came (the session is durable then), so no more than 50 sockets are
// open at once however many sessions are made. It fills mem (RSS growth per subscription: subs per
// session) and rate, emits them, and returns an error when not all sessions were made, so that the
// script skips the restart that would measure fewer sessions than the label says.
func createSessions(f offlineFlags, mem, rate *row, subs int, timeout time.Duration, prefix string, filters func(i int) []string) error {
	var retried atomic.Int64
	mk := persistentMaker(f.target(), prefix, filters, &retried)
	before := rssKiB(*f.pid)
	m := startCPU(*f.pid)
	start := time.Now()
	done, err := forEach(*f.sessions, 50, start.Add(timeout), mem.ID[:2]+" create", mk)
	el := time.Since(start)
	rate.BrokerCores, rate.GenCores, _ = m.stop()
	if err != nil {
		msg := fmt.Sprintf("%d of %d sessions made in %.0fs, then: %v", done, *f.sessions, el.Seconds(), err)
		mem.Failed, rate.Failed = msg, msg
		_ = emit(*f.out, *mem, *rate)
		return errors.New(msg)
	}
	after := rssKiB(*f.pid)
	rate.Value = float64(*f.sessions) * float64(subs) / el.Seconds()
	rate.Detail = fmt.Sprintf("%d sessions in %.1fs", *f.sessions, el.Seconds())
	if r := retried.Load(); r > 0 {
		rate.Detail += fmt.Sprintf(", %d retried after a network error", r)
	}
	if subs > 1 {
		rate.Detail += fmt.Sprintf(" (%.0f sessions/s)", float64(*f.sessions)/el.Seconds())
	}
	mem.RSSKiB = after
	mem.Detail = fmt.Sprintf("RSS %.0f → %.0f MiB", float64(before)/1024, float64(after)/1024)
	if mem.Unit == "B" {
		mem.Value = float64(after-before) * 1024 / float64(*f.sessions*subs)
		mem.Detail += fmt.Sprintf(", %.2f KiB per session", float64(after-before)/float64(*f.sessions))
	} else {
		mem.Value = float64(after-before) / float64(*f.sessions*subs)
	}
	return emit(*f.out, *mem, *rate)
}

// parkProbeCmd: vmq-bench park-probe -addr A -t0 NS -sessions N -pid P -out F, after a restart.
func parkProbeCmd(args []string) error {
	fs := flag.NewFlagSet("park-probe", flag.ExitOnError)
	f := newOfflineFlags(fs, "sessions parked before the restart")
	t0 := fs.Int64("t0", 0, "Unix time in ns when the broker was started")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for the port and the message")
	_ = fs.Parse(args)
	if *t0 == 0 {
		return errors.New("park-probe needs -t0 (date +%s%N when the broker was started)")
	}
	start := time.Unix(0, *t0)
	n := human(float64(*f.sessions))
	acc := row{Broker: *f.broker, ID: "12c", Unit: "s",
		Scenario: fmt.Sprintf("restart with %s offline sessions: start → MQTT port accepts (s, lower is better)", n)}
	mem := row{Broker: *f.broker, ID: "12d", Unit: "MiB",
		Scenario: fmt.Sprintf("restart with %s offline sessions: RSS once a publish to one of them is queued (MiB, lower is better)", n)}
	t := f.target()
	deadline := time.Now().Add(*wait)
	if err := waitPort(t.Addr, deadline); err != nil {
		acc.Failed, mem.Failed = err.Error(), err.Error()
		return emit(*f.out, acc, mem)
	}
	acc.Value = time.Since(start).Seconds()
	// The last session restored must route: publish to it at QoS 1, then collect it.
	last := *f.sessions - 1
	if err := publishOnce(t, devTopic(last), deadline); err != nil {
		mem.Failed = err.Error()
		return emit(*f.out, acc, mem)
	}
	mem.Value = float64(rssKiB(*f.pid)) / 1024
	got, _, _, err := drainSession(t, "dev-"+strconv.Itoa(last), 1, deadline)
	if err != nil {
		mem.Failed = err.Error()
	} else {
		mem.Detail = fmt.Sprintf("session dev-%d got %d queued msg back", last, got) + rssBefore(*f.out, *f.broker, "12a")
	}
	return emit(*f.out, acc, mem)
}

// rssBefore says what the broker's RSS was before the restart, from row id of the same run.
func rssBefore(out, broker, id string) string {
	if r := findRow(out, broker, id); r != nil && r.RSSKiB > 0 {
		return fmt.Sprintf("; %.0f MiB before the restart", float64(r.RSSKiB)/1024)
	}
	return ""
}

// waitPort polls until addr accepts TCP connections or deadline passes.
func waitPort(addr string, deadline time.Time) error {
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %s not accepting before the deadline: %v", addr, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// forEach runs fn(i) for i in [0, n), par at a time, until all are done, one fails or deadline
// passes (zero: no deadline); it returns how many succeeded and the first error. With progress
// set it logs the count every 30 s, which is what a long run (a million sessions) shows meanwhile.
func forEach(n, par int, deadline time.Time, progress string, fn func(i int) error) (int, error) {
	var done atomic.Int64
	var mu sync.Mutex
	var first error
	stop := make(chan struct{})
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
			close(stop)
		}
	}
	idx := make(chan int)
	var wg sync.WaitGroup
	for range min(par, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				if err := fn(i); err != nil {
					fail(err)
					continue
				}
				done.Add(1)
			}
		}()
	}
	var limit <-chan time.Time
	if !deadline.IsZero() {
		tm := time.NewTimer(time.Until(deadline))
		defer tm.Stop()
		limit = tm.C
	}
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	start := time.Now()
feed:
	for i := 0; i < n; {
		select { // a failure stops the feed before any further index (select picks among ready cases at random)
		case <-stop:
			break feed
		default:
		}
		select {
		case idx <- i:
			i++
		case <-stop:
			break feed
		case <-limit:
			fail(fmt.Errorf("time limit reached after %s", time.Since(start).Round(time.Second)))
			break feed
		case <-tick.C:
			if progress != "" {
				d := done.Load()
				fmt.Fprintf(logOut, "%s: %d of %d in %s (%.0f/s)\n", progress, d, n, time.Since(start).Round(time.Second), float64(d)/time.Since(start).Seconds())
			}
		}
	}
	close(idx)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return int(done.Load()), first
}

// publishOnce sends one QoS 1 PUBLISH and waits for its PUBACK, retrying the connect until
// deadline (a port may accept before the broker takes CONNECTs).
func publishOnce(t target, topic string, deadline time.Time) error {
	return publishAll(t, []string{topic}, deadline)
}

// publishAll sends a QoS 1 PUBLISH to each topic in order, at most window unacked, from one
// clean-session client, and waits for every PUBACK, retrying the connect until deadline.
func publishAll(t target, topics []string, deadline time.Time) error {
	var c *client
	var err error
	for {
		c, err = dial(t, "probe-pub", 5*time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("connect publisher: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	a := newAckCounter([]*client{c})
	defer a.close()
	sent := a.blast(0, deadline, int64(len(topics)), func(_ int, k int64) string { return topics[k] })
	for a.acked.Load() < sent && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := a.acked.Load(); got < int64(len(topics)) {
		return fmt.Errorf("%d of %d publishes (first to %s) acked before the deadline", got, len(topics), topics[0])
	}
	return nil
}
