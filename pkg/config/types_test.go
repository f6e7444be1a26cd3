package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	cases := []struct {
		in     string
		base   time.Duration
		expiry bool
		want   time.Duration
		err    string
	}{
		{"20s", time.Second, false, 20 * time.Second, ""},
		{"20", time.Second, false, 20 * time.Second, ""},
		{"20000", time.Millisecond, false, 20 * time.Second, ""},
		{"2ms", time.Millisecond, false, 2 * time.Millisecond, ""},
		{"1h30m", time.Second, false, 90 * time.Minute, ""},
		{"1d", time.Second, false, day, ""},
		{"2w", time.Second, false, 14 * day, ""},
		{"0", time.Second, false, 0, ""},
		{"1m", time.Second, true, 28 * day, ""}, // VerneMQ month in expiry keys
		{"1y", time.Second, true, 336 * day, ""},
		{"1w", time.Second, true, 7 * day, ""},
		{"10", 0, false, 0, "has no unit"},
		{"-5", time.Second, false, 0, "negative"},
		{"5x", time.Second, false, 0, `unknown unit "x"`},
		{"1ms", time.Second, true, 0, `unknown unit "ms"`},
		{"s", time.Second, false, 0, "not a duration"},
		{"", time.Second, false, 0, "empty"},
		{"99999999999999999999s", time.Second, false, 0, "too large"},
		{"9999999999999d", time.Second, false, 0, "too large"},
	}
	for _, c := range cases {
		got, err := parseDuration(c.in, c.base, c.expiry)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseDuration(%q) err = %v, want containing %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		err  string
	}{
		{"0", 0, ""},
		{"512", 512, ""},
		{"64KB", 64 << 10, ""},
		{"64kb", 64 << 10, ""},
		{"1MB", 1 << 20, ""},
		{"1MiB", 1 << 20, ""},
		{"2GB", 2 << 30, ""},
		{"10B", 10, ""},
		{"1 MB", 1 << 20, ""},
		{"MB", 0, "not a size"},
		{"1XB", 0, "unknown unit"},
		{"-1", 0, "not a size"},
		{"99999999999TB", 0, "too large"},
	}
	for _, c := range cases {
		got, err := parseBytes(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseBytes(%q) err = %v, want containing %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
}

func TestParseBoolAndList(t *testing.T) {
	for in, want := range map[string]bool{"on": true, "off": false, "true": true, "false": false, "ON": true} {
		if got, err := parseBool(in); err != nil || got != want {
			t.Errorf("parseBool(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := parseBool("yes"); err == nil || !strings.Contains(err.Error(), "allowed: on, off") {
		t.Errorf("parseBool(yes) err = %v", err)
	}
	if got := splitList(" 3, 4 ,,5 "); strings.Join(got, "|") != "3|4|5" {
		t.Errorf("splitList = %q", got)
	}
}

func TestSplitAddr(t *testing.T) {
	cases := []struct{ typ, in, net, addr, err string }{
		{"tcp", "127.0.0.1:1883", "tcp", "127.0.0.1:1883", ""},
		{"tcp", "0.0.0.0:0", "tcp", "0.0.0.0:0", ""},
		{"tcp", "[::1]:1883", "tcp", "[::1]:1883", ""},
		{"tcp", "::1:1883", "tcp", "[::1]:1883", ""},
		{"tcp", "local:/tmp/mqtt.sock:0", "unix", "/tmp/mqtt.sock", ""},
		{"ws", "local:/tmp/mqtt.sock:0", "", "", "only allowed for tcp"},
		{"tcp", "localhost:1883", "", "", "not an IP address"},
		{"tcp", "127.0.0.1:70000", "", "", "not in 0..65535"},
		{"tcp", "1883", "", "", "not ip:port"},
	}
	for _, c := range cases {
		n, a, err := splitAddr(c.typ, c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("splitAddr(%q) err = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || n != c.net || a != c.addr {
			t.Errorf("splitAddr(%q) = %q %q %v", c.in, n, a, err)
		}
	}
}
