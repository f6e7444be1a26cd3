package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vernemq-go/vernemq/internal/vmqkeys"
)

// TestVerneMQ22Keys sets every mapping of VerneMQ 2.2's schemas (testdata, taken from
// VerneMQ's cuttlefish schema files) to every value form its datatype allows, beside
// the lines it needs (its listener, the other half of a webhook): each must load,
// either silently (implemented) or with exactly one "accepted and ignored" warning
// saying what to use instead.
func TestVerneMQ22Keys(t *testing.T) {
	keys, err := vmqkeys.Read("testdata/vernemq-2.2-keys.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 570 {
		t.Fatalf("read %d keys from the tsv, want the whole list (~580)", len(keys))
	}
	implemented, ignoredKeys := map[string]bool{}, map[string]bool{}
	values := 0
	for _, k := range keys {
		name := k.Fill()
		for _, v := range k.Values() {
			values++
			pre := k.Prerequisites()
			text := strings.Join(append(pre, name+" = "+v), "\n") + "\n"
			c, warns, err := parse(t, text)
			if err != nil {
				t.Errorf("%s = %s (%s): refused: %v", name, v, k.Datatype, err)
				continue
			}
			var mine []string
			for _, w := range warns {
				if strings.HasPrefix(w, fmt.Sprintf("test.conf:%d: ", len(pre)+1)) {
					mine = append(mine, w)
				} else if !strings.Contains(w, "accepted and ignored") {
					t.Errorf("%s = %s: warning about a prerequisite line: %q", name, v, w)
				}
			}
			switch {
			case len(mine) == 0:
				implemented[k.Name] = true
				if _, ok := c.Raw(name); !ok {
					t.Errorf("%s = %s: accepted but Raw cannot read it back", name, v)
				}
			case len(mine) == 1 && strings.Contains(mine[0], "ignored"):
				ignoredKeys[k.Name] = true
				if !strings.Contains(mine[0], ": accepted and ignored: ") && !strings.Contains(mine[0], "not implemented by this broker") {
					t.Errorf("%s = %s: warning %q does not say accepted and ignored", name, v, mine[0])
				}
			default:
				t.Errorf("%s = %s: want no warning or one 'accepted and ignored', got %q", name, v, mine)
			}
		}
	}
	both := 0
	for k := range implemented {
		if ignoredKeys[k] {
			both++ // plugins.vmq_bridge: silent when off, warned when on
		}
	}
	t.Logf("%d keys, %d values tried: %d implemented, %d accepted and ignored (%d both, by value)",
		len(keys), values, len(implemented)-both, len(ignoredKeys)-both, both)
}

// TestGeneratedDefaultConf loads the vernemq.conf VerneMQ 2.2 generates from its
// defaults, with its closing "include conf.d/*.conf" matching nothing.
func TestGeneratedDefaultConf(t *testing.T) {
	keys, err := vmqkeys.Read("testdata/vernemq-2.2-keys.tsv")
	if err != nil {
		t.Fatal(err)
	}
	c, warns, err := Parse(strings.NewReader(vmqkeys.DefaultConf(keys)), t.TempDir()+"/vernemq.conf", nil)
	if err != nil {
		t.Fatalf("generated default conf refused:\n%v", err)
	}
	for _, w := range warns {
		if !strings.Contains(w, "ignored") {
			t.Errorf("warning that is not an accepted-and-ignored key: %q", w)
		}
	}
	var got []string
	for _, l := range c.Listeners() {
		got = append(got, l.Type+"."+l.Name+"="+l.Addr)
	}
	if want := "tcp.default=127.0.0.1:1883 ws.default=127.0.0.1:8080 vmq.clustering=127.0.0.1:44053 http.default=127.0.0.1:8888"; strings.Join(got, " ") != want {
		t.Errorf("listeners = %q, want %q", got, want)
	}
	t.Logf("%d warnings, e.g. %q", len(warns), warns[0])
}
