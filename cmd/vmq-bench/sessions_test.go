package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

func TestTopicMatch(t *testing.T) {
	for _, c := range []struct {
		filter, topic string
		want          bool
	}{
		{"dev/1/#", "dev/1", true}, // # also matches the parent level
		{"dev/1/#", "dev/1/a/b", true},
		{"dev/1/#", "dev/10/a", false},
		{"dev/1/+/cmd", "dev/1/valve/cmd", true},
		{"dev/1/+/cmd", "dev/1/cmd", false},
		{"dev/1/+/cmd", "dev/1/a/b/cmd", false},
		{"+/devices/7/events", "acme/devices/7/events", true},
		{"+/devices/7/events", "devices/7/events", false},
		{"+/devices/7/events", "acme/devices/7/events/raw", false},
		{"fleet/0/broadcast", "fleet/0/broadcast", true},
		{"fleet/0/broadcast", "fleet/0/broadcast/x", false},
	} {
		if got := topicMatch(c.filter, c.topic); got != c.want {
			t.Errorf("topicMatch(%q, %q) = %v, want %v", c.filter, c.topic, got, c.want)
		}
	}
}

// The sample must reach a device, its fleet and its region, include near misses that reach
// nobody, and check sessions that must hold nothing.
func TestSubsProbeSample(t *testing.T) {
	const n = 1000
	p := newSubsProbe(n, 5, 20)
	if !slices.IsSorted(p.checked) || len(p.checked) < 2*n/regions+fleetSize {
		t.Fatalf("checked %d sessions: %v", len(p.checked), p.checked)
	}
	reached := map[string]int{}
	empty := 0
	for _, m := range p.checked {
		w := p.want(m)
		if len(w) == 0 {
			empty++
		}
		for _, tp := range w {
			reached[tp]++
		}
	}
	if empty == 0 {
		t.Fatal("no checked session must hold nothing: the check could not see a message routed too widely")
	}
	last := strconv.Itoa(n - 1)
	for tp, want := range map[string]int{
		"dev/" + last + "/valve/cmd":              1,
		"acme/devices/" + last + "/events":        1,
		"things/" + last + "/shadow/update/delta": 0,
		"acme/devices/" + last + "/events/raw":    0,
		"fleet/9/gw-7/status":                     fleetSize,
		"fleet/9/status":                          0,
		"region/99/alerts/flood":                  n / regions,
		"region/99/info":                          0,
	} {
		if !slices.Contains(p.topics, tp) || reached[tp] != want {
			t.Errorf("%s: reaches %d checked sessions, want %d (in sample: %v)", tp, reached[tp], want, slices.Contains(p.topics, tp))
		}
	}
	for _, m := range p.checked {
		if slices.Contains(p.topics, markTopic(m)) {
			t.Fatalf("the sample uses session %d's mark topic", m)
		}
	}
}

func TestForEachBounds(t *testing.T) {
	var calls atomic.Int64
	boom := errors.New("boom")
	// Each call takes a millisecond: the whole loop would take 25 s; stopped, a few calls at most
	// run after the failure however late the failing worker is scheduled.
	done, err := forEach(100000, 4, time.Time{}, "", func(i int) error {
		calls.Add(1)
		if i == 10 {
			return boom
		}
		time.Sleep(time.Millisecond)
		return nil
	})
	if !errors.Is(err, boom) || done >= 1000 || calls.Load() > 1000 {
		t.Fatalf("a failure must stop the loop: done %d, calls %d, err %v", done, calls.Load(), err)
	}
	start := time.Now()
	done, err = forEach(1<<30, 2, time.Now().Add(500*time.Millisecond), "", func(int) error {
		time.Sleep(time.Millisecond)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "time limit") || done == 0 || time.Since(start) > 10*time.Second {
		t.Fatalf("the deadline must stop the loop: done %d after %s, err %v", done, time.Since(start), err)
	}
	done, err = forEach(50, 7, time.Time{}, "", func(int) error { return nil })
	if err != nil || done != 50 {
		t.Fatalf("forEach(50): done %d, %v", done, err)
	}
}

// Scenarios 12-14 step by step against a real broker (no restart: the probes work on a running
// node too), reading the rows back from the results file.
func TestOfflineSessionScenarios(t *testing.T) {
	tcpAddr, _, _ := startNode(t)
	out := filepath.Join(t.TempDir(), "rows.jsonl")
	pid := strconv.Itoa(os.Getpid())
	base := []string{"-broker", "this", "-addr", tcpAddr, "-pid", pid, "-out", out}
	t0 := strconv.FormatInt(time.Now().UnixNano(), 10)
	steps := []struct {
		run  func([]string) error
		args []string
	}{
		{stormCmd, []string{"-clients", "200", "-par", "20", "-sessions", "0"}},
		{parkCmd, []string{"-sessions", "60"}},
		{stormCmd, []string{"-clients", "200", "-par", "20", "-sessions", "60"}},
		{parkProbeCmd, []string{"-sessions", "60", "-t0", t0}},
		{subsCmd, []string{"-sessions", "150"}},
		{subsProbeCmd, []string{"-sessions", "150", "-t0", t0, "-samples", "4", "-controls", "10"}},
	}
	for _, s := range steps {
		if err := s.run(append(slices.Clone(base), s.args...)); err != nil {
			t.Fatalf("%v: %v", s.args, err)
		}
	}
	rows, err := readRows(out)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
		// 12a and 13a are RSS growth of this very process, which the collector may shrink meanwhile.
		if r.Failed != "" || r.Value <= 0 && r.ID != "12a" && r.ID != "13a" {
			t.Errorf("%s %s: value %v, failed %q", r.ID, r.Scenario, r.Value, r.Failed)
		}
	}
	want := []string{"14a", "14b", "12a", "12b", "14c", "14d", "14e", "12c", "12d", "13a", "13b", "13c", "13d", "13e"}
	if !slices.Equal(ids, want) {
		t.Fatalf("rows %v, want %v", ids, want)
	}
	if r := findRow(out, "this", "13e"); r == nil || !strings.Contains(r.Detail, "all exact") {
		t.Fatalf("13e: %+v", r)
	}
}

// The routing check must catch a session that misses a message: publish the sample but one
// topic, then the marks, and the sessions that topic reaches must be reported.
func TestSubsCheckSeesMissingMessage(t *testing.T) {
	tcpAddr, _, _ := startNode(t)
	tgt := target{Addr: tcpAddr, Version: packets.V311}
	const n = 120
	if _, err := forEach(n, 20, time.Now().Add(time.Minute), "", persistentMaker(tgt, "iot", subFilters, nil)); err != nil {
		t.Fatal(err)
	}
	p := newSubsProbe(n, 3, 5)
	skip := "fleet/1/gw-7/status" // device n-1's fleet: sessions 100..119
	if !slices.Contains(p.topics, skip) {
		t.Fatalf("sample lacks %s: %v", skip, p.topics)
	}
	deadline := time.Now().Add(time.Minute)
	sent := slices.DeleteFunc(slices.Clone(p.topics), func(s string) bool { return s == skip })
	marks := make([]string, len(p.checked))
	for i, m := range p.checked {
		marks[i] = markTopic(m)
	}
	if err := publishAll(tgt, append(sent, marks...), deadline); err != nil {
		t.Fatal(err)
	}
	wrong, _, _, err := checkQueues(tgt, p, deadline)
	if err != nil {
		t.Fatal(err)
	}
	if len(wrong) != 20 || !strings.Contains(wrong[0], "iot-1") {
		t.Fatalf("want the 20 sessions of fleet 1 reported, got %d: %s", len(wrong), fmt.Sprint(wrong[:min(2, len(wrong))]))
	}
}

// A network error is retried (here: nothing listens, so every attempt fails the same way).
func TestPersistentMakerRetriesNetworkErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var retried atomic.Int64
	err = persistentMaker(target{Addr: addr, Version: packets.V311}, "x", subFilters, &retried)(0)
	if err == nil || !strings.Contains(err.Error(), "after 3 attempts") || retried.Load() != 0 {
		t.Fatalf("connect to a closed port: %v (retried %d)", err, retried.Load())
	}
}
