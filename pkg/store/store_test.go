package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/race"
)

func openT(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func queueOf(t *testing.T, s *Store, k SessionKey) []Queued {
	t.Helper()
	var out []Queued
	if err := s.Queue(k, func(q Queued) error { out = append(out, q); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func seqsOf(qs []Queued) []uint64 {
	out := make([]uint64, len(qs))
	for i, q := range qs {
		out[i] = q.Seq
	}
	return out
}

func msg(i int) Message {
	return Message{Topic: fmt.Sprintf("t/%d", i), Payload: []byte(fmt.Sprint("p", i)), QoS: 1, Published: int64(i)}
}

func TestRoundTripAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "store.db")
	s := openT(t, path, Options{})
	k1, k2 := SessionKey{"", "c1"}, SessionKey{"mp", "c1"}
	sess := Session{Key: k1, ProtocolVersion: 4, ExpiryInterval: 3600, DisconnectedAt: time.Unix(100, 5),
		Username: "bob", Subscriptions: []Subscription{{Filter: "a/+", QoS: 1}, {Filter: "b/#", QoS: 2, SubID: 7}}}
	if err := s.PutSession(sess); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSession(Session{Key: k2, ProtocolVersion: 5}); err != nil {
		t.Fatal(err)
	}
	full := Message{Topic: "a/x", Payload: []byte{0, 1, 2}, QoS: 2, Retain: true, Dup: true, Props: []byte{1, 2}, Expiry: 1 << 62, Published: 42}
	seqs, err := s.Enqueue([]SessionKey{k1, k2}, full)
	if err != nil || !reflect.DeepEqual(seqs, []uint64{1, 1}) {
		t.Fatalf("Enqueue = %v, %v", seqs, err)
	}
	if _, err := s.Enqueue([]SessionKey{k1}, msg(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutQoS2(k1, 9); err != nil {
		t.Fatal(err)
	}
	if err := s.PutQoS2(k1, 3); err != nil {
		t.Fatal(err)
	}
	if err := putRetained(s, "", "r/1", msg(5)); err != nil {
		t.Fatal(err)
	}
	if err := putRetained(s, "mp", "r/1", msg(6)); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Sessions != 2 || st.Messages != 3 || st.FileSize == 0 {
		t.Fatalf("stats %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := s.Enqueue([]SessionKey{k1}, msg(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enqueue after Close = %v", err)
	}

	s = openT(t, path, Options{})
	defer s.Close()
	var got []Session
	if err := s.Sessions(func(x Session) error { got = append(got, x); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !reflect.DeepEqual(got[0].Subscriptions, sess.Subscriptions) || got[0].Username != "bob" ||
		!got[0].DisconnectedAt.Equal(sess.DisconnectedAt) || got[1].Key != k2 {
		t.Fatalf("sessions after reopen: %+v", got)
	}
	q1 := queueOf(t, s, k1)
	if len(q1) != 2 || !reflect.DeepEqual(q1[0].Msg, full) || q1[1].Msg.Topic != "t/2" || q1[1].Seq != 2 {
		t.Fatalf("queue k1 after reopen: %+v", q1)
	}
	if s.QueueLen(k1) != 2 || s.QueueLen(k2) != 1 || s.Stats().Messages != 3 || s.Stats().Sessions != 2 {
		t.Fatalf("counters after reopen: %d %d %+v", s.QueueLen(k1), s.QueueLen(k2), s.Stats())
	}
	if ids, err := s.QoS2(k1); err != nil || !reflect.DeepEqual(ids, []uint16{3, 9}) {
		t.Fatalf("QoS2 = %v %v", ids, err)
	}
	if ids, _ := s.QoS2(k2); len(ids) != 0 {
		t.Fatalf("QoS2 of k2 = %v", ids)
	}
	ret := map[string]string{}
	if err := s.Retained(func(mp, topic string, m Message) error { ret[mp+"|"+topic] = string(m.Payload); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ret, map[string]string{"|r/1": "p5", "mp|r/1": "p6"}) {
		t.Fatalf("retained = %v", ret)
	}
	// Seqs keep growing across reopen (bucket sequence is persisted).
	if seqs, _ := s.Enqueue([]SessionKey{k1}, msg(3)); seqs[0] != 3 {
		t.Fatalf("seq after reopen = %v", seqs)
	}
}

func TestDeleteSessionAndRetained(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "s.db"), Options{NoSync: true})
	defer s.Close()
	k, other := SessionKey{"", "a"}, SessionKey{"", "ab"}
	for _, key := range []SessionKey{k, other} {
		if err := s.PutSession(Session{Key: key}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutQoS2(key, 1); err != nil {
			t.Fatal(err)
		}
	}
	m := msg(1)
	m.Expiry = time.Now().Add(time.Hour).UnixNano()
	for i := 0; i < 3; i++ {
		if _, err := s.Enqueue([]SessionKey{k, other}, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteSession(k); err != nil {
		t.Fatal(err)
	}
	if s.QueueLen(k) != 0 || len(queueOf(t, s, k)) != 0 || s.Stats().Sessions != 1 || s.Stats().Messages != 3 {
		t.Fatalf("after delete: len %d stats %+v", s.QueueLen(k), s.Stats())
	}
	if ids, _ := s.QoS2(k); len(ids) != 0 {
		t.Fatalf("qos2 left: %v", ids)
	}
	if ids, _ := s.QoS2(other); len(ids) != 1 {
		t.Fatalf("qos2 of other session deleted: %v", ids)
	}
	if err := s.DeleteQoS2(other, 1); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.QoS2(other); len(ids) != 0 {
		t.Fatalf("DeleteQoS2 left %v", ids)
	}
	// The expiry index of the deleted session must be gone too: only other's 3 expire.
	if n, err := s.DeleteExpired(time.Now().Add(2 * time.Hour)); err != nil || n != 3 {
		t.Fatalf("DeleteExpired = %d %v", n, err)
	}
	if err := putRetained(s, "", "x", msg(1)); err != nil {
		t.Fatal(err)
	}
	if err := putRetained(s, "", "x", Message{Topic: "x"}); err != nil { // empty payload deletes
		t.Fatal(err)
	}
	if err := putRetained(s, "", "y", msg(2)); err != nil {
		t.Fatal(err)
	}
	if err := putRetained(s, "", "y", Message{Topic: "y"}); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := s.Retained(func(string, string, Message) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("retained left %d %v", n, err)
	}
}

func TestSeqOrderAckDrop(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "s.db"), Options{NoSync: true})
	defer s.Close()
	k := SessionKey{"", "c"}
	// More than 255 so a little-endian or varint key would sort wrongly.
	for i := 1; i <= 300; i++ {
		seqs, err := s.Enqueue([]SessionKey{k}, msg(i))
		if err != nil || seqs[0] != uint64(i) {
			t.Fatalf("enqueue %d: %v %v", i, seqs, err)
		}
	}
	qs := queueOf(t, s, k)
	for i, q := range qs {
		if q.Seq != uint64(i+1) || q.Msg.Topic != fmt.Sprintf("t/%d", i+1) {
			t.Fatalf("position %d: seq %d topic %s", i, q.Seq, q.Msg.Topic)
		}
	}
	if err := s.Ack(k, 1, 2, 3, 1000); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DropOldest(k, 2); err != nil || n != 2 {
		t.Fatalf("DropOldest = %d %v", n, err)
	}
	got := seqsOf(queueOf(t, s, k))
	if len(got) != 295 || got[0] != 6 || got[len(got)-1] != 300 || s.QueueLen(k) != 295 {
		t.Fatalf("after ack/drop: len %d first %d last %d QueueLen %d", len(got), got[0], got[len(got)-1], s.QueueLen(k))
	}
	if n, err := s.DropOldest(k, 1000); err != nil || n != 295 || s.QueueLen(k) != 0 {
		t.Fatalf("drop all = %d %v len %d", n, err, s.QueueLen(k))
	}
	if n, _ := s.DropOldest(SessionKey{"", "none"}, 5); n != 0 {
		t.Fatalf("drop from missing queue = %d", n)
	}
	if seqs, _ := s.Enqueue([]SessionKey{k}, msg(1)); seqs[0] != 301 {
		t.Fatalf("seq after emptying queue = %v, want 301", seqs)
	}
}

func TestDeleteExpired(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := openT(t, path, Options{NoSync: true})
	k1, k2 := SessionKey{"", "a"}, SessionKey{"", "b"}
	base := time.Unix(1_000_000, 0)
	for i := 0; i < 10; i++ {
		m := msg(i)
		if i%2 == 0 {
			m.Expiry = base.Add(time.Duration(i) * time.Second).UnixNano()
		}
		if _, err := s.Enqueue([]SessionKey{k1, k2}, m); err != nil {
			t.Fatal(err)
		}
	}
	// Acked and dropped messages must leave no index entries behind.
	if err := s.Ack(k1, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DropOldest(k2, 1); err != nil {
		t.Fatal(err)
	}
	// Expiring at 0s,2s,4s: seqs 1,3,5 of each; seq 1 is already gone from both.
	n, err := s.DeleteExpired(base.Add(4 * time.Second))
	if err != nil || n != 4 {
		t.Fatalf("DeleteExpired = %d %v, want 4", n, err)
	}
	s.Close()
	s = openT(t, path, Options{NoSync: true})
	defer s.Close()
	for _, k := range []SessionKey{k1, k2} {
		if got := seqsOf(queueOf(t, s, k)); !reflect.DeepEqual(got, []uint64{2, 4, 6, 7, 8, 9, 10}) || s.QueueLen(k) != 7 {
			t.Fatalf("%v: %v len %d", k, got, s.QueueLen(k))
		}
	}
	if n, _ := s.DeleteExpired(base.Add(time.Hour)); n != 4 {
		t.Fatalf("second sweep = %d, want 4", n)
	}
	if n, _ := s.DeleteExpired(base.Add(time.Hour)); n != 0 {
		t.Fatalf("third sweep = %d, want 0", n)
	}
	if s.Stats().Messages != 10 {
		t.Fatalf("messages = %d", s.Stats().Messages)
	}
}

func TestLockedByAnotherOpen(t *testing.T) {
	old := lockTimeout
	lockTimeout = 100 * time.Millisecond
	defer func() { lockTimeout = old }()
	path := filepath.Join(t.TempDir(), "s.db")
	s := openT(t, path, Options{})
	defer s.Close()
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "another node may use this data dir") {
		t.Fatalf("second Open = %v", err)
	}
}

func TestQueueFromSteps(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "q.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := SessionKey{ClientID: "drain"}
	for i := 0; i < 25; i++ {
		if _, err := s.Enqueue([]SessionKey{k}, Message{Topic: "t", QoS: 1}); err != nil {
			t.Fatal(err)
		}
	}
	var got []uint64
	after := uint64(0)
	for {
		more, err := s.QueueFrom(k, after, 10, func(q Queued) error {
			got = append(got, q.Seq)
			after = q.Seq
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
	}
	if len(got) != 25 || got[0] != 1 || got[24] != 25 {
		t.Fatalf("drained %v", got)
	}
}

// TestSessionCount: the session count follows the records through replaces, deletes of
// records that do not exist, and a reopen (it is a count, not a set of keys).
func TestSessionCount(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	k1, k2 := SessionKey{ClientID: "a"}, SessionKey{Mountpoint: "m", ClientID: "a"}
	for _, k := range []SessionKey{k1, k1, k2, k1} {
		if err := s.PutSession(Session{Key: k}); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Stats().Sessions; n != 2 {
		t.Fatalf("%d sessions after 4 puts of 2 keys, want 2", n)
	}
	for _, k := range []SessionKey{k1, k1, {ClientID: "never"}} {
		if err := s.DeleteSession(k); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Stats().Sessions; n != 1 {
		t.Fatalf("%d sessions after deleting one twice and an unknown one, want 1", n)
	}
	s.Close()
	if s, err = Open(path, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := s.Stats().Sessions; n != 1 {
		t.Fatalf("%d sessions after reopen, want 1", n)
	}
}

// TestSessionsCarryQoS2 checks the cursor that walks the qos2 bucket beside the sessions:
// ids go to their own session only (client ids that prefix each other, mountpoints, ids of
// no session in between).
func TestSessionsCarryQoS2(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "m.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	keys := []SessionKey{{ClientID: "a"}, {ClientID: "ab"}, {ClientID: "b"}, {Mountpoint: "m", ClientID: "a"}}
	want := map[SessionKey][]uint16{keys[0]: {1, 300}, keys[1]: nil, keys[2]: {7}, keys[3]: {2, 3}}
	for _, k := range keys {
		if err := s.PutSession(Session{Key: k}); err != nil {
			t.Fatal(err)
		}
		for _, id := range want[k] {
			if err := s.PutQoS2(k, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, orphan := range []SessionKey{{ClientID: "aa"}, {ClientID: "c"}, {ClientID: ""}} {
		if err := s.PutQoS2(orphan, 9); err != nil {
			t.Fatal(err)
		}
	}
	seen := 0
	if err := s.Sessions(func(rec Session) error {
		seen++
		if fmt.Sprint(rec.QoS2) != fmt.Sprint(want[rec.Key]) {
			t.Errorf("%+v: QoS2 %v, want %v", rec.Key, rec.QoS2, want[rec.Key])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen != len(keys) {
		t.Fatalf("%d sessions, want %d", seen, len(keys))
	}
}

// TestPutSessionAllocs pins what a session record's write allocates, the writer's work
// included: the record (which the transaction keeps), bbolt's copy of the key and the
// stack of the cursor its Put makes, one growth per tree level (issue 19: it was 13 with
// a request, a channel, closures, the key and value encoded apart and a Get's cursor).
func TestPutSessionAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector drops pooled requests on purpose: counts do not hold")
	}
	// No commit delay (one writer), no checkpoint (a bbolt commit allocates, once a generation).
	s := openT(t, filepath.Join(t.TempDir(), "m.db"), Options{NoSync: true, CommitDelay: -1, CheckpointInterval: time.Hour, CheckpointWrites: 1 << 20})
	defer s.Close()
	const warm, runs = 2000, 200 // checkpointed: a B+tree of two levels, as a node's
	recs := make([]Session, warm+runs+1)
	for i := range recs {
		id := fmt.Sprint("dev-", i)
		recs[i] = Session{Key: SessionKey{ClientID: id}, ProtocolVersion: 4, Subscriptions: []Subscription{{Filter: "dev/" + id, QoS: 1}}}
	}
	for _, rec := range recs[:warm] {
		if err := s.PutSession(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.settle(); err != nil { // bbolt splits nodes at commit
		t.Fatal(err)
	}
	next := warm
	n := testing.AllocsPerRun(runs, func() {
		if err := s.PutSession(recs[next]); err != nil {
			t.Fatal(err)
		}
		next++
	})
	if n > 4 {
		t.Errorf("a session record's write allocates %.1f times, want at most 4", n)
	}
	if got := s.Stats().Sessions; got != warm+runs+1 {
		t.Fatalf("store counts %d sessions, want %d", got, warm+runs+1)
	}
}
