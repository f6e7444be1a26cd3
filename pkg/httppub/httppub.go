// Package httppub is VerneMQ's vmq_http_pub: POST or PUT /restmqtt/api/v1/publish
// publishes one MQTT message. The request names the message in one of three ways, as
// VerneMQ's:
//
//   - headers: topic, qos, retain, user_properties (a JSON object), client_id, user,
//     password; the body is the payload as is;
//   - the query string: topic, qos, retain, client_id, user, password; the body is the payload;
//   - a JSON body {"topic","qos","retain","payload","user_properties":[{"k":"v"}],
//     "client_id","user","password"}, with ?encoding=base64 when "payload" is base64.
//
// The HTTP request itself needs an API key of scope httppub (basic-auth user or
// x-api-key) unless http_module.vmq_http_pub.auth.mode = noauth. Then, unless
// allow_anonymous is on, the MQTT identity goes through the plugin chain as a client
// would: auth_on_register (mode on-behalf-of: the request's client_id, user, password;
// mode predefined: the configured ones), then auth_on_publish. Answers are text/plain:
// 200 "Published", 400 for a bad request (naming what is wrong), 401 when the API key or
// auth_on_register refuses, 403 when auth_on_publish refuses, 413 over max_message_size.
package httppub

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/metrics"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// Path is the endpoint, as VerneMQ's.
const Path = "/restmqtt/api/v1/publish"

// Modes of vmq_http_pub.mqtt_auth.mode.
const (
	ModeOnBehalfOf = "on-behalf-of"
	ModePredefined = "predefined"
)

// Config is one listener's vmq_http_pub.
type Config struct {
	Mode                     string // ModeOnBehalfOf (default) or ModePredefined
	User, Password, ClientID string // the identity of ModePredefined
	Mountpoint               string // vmq_http_pub.mountpoint (a listener's overrides the global one)

	// KeyOK checks an API key of scope httppub; nil means noauth.
	KeyOK          func(key string) bool
	AllowAnonymous func() bool // allow_anonymous: no auth hook is asked
	MaxMessageSize func() int  // max_message_size; 0 unlimited
	Chain          *auth.Chain
	// Publish routes m; done is told once every copy for an offline session is stored.
	Publish func(m *session.Message, done func(error))
	// HasSession reports whether a session with this id exists: then the plugins keep
	// what they cached for it at the request's auth_on_register (it is that client's too).
	HasSession func(mountpoint, clientID string) bool
	Metrics    *Metrics
	Log        *slog.Logger
}

// Metrics are VerneMQ's three http_pub counters.
type Metrics struct {
	Published, APIError, AuthError *metrics.Counter
}

// NewMetrics registers http_pub_published, http_pub_api_error and http_pub_auth_error.
func NewMetrics(r *metrics.Registry) *Metrics {
	return &Metrics{
		Published: r.Counter("http_pub_published", "The number of messages sent through the REST Publish API", nil),
		APIError:  r.Counter("http_pub_api_error", "Number of errors reported by the REST Publish API", nil),
		AuthError: r.Counter("http_pub_auth_error", "Number of Auth errors reported by the REST Publish API", nil),
	}
}

// maxBody bounds what is read of a request: the protocol's largest packet.
const maxBody = 268435455

// publishWait bounds how long a QoS 1/2 publish waits for offline copies to be stored.
const publishWait = 10 * time.Second

// request is one publish as the client asked for it.
type request struct {
	topic, clientID, user, password string
	hasUser, hasPassword            bool
	qos                             int
	retain                          bool
	payload                         []byte
	userProps                       []packets.UserProperty
}

// answer is an HTTP status with VerneMQ's text.
type answer struct {
	code int
	text string
}

func (a *answer) Error() string { return a.text }

func bad(format string, args ...any) *answer {
	return &answer{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// Handler serves Path.
func Handler(cfg Config) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeOnBehalfOf
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "use POST or PUT", http.StatusMethodNotAllowed)
			return
		}
		if cfg.KeyOK != nil {
			key := r.Header.Get("x-api-key")
			if user, _, ok := r.BasicAuth(); ok && key == "" {
				key = user
			}
			if !cfg.KeyOK(key) {
				cfg.Metrics.AuthError.Inc()
				w.Header().Set("WWW-Authenticate", `Basic realm="vmq_http_pub"`)
				http.Error(w, "missing or invalid API key of scope httppub: create one with vmq-admin api-key create scope=httppub and send it as the basic-auth user or an x-api-key header", http.StatusUnauthorized)
				return
			}
		}
		a := cfg.serve(r)
		switch a.code {
		case http.StatusOK:
		case http.StatusUnauthorized, http.StatusForbidden:
			cfg.Metrics.AuthError.Inc()
			cfg.Log.Warn("REST publish refused", "status", a.code, "reason", a.text, "peer", r.RemoteAddr)
		default:
			cfg.Metrics.APIError.Inc()
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(a.code)
		io.WriteString(w, a.text)
	})
}

func (cfg *Config) serve(r *http.Request) *answer {
	q := r.URL.Query()
	inHeader, inQuery := r.Header.Get("topic") != "", q.Has("topic")
	var req *request
	var err error
	switch {
	case inHeader && inQuery:
		return bad("Parameters found in header as well as url-encoded")
	case inHeader:
		req, err = fromHeaders(r)
	case inQuery:
		req, err = fromQuery(r, q)
	default:
		if len(q) > 1 || (len(q) == 1 && !q.Has("encoding")) {
			return bad("Only encoding plain or base64 allows. No more URL parameters supported.")
		}
		req, err = fromJSON(r, q.Get("encoding"))
	}
	if err != nil {
		var a *answer
		if errors.As(err, &a) {
			return a
		}
		return bad("%v", err)
	}
	return cfg.publish(r, req)
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, bad("cannot read the request body: %v", err)
	}
	if len(b) > maxBody {
		return nil, &answer{http.StatusRequestEntityTooLarge, "Payload too large."}
	}
	return b, nil
}

// qosOf and retainOf parse the text forms headers and the query string carry.
func qosOf(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 2 {
		return 0, bad("Invalid QoS value. Must be in range 0..2")
	}
	return n, nil
}

func retainOf(s string) (bool, error) {
	switch s {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, bad("Invalid retain flag. Must be in true or false")
}

func fromHeaders(r *http.Request) (*request, error) {
	h := r.Header
	req := &request{topic: h.Get("topic"), clientID: h.Get("client_id")}
	req.user, req.hasUser = header(h, "user")
	req.password, req.hasPassword = header(h, "password")
	var err error
	if req.qos, err = qosOf(h.Get("qos")); err != nil {
		return nil, err
	}
	if req.retain, err = retainOf(h.Get("retain")); err != nil {
		return nil, err
	}
	if up := h.Get("user_properties"); up != "" {
		var m map[string]string
		if json.Unmarshal([]byte(up), &m) != nil {
			return nil, bad("User properties need to be a key/value list (json encoded)")
		}
		req.userProps = sortedProps(m)
	}
	req.payload, err = readBody(r)
	return req, err
}

func header(h http.Header, k string) (string, bool) {
	v := h.Values(k)
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

func fromQuery(r *http.Request, q url.Values) (*request, error) {
	req := &request{topic: q.Get("topic"), clientID: q.Get("client_id"), user: q.Get("user"), password: q.Get("password"),
		hasUser: q.Has("user"), hasPassword: q.Has("password")}
	var err error
	if req.qos, err = qosOf(q.Get("qos")); err != nil {
		return nil, err
	}
	if req.retain, err = retainOf(q.Get("retain")); err != nil {
		return nil, err
	}
	req.payload, err = readBody(r)
	return req, err
}

func fromJSON(r *http.Request, encoding string) (*request, error) {
	if encoding != "" && encoding != "plain" && encoding != "base64" {
		return nil, bad("Unknown payload encoding")
	}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var j struct {
		Topic          *string           `json:"topic"`
		QoS            json.RawMessage   `json:"qos"`
		Retain         *bool             `json:"retain"`
		Payload        *string           `json:"payload"`
		UserProperties []json.RawMessage `json:"user_properties"`
		ClientID       *string           `json:"client_id"`
		User           *string           `json:"user"`
		Password       *string           `json:"password"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			switch te.Field {
			case "retain":
				return nil, bad("Invalid retain flag. Must be in true or false")
			case "qos":
				return nil, bad("Invalid QoS value. Must be in range 0..2")
			case "user_properties":
				return nil, bad("User properties need to be a key/value list (json encoded)")
			}
			if te.Field == "" {
				return nil, bad("Content is not a valid json object: %v", err)
			}
			return nil, bad("JSON field %s has the wrong type: %v", te.Field, err)
		}
		return nil, bad("Content is not a valid json: %v", err)
	}
	if j.Topic == nil {
		return nil, bad("Invalid topic: the JSON body has no \"topic\"")
	}
	if j.Payload == nil {
		return nil, bad("the JSON body has no \"payload\"")
	}
	req := &request{topic: *j.Topic}
	if len(j.QoS) > 0 {
		// A number, or a number in a string as VerneMQ's to_int takes it.
		q := strings.Trim(string(j.QoS), `"`)
		if req.qos, err = qosOf(q); err != nil || q == "" {
			return nil, bad("Invalid QoS value. Must be in range 0..2")
		}
	}
	if j.Retain != nil {
		req.retain = *j.Retain
	}
	if j.ClientID != nil {
		req.clientID = *j.ClientID
	}
	if j.User != nil {
		req.user, req.hasUser = *j.User, true
	}
	if j.Password != nil {
		req.password, req.hasPassword = *j.Password, true
	}
	if len(j.UserProperties) > 0 {
		// VerneMQ takes the first object of the list.
		var m map[string]string
		if json.Unmarshal(j.UserProperties[0], &m) != nil {
			return nil, bad("User properties need to be a key/value list (json encoded)")
		}
		req.userProps = sortedProps(m)
	}
	req.payload = []byte(*j.Payload)
	if encoding == "base64" {
		if req.payload, err = base64.StdEncoding.DecodeString(*j.Payload); err != nil {
			return nil, bad("Unknown payload encoding: the payload is not base64: %v", err)
		}
	}
	return req, nil
}

// sortedProps gives user properties a stable order (a JSON object has none).
func sortedProps(m map[string]string) []packets.UserProperty {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]packets.UserProperty, len(keys))
	for i, k := range keys {
		out[i] = packets.UserProperty{Key: k, Value: m[k]}
	}
	return out
}

// publish checks the message, asks the auth chain and routes it.
func (cfg *Config) publish(r *http.Request, req *request) *answer {
	if req.topic == "" || strings.HasPrefix(req.topic, "$") || topics.ValidateTopic(req.topic, 0) != nil {
		return bad("Invalid topic")
	}
	if cfg.Mode == ModePredefined {
		req.clientID, req.user, req.password, req.hasUser, req.hasPassword = cfg.ClientID, cfg.User, cfg.Password, true, true
	}
	m := &session.Message{Mountpoint: cfg.Mountpoint, Topic: req.topic, Payload: req.payload, QoS: byte(req.qos),
		Retain: req.retain, From: req.clientID}
	if len(req.userProps) > 0 {
		m.Props = &packets.Properties{User: req.userProps}
	}
	maxSize := 0
	if cfg.MaxMessageSize != nil {
		maxSize = cfg.MaxMessageSize()
	}
	if cfg.AllowAnonymous == nil || !cfg.AllowAnonymous() {
		ctx := r.Context()
		cl := &auth.Client{Mountpoint: cfg.Mountpoint, ClientID: req.clientID, Username: req.user, ProtocolVersion: 4,
			CleanStart: true, Listener: "http_pub", Peer: peer(r)}
		if req.hasPassword {
			cl.Password = []byte(req.password)
		}
		d, rm := cfg.Chain.Register(ctx, cl, false)
		if d.Result != auth.OK {
			return &answer{http.StatusUnauthorized, "Authentication failure."}
		}
		if rm != nil {
			if rm.ClientID != nil && *rm.ClientID != req.clientID {
				return &answer{http.StatusUnauthorized, "Authentication failure."} // VerneMQ: cannot_override_clientid
			}
			if rm.Mountpoint != nil {
				cl.Mountpoint, m.Mountpoint = *rm.Mountpoint, *rm.Mountpoint
			}
			if rm.MaxMessageSize != nil {
				maxSize = *rm.MaxMessageSize
			}
		}
		pub := &auth.Publish{Topic: m.Topic, QoS: m.QoS, Retain: false, Payload: m.Payload}
		d, pm := cfg.Chain.AuthorizePublish(ctx, cl, pub)
		if d.Result != auth.OK {
			return &answer{http.StatusForbidden, "Authorization failure."}
		}
		if cfg.HasSession == nil || !cfg.HasSession(cl.Mountpoint, cl.ClientID) {
			cfg.Chain.Forget(cl.Mountpoint, cl.ClientID) // no session: plugins drop what they cached for the request
		}
		if pm != nil {
			if pm.Payload != nil {
				return &answer{http.StatusForbidden, "Authorization failure."} // VerneMQ: a changed payload is not supported
			}
			if pm.Topic != nil {
				m.Topic = *pm.Topic
			}
			if pm.QoS != nil {
				m.QoS = *pm.QoS
			}
			if pm.Mountpoint != nil {
				m.Mountpoint = *pm.Mountpoint
			}
		}
	}
	if maxSize > 1 && len(m.Payload) > maxSize {
		return &answer{http.StatusRequestEntityTooLarge, "Payload too large."}
	}
	done := make(chan error, 1)
	cfg.Publish(m, func(err error) { done <- err })
	if m.QoS > 0 {
		select {
		case err := <-done:
			if err != nil {
				cfg.Log.Error("REST publish: storing offline copies failed", "topic", m.Topic, "err", err)
				return &answer{http.StatusServiceUnavailable, "Publish failed: " + err.Error()}
			}
		case <-time.After(publishWait):
			return &answer{http.StatusServiceUnavailable, "Publish not confirmed within 10 s: the message store is slow"}
		case <-r.Context().Done():
			return &answer{http.StatusServiceUnavailable, "request cancelled"}
		}
	}
	cfg.Metrics.Published.Inc()
	return &answer{http.StatusOK, "Published"}
}

func peer(r *http.Request) net.Addr {
	if a, err := net.ResolveTCPAddr("tcp", r.RemoteAddr); err == nil {
		return a
	}
	return nil
}
