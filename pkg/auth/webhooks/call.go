package webhooks

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// response is an endpoint's decoded answer.
type response struct {
	Result    json.RawMessage `json:"result"`
	Modifiers json.RawMessage `json:"modifiers"`
	Topics    json.RawMessage `json:"topics"`
}

// verdict is "ok", "next" or "error" (with reason).
func (r *response) verdict() (string, string) {
	var s string
	if json.Unmarshal(r.Result, &s) == nil {
		return s, ""
	}
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(r.Result, &e) == nil && e.Error != nil {
		var reason string
		if json.Unmarshal(e.Error, &reason) != nil {
			reason = string(e.Error)
		}
		return "error", reason
	}
	return "next", ""
}

// maxBody bounds what is read from an endpoint.
const maxBody = 4 << 20

// post sends body to e and decodes the answer; maxAge is the response's
// cache-control max-age (0 = none).
func (p *Plugin) post(ctx context.Context, e Endpoint, hook string, body map[string]any) (*response, time.Duration, error) {
	b, err := json.Marshal(encodeBody(e, hook, body))
	if err != nil {
		return nil, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, e.ResponseTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(b))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("vernemq-hook", hook)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("invalid response code %d", resp.StatusCode)
	}
	var r response
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, 0, fmt.Errorf("received payload not JSON: %w", err)
	}
	return &r, maxAge(resp.Header.Get("Cache-Control")), nil
}

// maxAge parses "max-age=N" anywhere in a cache-control header.
func maxAge(cc string) time.Duration {
	i := strings.Index(cc, "max-age=")
	if i < 0 {
		return 0
	}
	s := cc[i+len("max-age="):]
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	v, err := strconv.Atoi(s[:n])
	if err != nil || v <= 0 {
		return 0
	}
	return time.Duration(v) * time.Second
}

// outcome is one all_till_ok answer: verdict plus the raw modifiers/topics.
type outcome struct {
	verdict, reason string
	resp            *response
	ep              Endpoint // who answered: its base64encode applies to modifiers
}

// allTillOK asks the hook's endpoints in order until one answers ok or
// error. key, when set, enables the max-age cache for ok answers.
func (p *Plugin) allTillOK(ctx context.Context, hook string, body map[string]any, key string) outcome {
	for _, e := range p.endpoints(hook) {
		ck := ""
		if key != "" {
			ck = e.URL + "\x00" + hook + "\x00" + key
			if r, ce, ok := p.cache.get(ck); ok {
				return outcome{verdict: "ok", resp: r, ep: ce}
			}
		}
		r, age, err := p.post(ctx, e, hook, body)
		if err != nil {
			p.log.Error("webhook call failed; refusing", "hook", hook, "endpoint", e.URL, "err", err)
			return outcome{verdict: "error", reason: "webhook_failed"}
		}
		v, reason := r.verdict()
		switch v {
		case "ok":
			if ck != "" && age > 0 {
				p.cache.put(ck, e, r, age)
			}
			return outcome{verdict: "ok", resp: r, ep: e}
		case "error":
			return outcome{verdict: "error", reason: reason}
		}
	}
	return outcome{verdict: "next"}
}

// encodeBody applies an endpoint's payload options: "payload" travels as
// []byte until here, then becomes base64 (base64encode on) or a string,
// or is left out (no_payload, auth_on_publish only).
func encodeBody(e Endpoint, hook string, body map[string]any) map[string]any {
	raw, ok := body["payload"].([]byte)
	if !ok {
		return body
	}
	out := make(map[string]any, len(body))
	for k, v := range body {
		out[k] = v
	}
	switch {
	case e.NoPayload && strings.HasPrefix(hook, "auth_on_publish"):
		delete(out, "payload")
	case e.Base64:
		out["payload"] = base64.StdEncoding.EncodeToString(raw)
	default:
		out["payload"] = string(raw)
	}
	return out
}
