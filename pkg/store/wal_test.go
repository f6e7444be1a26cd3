package store

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	fixKey = SessionKey{"", "c"}
	fixMsg = Message{Topic: "t", Payload: []byte("p"), QoS: 1, Published: 2}
)

// logRecordFixtures pin the log format: the bytes each write appends (ops.go). The same
// bytes feed the replay tests and seed the fuzzer.
var logRecordFixtures = []struct {
	name string
	rec  func() []byte
	hex  string
}{
	{"put session", func() []byte {
		return recPutSession(Session{Key: fixKey, ProtocolVersion: 4, Subscriptions: []Subscription{{Filter: "a/#", QoS: 1}}})
	}, "01 03 000163 01 04 00000000 0000000000000000 00 01 03612f23 01 00 00 00"},
	{"enqueue to two keys", func() []byte { return recEnqueue([]SessionKey{fixKey, {"m", "d"}}, fixMsg) },
		"03 02 03000163 04016d0164 0100 01 0000000000000000 0000000000000002 0174 00 0170"},
	{"ack", func() []byte { return recAck(fixKey, []uint64{1, 300}) }, "04 03000163 02 01 ac02"},
	{"drop oldest", func() []byte { return recDropOldest(fixKey, 2) }, "05 03000163 02"},
	{"delete expired", func() []byte { return recDeleteExpired(time.Unix(0, 1000)) }, "06 00000000000003e8"},
	{"put qos2", func() []byte { return recQoS2(opPutQoS2, fixKey, 258) }, "07 03000163 0102"},
	{"delete qos2", func() []byte { return recQoS2(opDeleteQoS2, fixKey, 258) }, "08 03000163 0102"},
	{"put retained", func() []byte { return recRetained("", "r", fixMsg) },
		"09 020072 0100 01 0000000000000000 0000000000000002 0174 00 0170"},
	{"delete retained", func() []byte { return recRetained("", "r", Message{}) }, "0a 020072"},
	{"delete session", func() []byte { return recDeleteSession(fixKey) }, "02 03000163"},
}

// walHeaderFixture is generation 2 following txid 7; walFrameFixture is a frame of
// generation 2 holding the record "delete session c".
const (
	walHeaderFixture = "564d5157414c3031 0000000000000002 0000000000000007 8a208eca"
	walFrameFixture  = "63181ead 00000006 0000000000000002 05 0203000163"
)

func TestLogRecordFixtures(t *testing.T) {
	for _, f := range logRecordFixtures {
		got, want := f.rec(), unhex(t, f.hex)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: encoded % x, fixture % x", f.name, got, want)
		}
		if err := checkRecord(want); err != nil {
			t.Errorf("%s: checkRecord: %v", f.name, err)
		}
	}
	if got := (walHeader{gen: 2, base: 7}).encode(); !bytes.Equal(got, unhex(t, walHeaderFixture)) {
		t.Errorf("header % x", got)
	}
	if h, ok := decodeWALHeader(unhex(t, walHeaderFixture)); !ok || h != (walHeader{gen: 2, base: 7}) {
		t.Errorf("decode header = %+v %v", h, ok)
	}
	frame := unhex(t, walFrameFixture)
	if got := appendFrame(nil, 2, append([]byte{5}, recDeleteSession(fixKey)...)); !bytes.Equal(got, frame) {
		t.Errorf("frame % x", got)
	}
	payload, n, err := decodeFrame(frame, 2)
	if err != nil || n != len(frame) || !bytes.Equal(payload, unhex(t, "05 0203000163")) {
		t.Fatalf("decodeFrame = % x %d %v", payload, n, err)
	}
	bad := map[string][]byte{
		"other generation": frame,
		"torn":             frame[:len(frame)-1],
		"flipped bit":      append(append([]byte(nil), frame[:len(frame)-1]...), frame[len(frame)-1]^1),
		"zeros":            make([]byte, 64),
	}
	for name, b := range bad {
		gen := uint64(2)
		if name == "other generation" {
			gen = 3
		}
		if _, _, err := decodeFrame(b, gen); !errors.Is(err, errEndOfLog) {
			t.Errorf("%s: decodeFrame = %v, want end of log", name, err)
		}
	}
	for _, rec := range []string{"", "0b", "01 05 000163", "03 02 03000163", "06 0000", "01 00 01", "02 03000163 00"} {
		if err := checkRecord(unhex(t, rec)); !errors.Is(err, errCorrupt) {
			t.Errorf("checkRecord(%s) = %v, want corrupt", rec, err)
		}
	}
}

// committedTxID is the txid of the last commit of the bbolt file at path (closed).
func committedTxID(t *testing.T, path string) uint64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id uint64
	db.View(func(tx *bolt.Tx) error { id = uint64(tx.ID()); return nil })
	return id
}

// writeLog writes a log file from a header and frames of fixture records.
func writeLog(t *testing.T, path string, hdr walHeader, frames ...[]byte) {
	t.Helper()
	b := make([]byte, walDataStart)
	copy(b, hdr.encode())
	for _, f := range frames {
		b = append(b, f...)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func payloadOf(recs ...[]byte) []byte {
	var p []byte
	for _, r := range recs {
		p = appendBytes(p, r)
	}
	return p
}

func fixture(t *testing.T, name string) []byte {
	for _, f := range logRecordFixtures {
		if f.name == name {
			return unhex(t, f.hex)
		}
	}
	t.Fatalf("no fixture %q", name)
	return nil
}

// TestReplayFixtureLog replays a log built from the byte fixtures: whole frames of the
// generation apply in order; a torn last frame, a frame of an older generation (the file
// is reused) and everything after them do not.
func TestReplayFixtureLog(t *testing.T) {
	for _, tc := range []struct {
		name string
		tail func(t *testing.T) []byte // after the two good frames: must not apply
	}{
		{"torn last frame", func(t *testing.T) []byte {
			f := appendFrame(nil, 2, payloadOf(fixture(t, "delete session")))
			return f[:len(f)-2]
		}},
		{"stale generation", func(t *testing.T) []byte {
			return append(appendFrame(nil, 1, payloadOf(fixture(t, "delete session"))),
				appendFrame(nil, 2, payloadOf(fixture(t, "delete retained")))...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.db")
			s := openT(t, path, Options{NoSync: true})
			s.Close()
			base := committedTxID(t, path)
			writeLog(t, path+walSuffix, walHeader{gen: 2, base: base},
				appendFrame(nil, 2, payloadOf(fixture(t, "put session"), fixture(t, "enqueue to two keys"))),
				appendFrame(nil, 2, payloadOf(fixture(t, "put qos2"), fixture(t, "put retained"), fixture(t, "enqueue to two keys"))),
				tc.tail(t))
			s = openT(t, path, Options{NoSync: true})
			defer s.Close()
			var sessions []Session
			if err := s.Sessions(func(x Session) error { sessions = append(sessions, x); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(sessions) != 1 || sessions[0].Key != fixKey || sessions[0].Subscriptions[0].Filter != "a/#" ||
				!reflect.DeepEqual(sessions[0].QoS2, []uint16{258}) {
				t.Fatalf("sessions after replay: %+v", sessions)
			}
			for _, k := range []SessionKey{fixKey, {"m", "d"}} {
				q := queueOf(t, s, k)
				if !reflect.DeepEqual(seqsOf(q), []uint64{1, 2}) || !reflect.DeepEqual(q[0].Msg, fixMsg) || s.QueueLen(k) != 2 {
					t.Fatalf("queue of %v after replay: %+v (len %d)", k, q, s.QueueLen(k))
				}
			}
			n := 0
			if err := s.Retained(func(mp, topic string, m Message) error { n++; return nil }); err != nil || n != 1 {
				t.Fatalf("retained after replay: %d %v", n, err)
			}
			// The replay is committed and the log restarted: seqs go on from there.
			if seqs, err := s.Enqueue([]SessionKey{fixKey}, fixMsg); err != nil || seqs[0] != 3 {
				t.Fatalf("enqueue after replay = %v %v", seqs, err)
			}
		})
	}
}

// TestReplayDiscardsCheckpointedLog: a crash after the checkpoint commit and before the
// log reset leaves a log whose header names an older txid than the file's; its records
// are in the file already and must not apply twice.
func TestReplayDiscardsCheckpointedLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s := openT(t, path, Options{NoSync: true})
	s.Close()
	base := committedTxID(t, path)
	writeLog(t, path+walSuffix, walHeader{gen: 2, base: base - 1},
		appendFrame(nil, 2, payloadOf(fixture(t, "put session"), fixture(t, "enqueue to two keys"))))
	s = openT(t, path, Options{NoSync: true})
	defer s.Close()
	if st := s.Stats(); st.Sessions != 0 || st.Messages != 0 {
		t.Fatalf("a log of an older txid was replayed: %+v", st)
	}
}

// copyStore copies the store's two files as they are on disk now: what a crash leaves.
func copyStore(t testing.TB, from, to string) {
	t.Helper()
	for _, suffix := range []string{"", walSuffix} {
		b, err := os.ReadFile(from + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAcknowledgedBetweenCheckpoints: writes acknowledged since the last checkpoint are
// only in the log; the files as they are then (a crash) reopen with all of them, and a
// crash between the checkpoint commit and the log reset applies nothing twice.
func TestAcknowledgedBetweenCheckpoints(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.db")
	s := openT(t, path, Options{CheckpointInterval: time.Hour})
	k := SessionKey{"mp", "dev"}
	if err := s.PutSession(Session{Key: k, ProtocolVersion: 5, ExpiryInterval: 60}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := s.Enqueue([]SessionKey{k}, msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Ack(k, 1, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.PutQoS2(k, 7); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Checkpoints != 0 {
		t.Fatalf("checkpointed already: %+v", st)
	}
	// Reads of changed keys see the acknowledged writes before any checkpoint.
	if got := seqsOf(queueOf(t, s, k)); len(got) != 18 || got[0] != 3 {
		t.Fatalf("queue before checkpoint: %v", got)
	}
	if ids, err := s.QoS2(k); err != nil || !reflect.DeepEqual(ids, []uint16{7}) {
		t.Fatalf("QoS2 before checkpoint = %v %v", ids, err)
	}
	if s.Stats().Checkpoints != 0 {
		t.Fatal("a read of a changed key checkpointed")
	}
	crashed := filepath.Join(dir, "crashed.db")
	copyStore(t, path, crashed)
	walBefore, err := os.ReadFile(path + walSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // checkpoint: commit, then a new generation
		t.Fatal(err)
	}

	check := func(path string) {
		t.Helper()
		s := openT(t, path, Options{NoSync: true})
		defer s.Close()
		if got := seqsOf(queueOf(t, s, k)); len(got) != 18 || got[0] != 3 || got[17] != 20 || s.QueueLen(k) != 18 {
			t.Fatalf("%s: queue %v len %d", path, got, s.QueueLen(k))
		}
		if ids, _ := s.QoS2(k); !reflect.DeepEqual(ids, []uint16{7}) {
			t.Fatalf("%s: QoS2 %v", path, ids)
		}
		if st := s.Stats(); st.Sessions != 1 || st.Messages != 18 {
			t.Fatalf("%s: stats %+v", path, st)
		}
		if seqs, err := s.Enqueue([]SessionKey{k}, msg(20)); err != nil || seqs[0] != 21 {
			t.Fatalf("%s: next seq %v %v", path, seqs, err)
		}
	}
	check(crashed) // replays the log
	// The checkpoint committed, then the crash: the old log comes back beside the new file.
	if err := os.WriteFile(path+walSuffix, walBefore, 0o600); err != nil {
		t.Fatal(err)
	}
	check(path)
}

// TestTooLongFailsAlone: MQTT allows client ids and topics longer than a bbolt key; such
// a write gets an error and writes nothing, and the writes around it are unaffected.
func TestTooLongFailsAlone(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "m.db"), Options{NoSync: true})
	defer s.Close()
	long := SessionKey{ClientID: strings.Repeat("x", 40000)}
	ok := SessionKey{ClientID: "ok"}
	if err := s.PutSession(Session{Key: long}); !errors.Is(err, errTooLong) {
		t.Fatalf("PutSession with a 40000-byte client id = %v", err)
	}
	if _, err := s.Enqueue([]SessionKey{ok, long}, msg(1)); !errors.Is(err, errTooLong) {
		t.Fatalf("Enqueue = %v", err)
	}
	if err := putRetained(s, "", strings.Repeat("t", 40000), msg(1)); !errors.Is(err, errTooLong) {
		t.Fatalf("PutRetained with a 40000-byte topic = %v", err)
	}
	if err := s.PutQoS2(long, 1); !errors.Is(err, errTooLong) {
		t.Fatalf("PutQoS2 = %v", err)
	}
	if seqs, err := s.Enqueue([]SessionKey{ok}, msg(1)); err != nil || seqs[0] != 1 {
		t.Fatalf("Enqueue after the refused one = %v %v", seqs, err)
	}
	if st := s.Stats(); st.Sessions != 0 || st.Messages != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestFailedApplyIsUndone: a write that fails half way (here: a file with a value where
// a queue bucket belongs) leaves nothing of itself in the transaction that also holds
// the acknowledged writes before it; those survive, in the file and after a reopen.
func TestFailedApplyIsUndone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s := openT(t, path, Options{NoSync: true})
	s.Close()
	bad, good := SessionKey{ClientID: "bad"}, SessionKey{ClientID: "good"}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketQueues).Put(encodeKey(bad), []byte("x")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = openT(t, path, Options{NoSync: true, CheckpointInterval: time.Hour})
	if seqs, err := s.Enqueue([]SessionKey{good}, msg(1)); err != nil || seqs[0] != 1 {
		t.Fatalf("first enqueue = %v %v", seqs, err)
	}
	if _, err := s.Enqueue([]SessionKey{good, bad}, msg(2)); err == nil {
		t.Fatal("enqueue to a key holding a value succeeded")
	}
	if seqs, err := s.Enqueue([]SessionKey{good}, msg(3)); err != nil || seqs[0] != 2 {
		t.Fatalf("enqueue after the failed one = %v %v, want seq 2", seqs, err)
	}
	if got := queueOf(t, s, good); len(got) != 2 || got[1].Msg.Topic != "t/3" || s.QueueLen(good) != 2 {
		t.Fatalf("queue %+v", got)
	}
	crashed := filepath.Join(t.TempDir(), "crashed.db")
	copyStore(t, path, crashed)
	s.Close()
	for _, p := range []string{path, crashed} {
		s := openT(t, p, Options{NoSync: true})
		if got := seqsOf(queueOf(t, s, good)); !reflect.DeepEqual(got, []uint64{1, 2}) {
			t.Fatalf("%s: queue %v after reopen", p, got)
		}
		s.Close()
	}
}

// TestFailedLogWriteFailsStore: once the log cannot be written nothing more is
// acknowledged; what was acknowledged before is in the log and comes back on reopen.
func TestFailedLogWriteFailsStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s := openT(t, path, Options{CheckpointInterval: time.Hour})
	k := SessionKey{ClientID: "c"}
	for i := range 5 {
		if _, err := s.Enqueue([]SessionKey{k}, msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	s.wal.f.Close() // the disk goes away under the writer
	if _, err := s.Enqueue([]SessionKey{k}, msg(5)); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Fatalf("enqueue with a broken log = %v", err)
	}
	if err := s.PutSession(Session{Key: k}); err == nil {
		t.Fatal("a failed store acknowledged a write")
	}
	if s.QueueLen(k) != 5 {
		t.Fatalf("QueueLen %d", s.QueueLen(k))
	}
	_ = s.Close() // reports the closed log file
	s = openT(t, path, Options{NoSync: true})
	defer s.Close()
	if got := seqsOf(queueOf(t, s, k)); !reflect.DeepEqual(got, []uint64{1, 2, 3, 4, 5}) {
		t.Fatalf("after restart: %v", got)
	}
}

// TestCheckpointPolicy: the transaction is committed after CheckpointWrites writes and
// after CheckpointInterval when idle; the log file is reused, not grown per generation.
func TestCheckpointPolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s := openT(t, path, Options{NoSync: true, CheckpointWrites: 10, CheckpointInterval: time.Hour})
	defer s.Close()
	k := SessionKey{ClientID: "c"}
	for i := range 25 {
		if _, err := s.Enqueue([]SessionKey{k}, msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	if c := s.Stats().Checkpoints; c != 2 {
		t.Fatalf("%d checkpoints after 25 single writes with CheckpointWrites 10, want 2", c)
	}
	fi, err := os.Stat(path + walSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != walGrowChunk {
		t.Fatalf("log file of %d bytes, want one chunk (%d)", fi.Size(), walGrowChunk)
	}

	s2 := openT(t, filepath.Join(t.TempDir(), "i.db"), Options{NoSync: true, CheckpointInterval: 20 * time.Millisecond})
	defer s2.Close()
	if _, err := s2.Enqueue([]SessionKey{k}, msg(1)); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 10*time.Second, "a checkpoint after an idle interval of 20 ms", func() bool { return s2.Stats().Checkpoints > 0 })
}

// FuzzLogFrame feeds hostile bytes to the log reader as a replay would: frame decoding,
// record splitting, checking and applying to a real transaction must return errors, not
// panic, and a frame that decodes must encode back to the same bytes. The input is also
// tried as a frame's payload, as the CRC stops most mutations at the frame.
func FuzzLogFrame(f *testing.F) {
	f.Add(unhex(f, walFrameFixture))
	for _, fx := range logRecordFixtures {
		f.Add(appendFrame(nil, 2, payloadOf(unhex(f, fx.hex))))
		f.Add(payloadOf(unhex(f, fx.hex)))
	}
	db, err := bolt.Open(filepath.Join(f.TempDir(), "fuzz.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	s := &Store{path: "fuzz"}
	if err := db.Update(s.initBuckets); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		payload, n, err := decodeFrame(b, 2)
		if err == nil {
			if re := appendFrame(nil, 2, payload); !bytes.Equal(re, b[:n]) {
				t.Fatalf("frame % x re-encodes as % x", b[:n], re)
			}
		} else {
			payload = b
		}
		tx, err := db.Begin(true)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		_ = replayPayload(newWriteTx(tx), bytes.Clone(payload))
	})
}

// TestTornHeaderFallsBack: a checkpoint writes the header slot not in use; torn, it leaves
// the other slot, whose generation is then the log's.
func TestTornHeaderFallsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s := openT(t, path, Options{NoSync: true})
	s.Close()
	base := committedTxID(t, path)
	writeLog(t, path+walSuffix, walHeader{gen: 2, base: base},
		appendFrame(nil, 2, payloadOf(fixture(t, "put session"))))
	f, err := os.OpenFile(path+walSuffix, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	torn := walHeader{gen: 3, base: base}.encode()
	torn[len(torn)-1] ^= 0xff
	if _, err := f.WriteAt(torn, walSlotSize); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s = openT(t, path, Options{NoSync: true})
	defer s.Close()
	if n := s.Stats().Sessions; n != 1 {
		t.Fatalf("%d sessions after replay beside a torn header, want 1", n)
	}
}
