package ops

import (
	"encoding/base64"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/testnode"
)

// The HTTP API answers a good key, and refuses a wrong key, an expired key and no key.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", nil)
	good := strings.TrimSpace(n.mustAdmin("api-key", "create"))
	if len(good) < 20 {
		t.Fatalf("api-key create printed %q, want a key", good)
	}
	// An expiry a few seconds ahead, in the UTC layout api-key create takes.
	exp := time.Now().UTC().Add(3 * time.Second).Truncate(time.Second).Add(time.Second)
	short := strings.TrimSpace(n.mustAdmin("api-key", "create", "expires="+exp.Format("2006-01-02T15:04:05")))
	if out, err := n.admin("api-key", "create", "expires=2001-01-01T00:00:00"); err == nil {
		t.Fatalf("api-key create with a past expiry succeeded:\n%s", out)
	}
	path := "/api/v1/node/status"
	call := func(hdr map[string]string) (int, string) { return n.get(path, hdr) }
	basic := func(user string) map[string]string {
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"))}
	}
	for name, hdr := range map[string]map[string]string{"x-api-key": {"x-api-key": good}, "basic auth": basic(good)} {
		if code, body := call(hdr); code != http.StatusOK || !strings.Contains(body, "VerneMQ@127.0.0.1") {
			t.Fatalf("good key as %s: %d %s", name, code, body)
		}
	}
	if code, body := call(map[string]string{"x-api-key": short}); code != http.StatusOK {
		t.Fatalf("short-lived key before its expiry: %d %s", code, body)
	}
	for name, hdr := range map[string]map[string]string{
		"no key": nil, "wrong key": {"x-api-key": good + "X"}, "wrong basic user": basic("nope"),
	} {
		if code, body := call(hdr); code != http.StatusUnauthorized || !strings.Contains(body, "api-key create") {
			t.Fatalf("%s: %d %s, want 401 telling how to get a key", name, code, body)
		}
	}
	eventually.True(t, 10*time.Second, "the short-lived key to expire", func() bool { return time.Now().After(exp) })
	if code, body := call(map[string]string{"x-api-key": short}); code != http.StatusUnauthorized {
		t.Fatalf("expired key: %d %s, want 401", code, body)
	}
	if out := n.mustAdmin("api-key", "show"); !strings.Contains(out, short) || !strings.Contains(out, "true") {
		t.Fatalf("api-key show does not list the expired key as expired:\n%s", out)
	}
	if code, _ := call(map[string]string{"x-api-key": good}); code != http.StatusOK {
		t.Fatalf("good key after another expired: %d", code)
	}
}

// listener.<type>.<name>.http_module.<module>.auth.mode overrides http_module.<module>.auth.mode
// for that listener only (VerneMQ 2.2): a local listener without keys beside a keyed one.
func TestPerListenerHTTPModuleAuthMode(t *testing.T) {
	t.Parallel()
	local := "127.0.0.1:" + strconv.Itoa(testnode.FreePort(t))
	n := startNode(t, "", map[string]string{
		"listener.http.local": local,
		"listener.http.local.http_module.vmq_http_mgmt_api.auth.mode": "noauth",
	})
	if code, body := n.get("/api/v1/node/status", nil); code != http.StatusUnauthorized {
		t.Fatalf("default listener without key: %d %s, want 401", code, body)
	}
	resp, err := httpClient.Get("http://" + local + "/api/v1/node/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("noauth listener: %d, want 200 without a key", resp.StatusCode)
	}
}
