package config

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Key describes one configuration key. Names containing "$name" segments are
// patterns (cuttlefish style) matching one dot-free segment, e.g. plugins.$name.
type Key struct {
	Name     string
	Type     Type
	Default  string // "" together with Inherit means "use the parent key"
	Unit     string // for durations: unit of a bare integer ("s" or "ms")
	Runtime  bool   // may change at run time via Set (vmq-admin set)
	Doc      string
	Enum     []string           // TypeEnum values, or allowed TypeList items
	Min, Max int64              // range for TypeInt/TypeBytes when Ranged
	Ranged   bool               // Min/Max apply
	MinDur   time.Duration      // lower bound for TypeDuration
	MaxDur   time.Duration      // upper bound for TypeDuration when > 0
	Infinity bool               // TypeInt: "infinity" accepted, read as 0 (unlimited)
	Never    string             // TypeDuration: sentinel word read as 0 ("never", "client")
	Expiry   bool               // TypeDuration: VerneMQ month/year units (m = 4w, y = 48w)
	Octal    bool               // TypeInt: value written in octal (file modes)
	NonEmpty bool               // TypeList/TypeString: at least one item / character
	Check    func(string) error // extra check of a string value or of each list item
	Inherit  func(name string) string
	Warn     string              // warning emitted when the key is set: accepted but ignored
	Unset    string              // a value meaning "as if not set": take the parent's (VerneMQ's -1 on listener levels)
	Canon    func(string) string // rewrites a value before it is checked (nodename without @host)

	segs []string
}

func (k *Key) isPattern() bool { return strings.Contains(k.Name, "$") }

// value is a validated setting, parsed once when set.
type value struct {
	raw  string
	i    int64
	b    bool
	d    time.Duration
	list []string
	// unset marks Key.Unset: resolve goes on to the parent key.
	unset bool
}

// parse validates raw for k; the error says what is allowed.
func (k *Key) parse(raw string) (value, error) {
	if k.Unset != "" && raw == k.Unset && k.Inherit != nil {
		return value{raw: raw, unset: true}, nil
	}
	if k.Canon != nil {
		raw = k.Canon(raw)
	}
	v := value{raw: raw}
	switch k.Type {
	case TypeString:
		if k.NonEmpty && raw == "" {
			return v, fmt.Errorf("must not be empty")
		}
		if k.Check != nil && raw != "" {
			if err := k.Check(raw); err != nil {
				return v, err
			}
		}
	case TypeBool:
		b, err := parseBool(raw)
		if err != nil {
			return v, err
		}
		v.b = b
		v.raw = map[bool]string{true: "on", false: "off"}[b]
	case TypeInt:
		if k.Infinity && raw == "infinity" {
			return v, nil
		}
		base := 10
		if k.Octal {
			base = 8
		}
		n, err := strconv.ParseInt(raw, base, 64)
		if err != nil {
			what := "an integer"
			if k.Octal {
				what = "an octal file mode like 0600"
			}
			if k.Infinity {
				what += " or infinity"
			}
			return v, fmt.Errorf("%q is not %s", raw, what)
		}
		if err := k.inRange(n, raw); err != nil {
			return v, err
		}
		v.i = n
	case TypeBytes:
		if k.Infinity && raw == "infinity" {
			return v, nil
		}
		n, err := parseBytes(raw)
		if err != nil {
			if k.Infinity {
				err = fmt.Errorf("%w, or infinity", err)
			}
			return v, err
		}
		if err := k.inRange(n, raw); err != nil {
			return v, err
		}
		v.i = n
	case TypeDuration:
		if k.Never != "" && raw == k.Never {
			return v, nil
		}
		d, err := parseDuration(raw, unitOf(k.Unit), k.Expiry)
		if err != nil {
			if k.Never != "" {
				err = fmt.Errorf("%w, or %s", err, k.Never)
			}
			return v, err
		}
		if d < k.MinDur {
			return v, fmt.Errorf("%q is below the minimum %s", raw, k.MinDur)
		}
		if k.MaxDur > 0 && d > k.MaxDur {
			return v, fmt.Errorf("%q is above the maximum %s", raw, k.MaxDur)
		}
		v.d = d
	case TypeEnum:
		if !slices.Contains(k.Enum, raw) {
			return v, fmt.Errorf("%q is not allowed (allowed: %s)", raw, strings.Join(k.Enum, ", "))
		}
	case TypeList:
		items := splitList(raw)
		if k.NonEmpty && len(items) == 0 {
			return v, fmt.Errorf("list must not be empty")
		}
		for _, it := range items {
			if len(k.Enum) > 0 && !slices.Contains(k.Enum, it) {
				return v, fmt.Errorf("item %q is not allowed (allowed: %s)", it, strings.Join(k.Enum, ", "))
			}
			if k.Check != nil {
				if err := k.Check(it); err != nil {
					return v, err
				}
			}
		}
		v.list = items
		v.raw = strings.Join(items, ",")
	}
	return v, nil
}

func (k *Key) inRange(n int64, raw string) error {
	if k.Ranged && (n < k.Min || n > k.Max) {
		if k.Max == math.MaxInt64 {
			return fmt.Errorf("%q is out of range (allowed: >= %d)", raw, k.Min)
		}
		return fmt.Errorf("%q is out of range (allowed: %d..%d)", raw, k.Min, k.Max)
	}
	return nil
}

func unitOf(u string) time.Duration {
	switch u {
	case "ms":
		return time.Millisecond
	case "s":
		return time.Second
	}
	return 0
}

// schema indexes keys: literal names by map, patterns by segment matching.
type schema struct {
	literal  map[string]*Key
	patterns []*Key
}

var segRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func newSchema(groups ...[]*Key) *schema {
	s := &schema{literal: map[string]*Key{}}
	for _, g := range groups {
		for _, k := range g {
			if _, dup := s.literal[k.Name]; dup {
				panic("config: key defined twice: " + k.Name)
			}
			for _, p := range s.patterns {
				if p.Name == k.Name {
					panic("config: pattern defined twice: " + k.Name)
				}
			}
			// Inheriting keys and patterns may have no default of their own.
			skip := k.Default == "" && (k.Inherit != nil || k.isPattern())
			if _, err := k.parse(k.Default); err != nil && !skip {
				panic(fmt.Sprintf("config: bad default for %s: %v", k.Name, err))
			}
			k.segs = strings.Split(k.Name, ".")
			if k.isPattern() {
				s.patterns = append(s.patterns, k)
			} else {
				s.literal[k.Name] = k
			}
		}
	}
	return s
}

// lookup finds the key definition for name; literal keys win over patterns,
// and among patterns the one with most literal segments wins.
func (s *schema) lookup(name string) *Key {
	if k, ok := s.literal[name]; ok {
		return k
	}
	segs := strings.Split(name, ".")
	var best *Key
	bestLit := -1
	for _, p := range s.patterns {
		if len(p.segs) != len(segs) {
			continue
		}
		lit, ok := 0, true
		for i, ps := range p.segs {
			if strings.HasPrefix(ps, "$") {
				if !segRe.MatchString(segs[i]) {
					ok = false
					break
				}
				continue
			}
			if ps != segs[i] {
				ok = false
				break
			}
			lit++
		}
		if ok && lit > bestLit {
			best, bestLit = p, lit
		}
	}
	return best
}

// suggest returns a literal key within edit distance 2 of name, for "did you mean".
func (s *schema) suggest(name string) string {
	best, bestD := "", 3
	for n := range s.literal {
		if d := editDistance(name, n, bestD); d < bestD || (d == bestD && d < 3 && n < best) {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// theSchema is built once; key tables live in schema_*.go.
var theSchema = newSchema(coreKeys(), clusterKeys(), miscKeys(), listenerKeys(), pluginKeys(),
	logKeys(), bridgeKeys())

// Range helpers keep the tables short.
func rng(k *Key, lo, hi int64) *Key { k.Min, k.Max, k.Ranged = lo, hi, true; return k }
func atLeast(k *Key, lo int64) *Key { return rng(k, lo, math.MaxInt64) }
