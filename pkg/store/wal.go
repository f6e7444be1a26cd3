package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The write-ahead log beside the bbolt file (docs/store.md, "Write-ahead log"). Layout:
//
//	[0, 512)      header slot 0 \ the valid slot with the higher generation wins; a
//	[512, 1024)   header slot 1 / checkpoint writes the other slot, so a torn write leaves one
//	[4096, ...)   frames of the current generation, one per group commit, then stale bytes
//
// Header slot: magic(8) generation(8 BE) base txid(8 BE) crc32c(4 BE) of the 24 bytes before.
// Frame: crc32c(4 BE) of the rest, length of the payload(4 BE), generation(8 BE), payload.
// Payload: records, each uvarint(length) then the record (op code and arguments, ops.go).
//
// A generation follows the bbolt transaction whose txid its header names: its frames are
// replayed only if the database's committed txid is still that one. Frames of older
// generations left in the reused file end the log (wrong generation), as does a torn frame.
const (
	walMagic      = "VMQWAL01"
	walSlotSize   = 512
	walHeaderLen  = 8 + 8 + 8 + 4
	walDataStart  = 4096
	walFrameHead  = 4 + 4 + 8
	walMaxFrame   = 1 << 30 // a batch bigger than this is written as several frames
	walGrowChunk  = 1 << 20 // the file grows by zeroed chunks so most syncs carry no size change
	walSuffix     = ".wal"
	walMaxRecords = 1 << 26 // replay refuses a frame claiming more records than this (corruption)
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// walHeader is one header slot.
type walHeader struct {
	gen  uint64 // generation: frames carry it, so stale frames of older generations are ignored
	base uint64 // bbolt txid the generation's records apply on top of
}

func (h walHeader) encode() []byte {
	b := make([]byte, 0, walHeaderLen)
	b = append(b, walMagic...)
	b = binary.BigEndian.AppendUint64(b, h.gen)
	b = binary.BigEndian.AppendUint64(b, h.base)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crc32c))
}

// decodeWALHeader reports whether b holds a valid header slot.
func decodeWALHeader(b []byte) (walHeader, bool) {
	if len(b) < walHeaderLen || string(b[:8]) != walMagic ||
		crc32.Checksum(b[:24], crc32c) != binary.BigEndian.Uint32(b[24:28]) {
		return walHeader{}, false
	}
	return walHeader{gen: binary.BigEndian.Uint64(b[8:]), base: binary.BigEndian.Uint64(b[16:])}, true
}

// appendFrame appends a frame of generation gen holding payload to b.
func appendFrame(b []byte, gen uint64, payload []byte) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.BigEndian.AppendUint64(b, gen)
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b[start:], crc32.Checksum(b[start+4:], crc32c))
	return b
}

// errEndOfLog ends a replay: zeros, a torn frame or a frame of another generation.
var errEndOfLog = errors.New("end of log")

// decodeFrame reads the frame at the start of b, which must be of generation gen. It returns
// the payload (a slice of b) and the frame's length, or errEndOfLog when b does not start
// with a whole valid frame of gen.
func decodeFrame(b []byte, gen uint64) (payload []byte, n int, err error) {
	if len(b) < walFrameHead {
		return nil, 0, errEndOfLog
	}
	size := binary.BigEndian.Uint32(b[4:8])
	if size == 0 || size > walMaxFrame || uint64(len(b)-walFrameHead) < uint64(size) {
		return nil, 0, errEndOfLog
	}
	n = walFrameHead + int(size)
	if binary.BigEndian.Uint64(b[8:16]) != gen || crc32.Checksum(b[4:n], crc32c) != binary.BigEndian.Uint32(b[:4]) {
		return nil, 0, errEndOfLog
	}
	return b[walFrameHead:n], n, nil
}

// splitRecords calls fn with each record of a frame's payload.
func splitRecords(payload []byte, fn func(rec []byte) error) error {
	for i := 0; len(payload) > 0; i++ {
		n, k := binary.Uvarint(payload)
		if k <= 0 || n == 0 || n > uint64(len(payload)-k) || i >= walMaxRecords {
			return fmt.Errorf("%w: log record %d: bad length", errCorrupt, i)
		}
		if err := fn(payload[k : k+int(n)]); err != nil {
			return err
		}
		payload = payload[k+int(n):]
	}
	return nil
}

// wal is the open log file, used by the writer goroutine only (and Open before it starts).
type wal struct {
	f       *os.File
	path    string
	noSync  bool
	hdr     walHeader // current generation
	slot    int       // slot holding hdr
	off     int64     // where the next frame goes
	size    int64     // file size; grown in zeroed chunks ahead of off
	frames  []byte    // reused encoding buffers
	payload []byte
}

// openWAL opens or creates the log at path and returns it with the newest valid header
// (ok false when the file has none: new, or never got past creation).
func openWAL(path string, noSync bool) (*wal, bool, error) {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("store: open log %s: %w (check permissions of the store dir)", path, err)
	}
	if errors.Is(statErr, fs.ErrNotExist) && !noSync {
		// Acknowledged writes live only in this file until a checkpoint: its directory
		// entry must survive a power loss too.
		if err := syncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, false, err
		}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("store: stat log %s: %w", path, err)
	}
	w := &wal{f: f, path: path, noSync: noSync, size: fi.Size()}
	var slots [2 * walSlotSize]byte
	if _, err := f.ReadAt(slots[:], 0); err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, false, fmt.Errorf("store: read log %s: %w", path, err)
	}
	ok := false
	for i := range 2 {
		if h, valid := decodeWALHeader(slots[i*walSlotSize:]); valid && (!ok || h.gen > w.hdr.gen) {
			w.hdr, w.slot, ok = h, i, true
		}
	}
	return w, ok, nil
}

// readFrames calls fn with the payload of each frame of the current generation before
// end, in order, and returns where the frames end. It reads frame by frame (the file may
// be larger than this generation), into fresh memory that stays valid: bbolt keeps the
// slices it is given until the transaction commits.
func (w *wal) readFrames(end int64, fn func(payload []byte) error) (int64, error) {
	off := int64(walDataStart)
	var head [walFrameHead]byte
	for off+walFrameHead <= end {
		if _, err := w.f.ReadAt(head[:], off); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return 0, fmt.Errorf("store: read log %s: %w", w.path, err)
		}
		size := int64(binary.BigEndian.Uint32(head[4:8]))
		if size == 0 || size > walMaxFrame || off+walFrameHead+size > end || binary.BigEndian.Uint64(head[8:]) != w.hdr.gen {
			break // zeros, a frame of an older generation, or a torn one
		}
		frame := make([]byte, walFrameHead+size)
		if _, err := w.f.ReadAt(frame, off); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return 0, fmt.Errorf("store: read log %s: %w", w.path, err)
		}
		payload, n, err := decodeFrame(frame, w.hdr.gen)
		if err != nil {
			break // torn: its sync never returned, so it was never acknowledged
		}
		if err := fn(payload); err != nil {
			return 0, fmt.Errorf("store: log %s frame at offset %d: %w", w.path, off, err)
		}
		off += int64(n)
	}
	return off, nil
}

// reset starts generation gen following bbolt txid base: it writes the header slot not
// holding the current header and syncs it, so a torn write leaves the previous one valid.
func (w *wal) reset(gen, base uint64) error {
	h := walHeader{gen: gen, base: base}
	slot := 1 - w.slot
	if _, err := w.f.WriteAt(h.encode(), int64(slot*walSlotSize)); err != nil {
		return fmt.Errorf("store: write log header %s: %w", w.path, err)
	}
	if w.size < walDataStart {
		w.size = walDataStart // the header page; frames start after it
	}
	if err := w.sync(); err != nil {
		return err
	}
	w.hdr, w.slot, w.off = h, slot, walDataStart
	return nil
}

// used is the bytes of frames in the current generation.
func (w *wal) used() int64 { return w.off - walDataStart }

// append writes the records as frames and syncs them once: when it returns nil they
// survive a crash (a power loss too unless noSync).
func (w *wal) append(recs [][]byte) error {
	w.frames = w.frames[:0]
	payload := w.payload[:0]
	flush := func() {
		if len(payload) > 0 {
			w.frames = appendFrame(w.frames, w.hdr.gen, payload)
			payload = payload[:0]
		}
	}
	for _, rec := range recs {
		if len(payload)+len(rec)+binary.MaxVarintLen64 > walMaxFrame {
			flush()
		}
		payload = binary.AppendUvarint(payload, uint64(len(rec)))
		payload = append(payload, rec...)
	}
	flush()
	w.payload = payload
	if cap(w.payload) > 4*walGrowChunk {
		w.payload = nil // do not keep a huge batch's buffer
	}
	if len(w.frames) == 0 {
		return nil
	}
	end := w.off + int64(len(w.frames))
	if err := w.grow(end); err != nil {
		return err
	}
	if _, err := w.f.WriteAt(w.frames, w.off); err != nil {
		return fmt.Errorf("store: write log %s: %w", w.path, err)
	}
	if err := w.sync(); err != nil {
		return err
	}
	w.off = end
	if cap(w.frames) > 4*walGrowChunk {
		w.frames = nil // do not keep a huge batch's buffer
	}
	return nil
}

// grow extends the file with zeros to cover end, a chunk at a time: writes inside the
// file then change no size, so fdatasync flushes the data alone (docs/store.md).
func (w *wal) grow(end int64) error {
	if end <= w.size {
		return nil
	}
	newSize := (end/walGrowChunk + 1) * walGrowChunk
	zeros := make([]byte, newSize-w.size)
	if _, err := w.f.WriteAt(zeros, w.size); err != nil {
		return fmt.Errorf("store: grow log %s: %w (check disk space)", w.path, err)
	}
	w.size = newSize
	return nil
}

func (w *wal) sync() error {
	if w.noSync {
		return nil
	}
	if err := unix.Fdatasync(int(w.f.Fd())); err != nil {
		return fmt.Errorf("store: sync log %s: %w", w.path, err)
	}
	return nil
}

func (w *wal) close() error { return w.f.Close() }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: sync dir %s: %w", dir, err)
	}
	return nil
}
