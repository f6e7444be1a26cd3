package conn

import (
	"context"
	"errors"
	"time"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// maxAuthRounds bounds the AUTH exchanges of one authentication, so a client (or a
// plugin) that never concludes costs a bounded amount.
const maxAuthRounds = 16

// enhanced is the MQTT 5 enhanced authentication state of a connection (on_auth_m5).
type enhanced struct {
	method    string              // the CONNECT's Authentication Method; "" = not used
	reauthing bool                // a re-authentication is waiting for the client's next AUTH (0x18)
	rounds    int                 // AUTH exchanges of the current (re-)authentication
	connack   *packets.Properties // method, data and reason string for the CONNACK
}

// authCode is the reason code refusing an enhanced authentication: the plugin's, or 0x8C
// (bad authentication method) when no plugin took the method, else 0x87.
func authCode(d auth.Decision) packets.ReasonCode {
	switch {
	case d.Reason == auth.ReasonNoMatchingHook || d.Reason == auth.ReasonChainExhausted:
		return packets.BadAuthenticationMethod
	case d.Code != 0:
		return packets.ReasonCode(d.Code)
	}
	return packets.NotAuthorized
}

// authProps are the properties of an AUTH or CONNACK answering a round.
func authProps(method string, r *auth.AuthResult) *packets.Properties {
	return &packets.Properties{AuthMethod: method, AuthData: r.Data, ReasonString: r.ReasonString}
}

// connectAuth runs the enhanced authentication a CONNECT asks for (it carries an
// Authentication Method): on_auth_m5 rounds, each continue (0x18) answered by the client
// with an AUTH 0x18 of the same method, before the CONNACK [MQTT-4.12.0-1..4]. It
// refuses with a CONNACK and returns false on failure.
func (c *client) connectAuth(ctx context.Context, ac *auth.Client, cp *packets.Connect) bool {
	method, props := cp.Props.AuthMethod, cp.Props
	st := c.srv.settings.Load()
	for round := 1; ; round++ {
		ac.Props = props
		d, res := c.srv.Auth.Auth(ctx, ac, &auth.AuthRequest{Method: method, Data: props.AuthData})
		ac.Props = cp.Props
		if d.Result != auth.OK {
			c.srv.Log.Info("connection refused: enhanced authentication failed", "client_id", ac.ClientID, "peer", c.peer.Addr, "method", method, "reason", d.Reason)
			c.refuse(authCode(d), d.Reason)
			return false
		}
		if res.Method != "" && res.Method != method {
			c.refuse(packets.BadAuthenticationMethod, "plugin answered for another authentication method")
			return false
		}
		if !res.Continue {
			c.enh.method, c.enh.connack = method, authProps(method, res)
			return true
		}
		if round >= maxAuthRounds {
			c.refuse(packets.NotAuthorized, "too many authentication rounds")
			return false
		}
		c.packet(&packets.Auth{ReasonCode: packets.ContinueAuthentication, Props: authProps(method, res)})
		c.nc.SetReadDeadline(time.Now().Add(st.ConnectTimeout))
		p, err := packets.ReadPacket(c.br, c.version, c.maxSize())
		if err != nil {
			var pe *packets.Error
			if errors.As(err, &pe) {
				c.refuse(pe.Code, pe.Msg)
			}
			return false
		}
		switch a := p.(type) {
		case *packets.Auth:
			c.pm().AuthReceived.Inc(a.ReasonCode)
			if a.ReasonCode != packets.ContinueAuthentication || a.Props == nil || a.Props.AuthMethod != method {
				// The client must continue with 0x18 and the CONNECT's method [MQTT-4.12.0-5].
				c.refuse(packets.ProtocolError, "AUTH during CONNECT must continue (0x18) with the CONNECT's authentication method")
				return false
			}
			props = a.Props
		case *packets.Disconnect:
			c.pm().DisconnectReceived.Inc(a.ReasonCode)
			return false
		default:
			c.refuse(packets.ProtocolError, "only AUTH may follow a CONNECT until the CONNACK")
			return false
		}
	}
}

// authPacket handles an AUTH on a live connection: a re-authentication (0x19) or one of
// its continue rounds (0x18) [MQTT-4.12.1]. A failure ends the connection with a
// DISCONNECT carrying the reason code; the session stays as it is.
func (c *client) authPacket(ctx context.Context, a *packets.Auth) (bool, bool) {
	e := &c.enh
	switch {
	case e.method == "":
		return c.authFail(packets.ProtocolError, "AUTH from a client that did not use enhanced authentication at CONNECT") // [MQTT-3.15.2-1]
	case a.Props == nil || a.Props.AuthMethod != e.method:
		return c.authFail(packets.ProtocolError, "AUTH with another authentication method than CONNECT's") // [MQTT-4.12.1-1]
	case e.reauthing && a.ReasonCode != packets.ContinueAuthentication,
		!e.reauthing && a.ReasonCode != packets.ReAuthenticate:
		return c.authFail(packets.ProtocolError, "AUTH with an unexpected reason code "+a.ReasonCode.String())
	}
	if !e.reauthing {
		e.rounds = 0
	}
	e.rounds++
	c.beforePlugin()
	c.auth.Props = a.Props
	d, res := c.srv.Auth.Auth(ctx, c.auth, &auth.AuthRequest{Method: e.method, Data: a.Props.AuthData, ReAuth: true})
	c.auth.Props = nil
	c.afterPlugin()
	switch {
	case d.Result != auth.OK:
		return c.authFail(authCode(d), "re-authentication failed: "+d.Reason)
	case res.Method != "" && res.Method != e.method:
		return c.authFail(packets.BadAuthenticationMethod, "plugin answered for another authentication method")
	case res.Continue && e.rounds >= maxAuthRounds:
		return c.authFail(packets.NotAuthorized, "too many re-authentication rounds")
	}
	code := packets.Success
	if res.Continue {
		code = packets.ContinueAuthentication
	}
	e.reauthing = res.Continue
	c.sess.Send(c, &packets.Auth{ReasonCode: code, Props: authProps(e.method, res)})
	return false, false
}

// authFail ends the connection after a failed or malformed re-authentication, with the
// reason code in a DISCONNECT (a kick waits a bounded time for a write in progress).
func (c *client) authFail(code packets.ReasonCode, msg string) (bool, bool) {
	c.srv.Log.Info("closing connection: enhanced authentication", "client_id", c.clientID(), "peer", c.peer.Addr,
		"reason", code.String(), "error", msg)
	c.Kick(code)
	return true, false
}
