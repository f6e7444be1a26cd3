package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// APIPrefix is where the management API mirrors vmq-admin.
const APIPrefix = "/api/v1/"

// httpStreamDefault bounds a streaming command over HTTP that has no --trace-timeout.
const httpStreamDefault = 10 * time.Second

// APIHandler serves GET /api/v1/<command path with / for space>?key=value&--flag.
// When needKey() is true a key of scope mgmt is required, as the basic-auth user or
// the x-api-key header.
func (r *Registry) APIHandler(keys *KeyStore, needKey func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		if hr.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			writeJSON(w, http.StatusMethodNotAllowed, JSONShape(Errorf("use GET")))
			return
		}
		if needKey() && !keyOK(w, hr, keys, "mgmt") {
			return
		}
		argv, err := QueryArgv(strings.TrimPrefix(hr.URL.Path, APIPrefix), hr.URL.RawQuery)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, JSONShape(Errorf("%v", err)))
			return
		}
		cmd, req, err := r.Parse(argv)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, JSONShape(Errorf("%v", err)))
			return
		}
		ctx := hr.Context()
		var lines []string
		req.Out = func(s string) { lines = append(lines, s) }
		if _, ok := req.Flags["trace-timeout"]; cmd.Streaming && !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, httpStreamDefault)
			defer cancel()
		}
		res := r.run(ctx, cmd, req)
		if len(lines) > 0 && res.Type == "text" {
			res.Text = strings.Join(append(lines, res.Text), "\n")
		}
		status := http.StatusOK
		if res.Type == "error" {
			status = http.StatusBadRequest
		}
		writeJSON(w, status, JSONShape(res))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// RequireKey guards an HTTP module with an API key of scope while need() says so
// (http_module.<module>.auth.mode = apikey): VerneMQ 2's scopes are metrics, status, health, mgmt.
func RequireKey(keys *KeyStore, scope string, need func() bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		if need() && !keyOK(w, hr, keys, scope) {
			return
		}
		next.ServeHTTP(w, hr)
	})
}

// keyOK checks the request's API key (x-api-key header or basic-auth user) against scope,
// answering 401 when it is missing, wrong, expired or of another scope.
func keyOK(w http.ResponseWriter, hr *http.Request, keys *KeyStore, scope string) bool {
	key := hr.Header.Get("x-api-key")
	if user, _, ok := hr.BasicAuth(); ok && key == "" {
		key = user
	}
	if keys != nil && keys.Valid(key, scope, time.Now()) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="vernemq"`)
	writeJSON(w, http.StatusUnauthorized, JSONShape(Errorf(
		"missing or invalid API key of scope %s: create one with vmq-admin api-key create scope=%s and send it as the basic-auth user or an x-api-key header", scope, scope)))
	return false
}
