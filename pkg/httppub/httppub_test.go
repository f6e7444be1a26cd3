package httppub

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The three request forms parse as VerneMQ's; bad values name what is wrong.
func TestParse(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(
		`{"topic":"a/b","qos":2,"retain":true,"payload":"aGk=","user_properties":[{"z":"1","a":"2"}],"client_id":"c","user":"u","password":""}`))
	req, err := fromJSON(r, "base64")
	if err != nil || req.topic != "a/b" || req.qos != 2 || !req.retain || string(req.payload) != "hi" || req.clientID != "c" ||
		req.user != "u" || !req.hasPassword || req.password != "" || len(req.userProps) != 2 || req.userProps[0].Key != "a" {
		t.Fatalf("JSON: %+v %v", req, err)
	}
	r = httptest.NewRequest(http.MethodPut, Path, strings.NewReader("body"))
	r.Header.Set("topic", "t")
	r.Header.Set("qos", "1")
	r.Header.Set("retain", "true")
	r.Header.Set("user_properties", `{"k":"v"}`)
	r.Header.Set("client_id", "hc")
	if req, err = fromHeaders(r); err != nil || req.topic != "t" || req.qos != 1 || !req.retain || string(req.payload) != "body" ||
		req.clientID != "hc" || req.hasUser || len(req.userProps) != 1 {
		t.Fatalf("headers: %+v %v", req, err)
	}
	r = httptest.NewRequest(http.MethodPost, Path+"?topic=q&qos=0&user=u", strings.NewReader("x"))
	if req, err = fromQuery(r, r.URL.Query()); err != nil || req.topic != "q" || req.qos != 0 || !req.hasUser || req.hasPassword {
		t.Fatalf("query: %+v %v", req, err)
	}
	for body, want := range map[string]string{
		`{"topic":"a","payload":"x","qos":"x"}`:                     "Invalid QoS value",
		`{"topic":"a","payload":"x","qos":1.5}`:                     "Invalid QoS value",
		`{"topic":"a","payload":"x","retain":1}`:                    "Invalid retain flag",
		`{"topic":"a","payload":"x","user_properties":[["k","v"]]}`: "User properties",
		`{"payload":"x"}`: "Invalid topic",
		`[1]`:             "valid json",
	} {
		_, err := fromJSON(httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body)), "")
		var a *answer
		if !errors.As(err, &a) || a.code != 400 || !strings.Contains(a.text, want) {
			t.Errorf("%s: %v, want 400 %q", body, err, want)
		}
	}
	if _, err := qosOf("3"); err == nil {
		t.Error("qos 3 accepted")
	}
	if _, err := retainOf("yes"); err == nil {
		t.Error("retain yes accepted")
	}
}
