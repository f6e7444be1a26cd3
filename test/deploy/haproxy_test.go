package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fenced returns the first fenced block of docs/deployment.md that opens with lang
// (or, with lang "", the block right after the line containing after).
func fenced(t *testing.T, lang, after string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs/deployment.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	open := "```" + lang + "\n"
	if after != "" {
		i := strings.Index(text, after)
		if i < 0 {
			t.Fatalf("docs/deployment.md has no %q", after)
		}
		text = text[i:]
	}
	i := strings.Index(text, open)
	if i < 0 {
		t.Fatalf("docs/deployment.md has no %s block", open)
	}
	body := text[i+len(open):]
	return body[:strings.Index(body, "```")]
}

// The documented haproxy.cfg must be accepted by haproxy -c (with real certificate files).
func TestHAProxyExample(t *testing.T) {
	haproxy := tool(t, "haproxy")
	openssl := tool(t, "openssl")
	dir := t.TempDir()
	key, crt := filepath.Join(dir, "key.pem"), filepath.Join(dir, "crt.pem")
	if out, err := run(t, 30*time.Second, baseEnv(), dir, openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
		"ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=mqtt.example", "-keyout", key, "-out", crt); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	k, _ := os.ReadFile(key)
	c, _ := os.ReadFile(crt)
	os.WriteFile(filepath.Join(dir, "server.pem"), append(c, k...), 0o600)
	os.WriteFile(filepath.Join(dir, "clients-ca.pem"), c, 0o600)
	cfg := strings.ReplaceAll(fenced(t, "haproxy", ""), "/etc/haproxy/certs/", dir+"/")
	f := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(f, []byte(cfg), 0o600)
	out, err := run(t, 30*time.Second, baseEnv(), dir, haproxy, "-c", "-f", f)
	if err != nil {
		t.Fatalf("haproxy -c refused the example of docs/deployment.md: %v\n%s", err, out)
	}
	for _, want := range []string{"balance source", "send-proxy-v2", "httpchk GET /health", "verify required"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("the example lacks %q", want)
		}
	}
	// The node side of the example must be a valid conf too.
	node := fenced(t, "", "On each node:")
	conf := filepath.Join(dir, "node.conf")
	os.WriteFile(conf, []byte(node), 0o600)
	if out, err := configCheck(t, conf); err != nil {
		t.Fatalf("vernemq config check refused the node conf of docs/deployment.md: %v\n%s", err, out)
	}
}
