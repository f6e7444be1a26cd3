package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// row is one scenario's figure for one broker, written as a JSON line by run and read by report.
type row struct {
	Broker      string  `json:"broker"`
	ID          string  `json:"id"`       // sort key, e.g. "1", "5b"
	Scenario    string  `json:"scenario"` // human label
	Value       float64 `json:"value"`
	Unit        string  `json:"unit"`
	Detail      string  `json:"detail,omitempty"`
	BrokerCores float64 `json:"broker_cores"`
	GenCores    float64 `json:"gen_cores"`
	Failed      string  `json:"failed,omitempty"`  // why the scenario produced no figure
	Steps       []step  `json:"steps,omitempty"`   // paced scenarios: every step run, for equal-rate comparisons
	RSSKiB      int64   `json:"rss_kib,omitempty"` // broker RSS at the end, for a later step to compare with (12, 13)
}

// findRow returns broker's row id from a results file, nil when it has none (a later step of a
// scenario that spans a restart compares with an earlier one this way).
func findRow(path, broker, id string) *row {
	if path == "" {
		return nil
	}
	rs, err := readRows(path)
	if err != nil {
		return nil
	}
	for i := range rs {
		if rs[i].Broker == broker && rs[i].ID == id && rs[i].Failed == "" {
			return &rs[i]
		}
	}
	return nil
}

// step is one paced step as kept in a row.
type step struct {
	Rate     int     `json:"rate"`
	P99ms    float64 `json:"p99_ms"`
	UsPerMsg float64 `json:"us_per_msg"`
	OK       bool    `json:"ok"`
}

func stepsOf(rs []stepResult) []step {
	out := make([]step, len(rs))
	for i, s := range rs {
		out[i] = step{Rate: s.Rate, P99ms: float64(s.P99.Microseconds()) / 1000, UsPerMsg: s.UsPerMsg, OK: s.ok()}
	}
	return out
}

// equalRate compares the paced scenarios at each peer's highest passing rate, where
// both brokers ran the same load: p99 latency and broker CPU per message side by side.
func equalRate(rows []row, brokers []string) string {
	byKey := map[string]*row{}
	var ids []string
	for i := range rows {
		r := &rows[i]
		if len(r.Steps) == 0 {
			continue
		}
		if !slices.Contains(ids, r.ID) {
			ids = append(ids, r.ID)
		}
		byKey[r.ID+"/"+r.Broker] = r
	}
	var b strings.Builder
	for _, id := range ids {
		me := byKey[id+"/"+brokers[0]]
		for _, p := range brokers[1:] {
			peer := byKey[id+"/"+p]
			if me == nil || peer == nil {
				continue
			}
			top, ok := topStep(peer.Steps)
			if !ok {
				continue
			}
			mine, found := stepAt(me.Steps, top.Rate)
			if b.Len() == 0 {
				b.WriteString("\nAt equal rates (each peer's highest passing step):\n\n| scenario | rate msg/s | " + brokers[0] + " p99 | peer p99 | " +
					brokers[0] + " µs CPU/msg | peer µs CPU/msg |\n|---|---|---|---|---|---|\n")
			}
			if !found {
				fmt.Fprintf(&b, "| %s vs %s | %d | not run | %.1f ms | – | %.1f |\n", id, p, top.Rate, top.P99ms, top.UsPerMsg)
				continue
			}
			fmt.Fprintf(&b, "| %s vs %s | %d | %.1f ms | %.1f ms | %.1f | %.1f |\n", id, p, top.Rate, mine.P99ms, top.P99ms, mine.UsPerMsg, top.UsPerMsg)
		}
	}
	return b.String()
}

func topStep(ss []step) (step, bool) {
	var top step
	found := false
	for _, s := range ss {
		if s.OK && s.Rate > top.Rate {
			top, found = s, true
		}
	}
	return top, found
}

func stepAt(ss []step, rate int) (step, bool) {
	for _, s := range ss {
		if s.Rate == rate {
			return s, true
		}
	}
	return step{}, false
}

func appendRows(path string, rows []row) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

func readRows(path string) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []row
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

func cell(r *row) string {
	if r == nil {
		return "–"
	}
	if strings.HasPrefix(r.Failed, "skipped") {
		return r.Failed
	}
	if r.Failed != "" {
		return "failed: " + r.Failed
	}
	s := human(r.Value) + " " + r.Unit
	switch r.Unit {
	case "s": // durations: keep milliseconds
		s = fmt.Sprintf("%.3f s", r.Value)
	case "×": // ratios near 1 (14e)
		s = fmt.Sprintf("%.2f ×", r.Value)
	}
	if r.Detail != "" {
		s += ", " + r.Detail
	}
	return fmt.Sprintf("%s; cpu b %.2f g %.2f", s, r.BrokerCores, r.GenCores)
}

// table renders rows as one markdown table: scenario, each broker, this/peer ratios.
func table(rows []row, brokers []string) string {
	byKey := map[string]*row{}
	var ids []string
	label := map[string]string{}
	for i := range rows {
		r := &rows[i]
		if _, ok := label[r.ID]; !ok {
			ids = append(ids, r.ID)
			label[r.ID] = r.Scenario
		}
		byKey[r.ID+"/"+r.Broker] = r
	}
	var b strings.Builder
	head := []string{"scenario"}
	head = append(head, brokers...)
	for _, p := range brokers[1:] {
		head = append(head, brokers[0]+"/"+p)
	}
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|" + strings.Repeat("---|", len(head)) + "\n")
	for _, id := range ids {
		line := []string{id + " " + label[id]}
		for _, br := range brokers {
			line = append(line, cell(byKey[id+"/"+br]))
		}
		me := byKey[id+"/"+brokers[0]]
		for _, p := range brokers[1:] {
			peer := byKey[id+"/"+p]
			if me == nil || peer == nil || me.Failed != "" || peer.Failed != "" || peer.Value == 0 {
				line = append(line, "–")
				continue
			}
			line = append(line, fmt.Sprintf("%.2f", me.Value/peer.Value))
		}
		b.WriteString("| " + strings.Join(line, " | ") + " |\n")
	}
	return b.String()
}

// machine describes where the run happened: cores, CPU model, commit.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	commit := "unknown"
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%s; %d cores (nproc), %s; commit %s", time.Now().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), model, commit)
}

// report prints the table and appends a dated section to md (when set).
func report(files []string, brokers []string, md, title, notes string) error {
	var rows []row
	for _, f := range files {
		rs, err := readRows(f)
		if err != nil {
			return err
		}
		rows = append(rows, rs...)
	}
	if len(rows) == 0 {
		return fmt.Errorf("no results in %v: did every broker fail to start?", files)
	}
	t := table(rows, brokers) + equalRate(rows, brokers)
	head := machine()
	fmt.Println(head)
	fmt.Print(t)
	if md == "" {
		return nil
	}
	f, err := os.OpenFile(md, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if notes != "" {
		notes = strings.TrimSpace(notes) + "\n\n" // a table must not continue the notes' paragraph
	}
	sec := fmt.Sprintf("\n## %s — %s\n\n%s\n\nCells: figure, detail; `cpu b` = broker cores, `g` = load-generator cores (2 cores shared). Ratios are %s/peer on the figure.\n%s\n%s",
		time.Now().Format("2006-01-02 15:04"), title, head, brokers[0], notes, t)
	_, err = f.WriteString(sec)
	return err
}
