package config

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteEffective writes the effective configuration as a vernemq.conf (what
// `vernemq config generate` prints): every key with its value after the file,
// its includes and DOCKER_VERNEMQ_* overrides, each set key followed by where it
// was set. Accepted-and-ignored keys appear only when set; inheriting listener
// options only when set (their value is their parent's). The output loads back
// to the same settings.
func (c *Config) WriteEffective(w io.Writer) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	type line struct{ key, val, from string }
	var lines []line
	for name, k := range c.s.literal {
		o, set := c.from[name]
		if !set && (k.Warn != "" || k.Inherit != nil) {
			continue
		}
		_, v := c.resolve(name)
		l := line{key: name, val: v.raw}
		if set {
			l.from = o.String()
		}
		lines = append(lines, l)
	}
	for name, v := range c.vals {
		if k := c.s.lookup(name); k != nil && k.isPattern() {
			lines = append(lines, line{key: name, val: v.raw, from: c.from[name].String()})
		}
	}
	for name, v := range c.ignored {
		lines = append(lines, line{key: name, val: v, from: "accepted and ignored"})
	}
	slices.SortFunc(lines, func(a, b line) int { return strings.Compare(a.key, b.key) })
	if _, err := fmt.Fprintf(w, "## Effective configuration (vernemq config generate)%s\n", srcNote(c.file)); err != nil {
		return err
	}
	for _, l := range lines {
		var err error
		if l.from != "" {
			_, err = fmt.Fprintf(w, "%s = %s    ## %s\n", l.key, l.val, l.from)
		} else {
			_, err = fmt.Fprintf(w, "%s = %s\n", l.key, l.val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func srcNote(file string) string {
	if file == "" {
		return ""
	}
	return " of " + file
}
