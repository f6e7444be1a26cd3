package dbacl

import (
	"context"
	"log/slog"

	"github.com/vernemq-go/vernemq/pkg/auth"
)

// ReasonBackendDown is the refusal reason when the database cannot be asked.
const ReasonBackendDown = "auth_backend_unavailable"

// CodeServerUnavailable refuses a CONNECT while the database is down (v3 code 3).
const CodeServerUnavailable byte = 0x88

// Row is one vmq_auth_acl row (or document / value) found for a CONNECT.
type Row struct {
	ClientID     string      // the row's client_id, "*" for the default row
	PasswordOK   bool        // the password matched this row's hash (server-side check)
	Check        func() bool // client-side check (bcrypt); if set, used instead of PasswordOK
	PublishACL   []byte      // JSON array text, nil = none
	SubscribeACL []byte
}

// Authorizer is the part every vmq_diversity database backend shares:
// choosing the row at CONNECT, caching its ACLs, and answering
// auth_on_publish / auth_on_subscribe from the cache. Backends embed it.
type Authorizer struct {
	PluginName string
	Backend    string // "postgres", "mysql", ... for log lines
	Log        *slog.Logger
	Cache      *Cache
}

// NewAuthorizer returns an Authorizer with an empty cache.
func NewAuthorizer(name, backend string, log *slog.Logger) Authorizer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return Authorizer{PluginName: name, Backend: backend, Log: log, Cache: NewCache()}
}

// Name is the chain name.
func (a *Authorizer) Name() string { return a.PluginName }

// Forget evicts the client's ACLs (client gone / offline).
func (a *Authorizer) Forget(mountpoint, clientID string) { a.Cache.Forget(mountpoint, clientID) }

// Skip reports whether auth_on_register has nothing to check (no user name or
// password): VerneMQ's scripts answer false, which Refuse is.
func Skip(c *auth.Client) bool { return c.Username == "" || c.Password == nil }

// Refuse is what VerneMQ's auth scripts answer for every login they cannot match (no
// user name or password, no row for the user and client id, a wrong password): false,
// an error that ends the chain, refused with CONNACK 4 / 0x86. Another plugin further
// down the chain is not asked.
func Refuse() auth.Decision { return auth.Deny(auth.ReasonInvalidCredentials) }

// Down logs a database failure and refuses (fail closed).
func (a *Authorizer) Down(c *auth.Client, err error) auth.Decision {
	a.Log.Error("auth database unavailable; refusing the client until it is back (check the "+a.Backend+" server and vmq_diversity."+a.Backend+".* settings)",
		"plugin", a.PluginName, "client_id", c.ClientID, "username", c.Username, "err", err)
	return auth.Decision{Result: auth.Error, Reason: ReasonBackendDown, Code: CodeServerUnavailable}
}

// Register decides a CONNECT from the rows found for {mountpoint,
// client_id or '*', username}: no row, or no row whose password matches, refuses
// (Refuse); else the client-specific matching row wins over the '*' row and its
// ACLs are cached.
func (a *Authorizer) Register(c *auth.Client, rows []Row) auth.Decision {
	if len(rows) == 0 {
		return Refuse()
	}
	var pick *Row
	// Client-specific rows first; each hash is checked at most once (bcrypt is slow).
	for _, specific := range []bool{true, false} {
		for i := range rows {
			r := &rows[i]
			if (r.ClientID != "*") != specific {
				continue
			}
			if r.Check != nil {
				r.PasswordOK, r.Check = r.Check(), nil
			}
			if r.PasswordOK {
				pick = r
				break
			}
		}
		if pick != nil {
			break
		}
	}
	if pick == nil {
		return Refuse()
	}
	acls, err := ParseJSON(pick.PublishACL, pick.SubscribeACL, Who{Mountpoint: c.Mountpoint, ClientID: c.ClientID, Username: c.Username})
	if err != nil {
		a.Log.Error("bad ACL in auth database; refusing the client (fix the row's publish_acl/subscribe_acl)",
			"plugin", a.PluginName, "client_id", c.ClientID, "username", c.Username, "row_client_id", pick.ClientID, "err", err)
		return auth.Deny("invalid_acl")
	}
	a.Cache.Put(c.SubscriberID(), acls)
	return auth.Allow()
}

// Immediate: the authorization hooks answer from memory (auth.Immediate).
func (*Authorizer) Immediate() {}

// ReasonNotCached refuses a publish or subscribe of a client whose ACLs this plugin
// has not cached (it did not log in through it): VerneMQ's scripts answer false.
const ReasonNotCached = "not_authorized"

// AuthOnPublish answers from the cached ACLs; a client not logged in through this
// plugin is refused (VerneMQ's auth_on_publish script returns false), so only a plugin
// earlier in the chain can allow it.
func (a *Authorizer) AuthOnPublish(_ context.Context, c *auth.Client, p *auth.Publish) (auth.Decision, *auth.PublishModifiers) {
	acls := a.Cache.Get(c.SubscriberID())
	if acls == nil {
		return auth.Deny(ReasonNotCached), nil
	}
	ok, m := acls.MatchPublish(p.Topic, p.QoS, len(p.Payload), p.Retain)
	if !ok {
		return auth.Deny("not_authorized"), nil
	}
	if m == nil {
		return auth.Allow(), nil
	}
	pm := &auth.PublishModifiers{Topic: m.Topic, QoS: m.QoS, Retain: m.Retain, Mountpoint: m.Mountpoint}
	if m.Payload != nil {
		pm.Payload = []byte(*m.Payload)
	}
	return auth.Allow(), pm
}

// AuthOnSubscribe needs every filter to match; a matching ACL with
// modifiers replaces that filter by its [topic, qos] list.
func (a *Authorizer) AuthOnSubscribe(_ context.Context, c *auth.Client, topics []auth.Topic) (auth.Decision, []auth.Topic) {
	acls := a.Cache.Get(c.SubscriberID())
	if acls == nil {
		return auth.Deny(ReasonNotCached), nil // as AuthOnPublish
	}
	var out []auth.Topic
	changed := false
	for _, t := range topics {
		ok, mods := acls.MatchSubscribe(t.Filter, t.QoS)
		if !ok {
			return auth.Deny("not_authorized"), nil
		}
		if mods == nil {
			out = append(out, t)
			continue
		}
		changed = true
		for _, m := range mods {
			out = append(out, auth.Topic{Filter: m.Topic, QoS: m.QoS})
		}
	}
	if !changed {
		return auth.Allow(), nil
	}
	return auth.Allow(), out
}

// AuthOnRegisterWith is the auth_on_register of a backend: clients without credentials
// are refused, a lookup error fails closed (Down), rows decide (Register).
func (a *Authorizer) AuthOnRegisterWith(c *auth.Client, lookup func() ([]Row, error)) auth.Decision {
	if Skip(c) {
		return Refuse()
	}
	rows, err := lookup()
	if err != nil {
		return a.Down(c, err)
	}
	return a.Register(c, rows)
}
