package acl

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitLevelsIsSplit(t *testing.T) {
	var buf [2]string // smaller than some inputs: growing must keep every level
	for _, topic := range []string{"", "/", "a", "a/b", "a//b", "/a", "a/", "$SYS/broker/x", "a/b/c/d/e"} {
		if got, want := splitLevels(topic, buf[:0]), strings.Split(topic, "/"); !slices.Equal(got, want) {
			t.Errorf("splitLevels(%q) = %q, want %q", topic, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		var levels [16]string
		_ = splitLevels("sensor/device-42/temperature", levels[:0])
	}); n != 0 {
		t.Fatalf("%v allocations splitting a 3-level topic, want 0", n)
	}
}
