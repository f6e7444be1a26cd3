package store

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	crashEnv     = "STORE_CRASH_CHILD_PATH"
	crashModeEnv = "STORE_CRASH_CHILD_MODE"
)

// crashModes are the checkpoint policies the child runs with, so the kill lands while the
// acknowledged writes are only in the log, or among frequent checkpoints (before, during
// or after a commit to the file and the log reset that follows it).
var crashModes = map[string]Options{
	"log only":       {CheckpointInterval: time.Hour, CheckpointWrites: 1 << 30, CheckpointBytes: 1 << 40},
	"checkpoints":    {CheckpointWrites: 64},
	"default policy": {},
}

// TestCrashChild is the child side of TestCrashKeepsAcknowledged; it does nothing otherwise.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("only runs as the child of TestCrashKeepsAcknowledged")
	}
	s, err := Open(path, crashModes[os.Getenv(crashModeEnv)])
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	stop := time.Now().Add(30 * time.Second) // bound in case the parent dies
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			k := SessionKey{"", fmt.Sprint("c", w)}
			for i := 0; i < 100000 && time.Now().Before(stop); i++ {
				seqs, err := s.Enqueue([]SessionKey{k}, msg(i))
				if err != nil {
					fmt.Println("ERR", err)
					os.Exit(1)
				}
				mu.Lock() // one write per line so lines never interleave
				fmt.Fprintf(os.Stdout, "ACK %d %d\n", w, seqs[0])
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	os.Exit(0)
}

// TestCrashKeepsAcknowledged kills an enqueuing child with SIGKILL at a random point and
// checks that every seq it was told was committed is in the store after reopen, under
// each checkpoint policy of crashModes.
func TestCrashKeepsAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	for mode := range crashModes {
		t.Run(mode, func(t *testing.T) { crashAndCheck(t, mode) })
	}
}

func crashAndCheck(t *testing.T, mode string) {
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path, crashModeEnv+"="+mode)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killAt := 200 + rand.IntN(3000)
	acked := map[int]uint64{} // writer -> highest acknowledged seq (seqs of a writer are 1..n)
	lines := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 1 && f[0] == "ERR" {
			t.Fatalf("child: %s", sc.Text())
		}
		if len(f) != 3 || f[0] != "ACK" {
			continue
		}
		w, _ := strconv.Atoi(f[1])
		seq, _ := strconv.ParseUint(f[2], 10, 64)
		if seq > acked[w] {
			acked[w] = seq
		}
		lines++
		if lines == killAt {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	_ = cmd.Wait()
	if lines < killAt {
		t.Fatalf("child ended after %d acks before the kill at %d", lines, killAt)
	}

	s := openT(t, path, Options{})
	defer s.Close()
	for w, max := range acked {
		k := SessionKey{"", fmt.Sprint("c", w)}
		have := map[uint64]bool{}
		for _, q := range queueOf(t, s, k) {
			if q.Msg.Topic != fmt.Sprintf("t/%d", q.Seq-1) {
				t.Fatalf("writer %d seq %d has topic %s", w, q.Seq, q.Msg.Topic)
			}
			have[q.Seq] = true
		}
		for seq := uint64(1); seq <= max; seq++ {
			if !have[seq] {
				t.Fatalf("writer %d: acknowledged seq %d lost after SIGKILL (max acked %d)", w, seq, max)
			}
		}
	}
	t.Logf("killed after %d acks; all present", lines)
}
