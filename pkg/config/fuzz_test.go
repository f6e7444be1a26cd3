package config

import (
	"strings"
	"testing"
)

// FuzzParse checks that no input panics and that accepted input yields a usable Config.
func FuzzParse(f *testing.F) {
	f.Add("allow_anonymous = on\nlistener.tcp.default = 127.0.0.1:1883\n")
	f.Add("listener.ssl.s = [::1]:8883\nlistener.ssl.s.buffer_sizes = 1KB,2KB,3KB\n")
	f.Add("persistent_client_expiration = 1y\nretry_interval = 1h30m\nmax_message_size = 1MB\n")
	f.Add("plugins.x = on\nplugins.x.priority = -3\nvmq_webhooks.a.hook = on_publish\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, _, err := Parse(strings.NewReader(text), "fuzz.conf", nil)
		if err != nil {
			return
		}
		_ = c.Listeners()
		_ = c.Plugins()
		_ = c.Keys()
		_ = c.String("admin.socket")
	})
}
