package conn

import (
	"context"

	"github.com/vernemq-go/vernemq/pkg/auth"
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
	if s == nil {
		return
	}
	subs := s.Subs()
	if len(subs) == 0 {
		return
	}
	ac := c.auth
	if ac == nil {
		return
	}
	// One call per filter: a plugin answers a list as a whole (vmq_acl refuses it for one
	// bad filter), and one filter refused now must not cost the others.
	var drop []string
	for _, sub := range subs {
		dec, granted := c.srv.Auth.AuthorizeSubscribe(ctx, ac, []auth.Topic{{Filter: sub.Filter, QoS: sub.Options.QoS}})
		if dec.Result != auth.OK || (len(granted) == 1 && granted[0].QoS == auth.CodeSubRejected) {
			drop = append(drop, sub.Filter)
		}
	}
	if len(drop) > 0 {
		c.srv.Broker.Unsubscribe(s, drop)
		c.srv.Log.Info("resumed session: subscriptions no longer authorized removed", "client_id", id.ClientID, "filters", drop)
	}
}
