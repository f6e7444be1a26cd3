package conn

import (
	"context"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// ownsSession is session_binding's check: no session of id on this node, or one
// created by the same user name (the mountpoint is part of id). Without it, any
// user who knows a client id takes over its session, queue and subscriptions
// (MQTT 5 §5.4.2). A session on another cluster node is not checked.
func (c *client) ownsSession(id topics.SubscriberID, username string) bool {
	s := c.srv.Broker.Session(id)
	if s == nil {
		return true
	}
	info, _ := s.Info()
	if info.Username == username {
		return true
	}
	c.srv.Log.Warn("connection refused: session of another user", "client_id", id.ClientID,
		"mountpoint", id.Mountpoint, "user", username, "peer", c.peer.Addr)
	return false
}

// reauthorizeSubs asks auth_on_subscribe again for the subscriptions of the session a
// client is about to resume and drops those refused now (the ACL may have changed since,
// or the session came from elsewhere). It runs on the offline session, before the CONNACK.
func (c *client) reauthorizeSubs(ctx context.Context, id topics.SubscriberID) {
	s := c.srv.Broker.Session(id)
	if s == nil || c.auth == nil {
		return
	}
	if drop := c.srv.reauthorize(ctx, s, c.auth); len(drop) > 0 {
		c.srv.Log.Info("resumed session: subscriptions no longer authorized removed", "client_id", id.ClientID, "filters", drop)
	}
}

// Reauthorize is vmq-admin session reauthorize: auth_on_subscribe is asked again, as user,
// for each subscription of the session id on this node, and those refused now are
// removed; it returns their filters. An ACL file or database changed since a client
// subscribed then takes effect without waiting for it to reconnect.
func (srv *Server) Reauthorize(ctx context.Context, id topics.SubscriberID, user string) ([]string, bool) {
	s := srv.Broker.Session(id)
	if s == nil {
		return nil, false
	}
	info, _ := s.Info()
	ac := &auth.Client{Mountpoint: id.Mountpoint, ClientID: id.ClientID, Username: user, ProtocolVersion: info.Protocol}
	drop := srv.reauthorize(ctx, s, ac)
	if len(drop) > 0 {
		srv.Log.Info("session reauthorized: subscriptions no longer authorized removed", "client_id", id.ClientID,
			"mountpoint", id.Mountpoint, "user", user, "filters", drop)
	}
	return drop, true
}

// reauthorize asks auth_on_subscribe for each subscription of s as ac and unsubscribes
// those refused (or left out of a rewritten answer), returning their filters.
func (srv *Server) reauthorize(ctx context.Context, s *session.Session, ac *auth.Client) []string {
	// One call per filter: a plugin answers a list as a whole (vmq_acl refuses it for one
	// bad filter), and one filter refused now must not cost the others.
	var drop []string
	for _, sub := range s.Subs() {
		dec, granted := srv.Auth.AuthorizeSubscribe(ctx, ac, []auth.Topic{{Filter: sub.Filter, QoS: sub.Options.QoS}})
		if dec.Result != auth.OK || len(granted) == 0 || granted[0].QoS > 2 {
			drop = append(drop, sub.Filter)
		}
	}
	if len(drop) > 0 {
		srv.Broker.Unsubscribe(s, drop)
	}
	return drop
}
