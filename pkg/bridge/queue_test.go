package bridge

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func msg(i int) Msg {
	return Msg{Topic: fmt.Sprintf("t/%d", i), Payload: []byte(fmt.Sprintf("payload %d", i)), QoS: byte(i % 3), Retain: i%2 == 0}
}

// Both stores: in order, peek does not remove, pop does.
func TestStores(t *testing.T) {
	disk, err := openDiskStore(t.TempDir(), 256)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]store{"mem": &memStore{}, "disk": disk} {
		t.Run(name, func(t *testing.T) {
			for i := range 50 {
				if err := s.Push(msg(i)); err != nil {
					t.Fatal(err)
				}
			}
			for round := range 5 {
				b, err := s.Peek(7)
				if err != nil || len(b) != 7 {
					t.Fatalf("peek: %d, %v", len(b), err)
				}
				again, _ := s.Peek(7)
				for i := range b {
					want := msg(round*7 + i)
					if b[i].Topic != want.Topic || string(b[i].Payload) != string(want.Payload) || b[i].QoS != want.QoS ||
						b[i].Retain != want.Retain || again[i].Topic != b[i].Topic {
						t.Fatalf("round %d item %d = %+v, want %+v", round, i, b[i], want)
					}
				}
				if err := s.Pop(7); err != nil {
					t.Fatal(err)
				}
			}
			if s.Len() != 15 {
				t.Fatalf("len = %d, want 15", s.Len())
			}
			b, _ := s.Peek(100)
			if len(b) != 15 || b[0].Topic != "t/35" || b[14].Topic != "t/49" {
				t.Fatalf("rest = %d items from %s", len(b), b[0].Topic)
			}
			s.Pop(15)
			if b, _ := s.Peek(1); s.Len() != 0 || len(b) != 0 {
				t.Fatalf("not empty: %d", s.Len())
			}
			s.Close()
		})
	}
}

// The disk store survives a reopen with what was not popped, removes acknowledged
// segments, and cuts a torn record at the tail.
func TestDiskStoreReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := openDiskStore(dir, 200)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		s.Push(msg(i))
	}
	segsBefore, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segsBefore) < 5 {
		t.Fatalf("%d segments for 40 records of ~30 bytes with segment_size 200", len(segsBefore))
	}
	s.Peek(25)
	if err := s.Pop(25); err != nil {
		t.Fatal(err)
	}
	segsAfter, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segsAfter) >= len(segsBefore) {
		t.Fatalf("acknowledged segments kept: %d before, %d after", len(segsBefore), len(segsAfter))
	}
	s.Close()

	// A half-written record at the end, as a killed process leaves it.
	last := segsAfter[len(segsAfter)-1]
	f, _ := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{0, 0, 0, 50, 1, 2})
	f.Close()

	s, err = openDiskStore(dir, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Len() != 15 {
		t.Fatalf("len after reopen = %d, want 15", s.Len())
	}
	s.Push(msg(40))
	b, err := s.Peek(100)
	if err != nil || len(b) != 16 || b[0].Topic != "t/25" || b[15].Topic != "t/40" {
		t.Fatalf("after reopen: %d items, %v", len(b), err)
	}
}

func TestDiskStoreDamagedCommit(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "commit"), []byte("garbage"), 0o644)
	if _, err := openDiskStore(dir, 4096); err == nil {
		t.Fatal("damaged commit file accepted")
	}
}
