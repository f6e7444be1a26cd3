package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Type is the datatype of a configuration key, as cuttlefish would name it.
type Type int

const (
	TypeString   Type = iota // free text, optionally checked by a validator
	TypeInt                  // decimal integer (octal when Key.Octal), optionally "infinity"
	TypeBool                 // on/off (true/false accepted, stored as on/off)
	TypeDuration             // 20s, 1h30m, 2ms; bare integers use the key's Unit
	TypeBytes                // 64KB, 1MB; bare integers are bytes
	TypeEnum                 // one of Key.Enum
	TypeList                 // comma-separated values, each checked by Key.Elem
)

func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInt:
		return "int"
	case TypeBool:
		return "bool"
	case TypeDuration:
		return "duration"
	case TypeBytes:
		return "bytes"
	case TypeEnum:
		return "enum"
	case TypeList:
		return "list"
	}
	return "unknown"
}

// parseBool accepts cuttlefish's flag spellings; stored canonically as on/off.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on", "true":
		return true, nil
	case "off", "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a flag (allowed: on, off)", s)
}

// durationUnits are cuttlefish's units; "m" is minutes except for expiry keys.
var durationUnits = map[string]time.Duration{
	"ms": time.Millisecond,
	"s":  time.Second,
	"m":  time.Minute,
	"h":  time.Hour,
	"d":  24 * time.Hour,
	"w":  7 * 24 * time.Hour,
}

// expiryUnits follow VerneMQ's persistent_client_expiration: m = 4 weeks, y = 12 such months.
var expiryUnits = map[string]time.Duration{
	"s": time.Second,
	"h": time.Hour,
	"d": 24 * time.Hour,
	"w": 7 * 24 * time.Hour,
	"m": 4 * 7 * 24 * time.Hour,
	"y": 12 * 4 * 7 * 24 * time.Hour,
}

// parseDuration parses "20s", "1h30m", "500ms" or a bare integer in base units.
func parseDuration(s string, base time.Duration, expiry bool) (time.Duration, error) {
	units := durationUnits
	allowed := "ms, s, m, h, d, w (e.g. 20s, 1h30m)"
	if expiry {
		units = expiryUnits
		allowed = "s, h, d, w, m (month = 4w), y (e.g. 1w, 3m)"
	}
	if s == "" {
		return 0, fmt.Errorf("empty duration (use units %s)", allowed)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%q is negative (durations must be >= 0)", s)
		}
		if n == 0 {
			return 0, nil // 0 is 0 in any unit
		}
		if base == 0 {
			return 0, fmt.Errorf("%q has no unit (use units %s)", s, allowed)
		}
		if n > math.MaxInt64/int64(base) {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return time.Duration(n) * base, nil
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("%q is not a duration (use units %s)", s, allowed)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is too large", s)
		}
		rest = rest[i:]
		j := 0
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		u, ok := units[strings.ToLower(rest[:j])]
		if !ok {
			return 0, fmt.Errorf("%q has unknown unit %q (use units %s)", s, rest[:j], allowed)
		}
		rest = rest[j:]
		if n > math.MaxInt64/int64(u) || total > math.MaxInt64-time.Duration(n)*u {
			return 0, fmt.Errorf("%q is too large", s)
		}
		total += time.Duration(n) * u
	}
	return total, nil
}

var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1 << 10, "kib": 1 << 10, "k": 1 << 10,
	"mb": 1 << 20, "mib": 1 << 20, "m": 1 << 20,
	"gb": 1 << 30, "gib": 1 << 30, "g": 1 << 30,
	"tb": 1 << 40, "tib": 1 << 40, "t": 1 << 40,
}

// parseBytes parses "64KB", "1MB", "512" (bytes); units are powers of 1024 as in cuttlefish.
func parseBytes(s string) (int64, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q is not a size (use a number with optional unit B, KB, MB, GB, TB, e.g. 64KB)", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is too large", s)
	}
	mul, ok := byteUnits[strings.ToLower(strings.TrimSpace(s[i:]))]
	if !ok {
		return 0, fmt.Errorf("%q has unknown unit %q (use B, KB, MB, GB, TB)", s, s[i:])
	}
	if n > math.MaxInt64/mul {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mul, nil
}

// splitList splits a comma-separated list, trimming blanks and dropping empty items.
// VerneMQ's schema writes some list defaults in Erlang form, "[a, b]": the brackets go.
func splitList(s string) []string {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
