package bridge

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// diskStore is the persistent outgoing buffer (persistent_queue = on): records appended to
// segment files of about segment_size bytes in queue_dir, and a commit file naming the
// first record not yet acknowledged by the remote broker. Segments wholly before it are
// deleted. Appends are not fsynced: the buffer survives a restart or a killed process,
// not a crash of the machine (VerneMQ's replayq makes the same trade by default).
//
// Record: u32 length of body, u32 CRC-32 of body, body = u16 topic length, topic,
// u8 flags (qos | retain<<2), payload. A torn record at the tail is cut off at open.
type diskStore struct {
	mu      sync.Mutex
	dir     string
	segSize int64
	segs    []uint64 // segment numbers, ascending; the last one is appended to
	w       *os.File // the last segment
	wSize   int64
	commit  pos // first unacknowledged record
	count   int
	peeked  []pos    // position after each record of the last Peek, so Pop need not read them again
	rf      *os.File // segment being read, kept open between reads
	rseg    uint64
}

type pos struct {
	seg uint64
	off int64
}

func segName(dir string, n uint64) string { return filepath.Join(dir, fmt.Sprintf("%020d.seg", n)) }

func openDiskStore(dir string, segSize int64) (*diskStore, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("queue_dir %s: %w", dir, err)
	}
	s := &diskStore{dir: dir, segSize: segSize}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("queue_dir %s: %w", dir, err)
	}
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".seg"); ok {
			if v, err := strconv.ParseUint(n, 10, 64); err == nil {
				s.segs = append(s.segs, v)
			}
		}
	}
	slices.Sort(s.segs)
	if b, err := os.ReadFile(filepath.Join(dir, "commit")); err == nil {
		if _, err := fmt.Sscanf(string(b), "%d %d", &s.commit.seg, &s.commit.off); err != nil {
			return nil, fmt.Errorf("queue_dir %s: commit file is damaged (%q); remove the directory to start empty", dir, b)
		}
	} else if len(s.segs) > 0 {
		s.commit = pos{seg: s.segs[0]}
	}
	// Count what is left and cut a torn tail (a record half written when the process died).
	p := s.commit
	for {
		_, next, err := s.readAt(p)
		if err != nil {
			if errors.Is(err, errTorn) {
				if err := os.Truncate(segName(dir, p.seg), p.off); err != nil {
					return nil, fmt.Errorf("queue_dir %s: cutting a torn record: %w", dir, err)
				}
			}
			break
		}
		s.count++
		p = next
	}
	if len(s.segs) == 0 {
		s.segs = []uint64{s.commit.seg}
	}
	last := s.segs[len(s.segs)-1]
	if s.w, err = os.OpenFile(segName(dir, last), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640); err != nil {
		return nil, fmt.Errorf("queue_dir %s: %w", dir, err)
	}
	st, err := s.w.Stat()
	if err != nil {
		return nil, err
	}
	s.wSize = st.Size()
	return s, nil
}

var errTorn = errors.New("torn record")

// readAt reads the record at p (moving on to the next segment at a segment's end) and
// returns it with the position after it; io.EOF at the end of the queue.
func (s *diskStore) readAt(p pos) (Msg, pos, error) {
	for {
		m, n, err := s.readRecord(p)
		if err == nil {
			return m, pos{seg: p.seg, off: p.off + n}, nil
		}
		if err != io.EOF && !os.IsNotExist(err) {
			return Msg{}, p, err
		}
		next, ok := s.nextSegNo(p.seg)
		if !ok {
			return Msg{}, p, io.EOF
		}
		p = pos{seg: next}
	}
}

func (s *diskStore) nextSegNo(seg uint64) (uint64, bool) {
	for _, v := range s.segs {
		if v > seg {
			return v, true
		}
	}
	return 0, false
}

// readRecord reads the record at p from its segment, keeping the segment open for the next read.
func (s *diskStore) readRecord(p pos) (Msg, int64, error) {
	if s.rf == nil || s.rseg != p.seg {
		if s.rf != nil {
			s.rf.Close()
			s.rf = nil
		}
		f, err := os.Open(segName(s.dir, p.seg))
		if err != nil {
			return Msg{}, 0, err
		}
		s.rf, s.rseg = f, p.seg
	}
	f, off := s.rf, p.off
	var hdr [8]byte
	if _, err := f.ReadAt(hdr[:], off); err != nil {
		if err == io.EOF {
			st, _ := f.Stat()
			if st != nil && st.Size() > off {
				return Msg{}, 0, errTorn
			}
		}
		return Msg{}, 0, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if st, err := f.Stat(); err != nil || int64(n) > st.Size()-off-8 {
		return Msg{}, 0, errTorn // a length past the end: never allocate what a damaged header says
	}
	body := make([]byte, n)
	if _, err := f.ReadAt(body, off+8); err != nil {
		return Msg{}, 0, errTorn
	}
	if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(hdr[4:]) || len(body) < 3 {
		return Msg{}, 0, errTorn
	}
	tl := int(binary.BigEndian.Uint16(body))
	if 2+tl+1 > len(body) {
		return Msg{}, 0, errTorn
	}
	flags := body[2+tl]
	return Msg{Topic: string(body[2 : 2+tl]), QoS: flags & 3, Retain: flags&4 != 0,
		Payload: body[3+tl:]}, 8 + int64(n), nil
}

func (s *diskStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

func (s *diskStore) Push(m Msg) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wSize >= s.segSize {
		next := s.segs[len(s.segs)-1] + 1
		f, err := os.OpenFile(segName(s.dir, next), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return fmt.Errorf("queue_dir %s: new segment: %w", s.dir, err)
		}
		s.w.Close()
		s.w, s.wSize, s.segs = f, 0, append(s.segs, next)
	}
	body := make([]byte, 0, 3+len(m.Topic)+len(m.Payload))
	body = binary.BigEndian.AppendUint16(body, uint16(len(m.Topic)))
	body = append(body, m.Topic...)
	flags := m.QoS
	if m.Retain {
		flags |= 4
	}
	body = append(append(body, flags), m.Payload...)
	rec := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint32(rec, uint32(len(body)))
	binary.BigEndian.PutUint32(rec[4:], crc32.ChecksumIEEE(body))
	rec = append(rec, body...)
	if _, err := s.w.Write(rec); err != nil {
		return fmt.Errorf("queue_dir %s: %w", s.dir, err)
	}
	s.wSize += int64(len(rec))
	s.count++
	return nil
}

func (s *diskStore) Peek(n int) ([]Msg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Msg
	s.peeked = s.peeked[:0]
	p := s.commit
	for len(out) < n && len(out) < s.count {
		m, next, err := s.readAt(p)
		if err != nil {
			return out, fmt.Errorf("queue_dir %s: %w", s.dir, err)
		}
		out, p = append(out, m), next
		s.peeked = append(s.peeked, p)
	}
	return out, nil
}

func (s *diskStore) Pop(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(n, s.count)
	p := s.commit
	if n > 0 && n <= len(s.peeked) {
		p = s.peeked[n-1] // the sender pops what it peeked
	} else {
		for range n {
			_, next, err := s.readAt(p)
			if err != nil {
				return fmt.Errorf("queue_dir %s: %w", s.dir, err)
			}
			p = next
		}
	}
	s.peeked = s.peeked[:0]
	s.count -= n
	s.commit = p
	tmp := filepath.Join(s.dir, "commit.tmp")
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d %d\n", p.seg, p.off)), 0o640); err != nil {
		return fmt.Errorf("queue_dir %s: %w", s.dir, err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "commit")); err != nil {
		return fmt.Errorf("queue_dir %s: %w", s.dir, err)
	}
	// Segments wholly acknowledged go (never the one being appended to).
	for len(s.segs) > 1 && s.segs[0] < p.seg {
		if s.rf != nil && s.rseg == s.segs[0] {
			s.rf.Close()
			s.rf = nil
		}
		os.Remove(segName(s.dir, s.segs[0]))
		s.segs = s.segs[1:]
	}
	return nil
}

func (s *diskStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rf != nil {
		s.rf.Close()
		s.rf = nil
	}
	return s.w.Close()
}
