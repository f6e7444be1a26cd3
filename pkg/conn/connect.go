package conn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// handshake reads CONNECT, authenticates, registers the session and queues CONNACK.
func (c *client) handshake(ctx context.Context) bool {
	st := c.srv.settings.Load()
	c.nc.SetReadDeadline(time.Now().Add(st.ConnectTimeout))
	// Decoded into a scratch: nothing keeps the CONNECT itself past the handshake (its
	// strings, will and properties are its own), and it was an allocation per connection.
	sc := scratchPool.Get().(*packets.Scratch)
	defer putScratch(sc)
	p, err := packets.ReadPacketInto(c.br, 0, c.maxConnectSize(), sc)
	if err != nil {
		var pe *packets.Error
		if errors.As(err, &pe) {
			c.srv.Log.Info("closing connection: bad CONNECT", "peer", c.peer.Addr, "reason", pe.Code.String(), "error", pe.Msg)
			if pe.Code == packets.UnsupportedProtocolVersion {
				// Answer in 3.1.1 form: the client may not speak v5 [MQTT-3.1.2-2].
				c.version = packets.V311
				c.packet(&packets.Connack{ReasonCode: packets.ConnRefusedProtocolVersion})
			}
		} else if errors.Is(err, os.ErrDeadlineExceeded) {
			c.srv.Metrics.SocketCloseTimeout.Inc()
		}
		return false
	}
	cp, ok := p.(*packets.Connect)
	if !ok {
		return false // the first packet must be CONNECT [MQTT-3.1.0-1]
	}
	c.version = packets.ConnectVersion(cp)
	c.pm().ConnectReceived.Inc()
	if len(c.peer.AllowedProtocolVersions) > 0 && !slices.Contains(c.peer.AllowedProtocolVersions, c.version) &&
		!slices.Contains(c.peer.AllowedProtocolVersions, cp.ProtocolLevel) {
		c.refuse(packets.UnsupportedProtocolVersion, "protocol version not allowed on this listener")
		return false
	}

	clientID, assigned := cp.ClientID, ""
	if clientID == "" {
		// 3.1 needs an id; 3.1.1 only with clean session; v5 gets one assigned [MQTT-3.1.3-6..8].
		if c.version == packets.V31 || (c.version == packets.V311 && !cp.CleanStart) {
			c.refuse(packets.ClientIDNotValid, "empty client id")
			return false
		}
		clientID = randomID()
		if c.version == packets.V5 {
			assigned = clientID
		}
	}
	if len(clientID) > st.MaxClientIDSize && st.MaxClientIDSize > 0 {
		c.refuse(packets.ClientIDNotValid, "client id longer than max_client_id_size")
		return false
	}

	username := ""
	if cp.Username != nil {
		username = *cp.Username
	}
	if c.peer.CNAsUsername && c.peer.CN != "" {
		username = c.peer.CN // use_identity_as_username / proxy_protocol_use_cn_as_username
	}
	if !utf8.ValidString(username) {
		c.refuse(packets.MalformedPacket, "user name is not UTF-8")
		return false
	}
	ac := &auth.Client{
		Mountpoint: c.peer.Mountpoint, ClientID: clientID, Username: username, Password: cp.Password,
		Peer: c.peer.Addr, ProtocolVersion: cp.ProtocolLevel, CleanStart: cp.CleanStart,
		Listener: c.peer.Listener, CN: c.peer.CN, Props: cp.Props,
	}
	if cp.Props != nil && cp.Props.AuthMethod != "" && !c.connectAuth(ctx, ac, cp) {
		return false // enhanced authentication (on_auth_m5) refused; then auth_on_register decides, as VerneMQ
	}
	if th := c.srv.Throttle; th != nil && th.Blocked(c.peer.Addr, time.Now()) {
		c.refuse(packets.ConnectionRateExceeded, "too many failed logins from this address; try later")
		return false
	}
	dec, mods := c.srv.Auth.Register(ctx, ac, c.peer.AllowAnonymousOverride)
	if dec.Result != auth.OK {
		code := packets.NotAuthorized
		if dec.Code != 0 {
			code = packets.ReasonCode(dec.Code)
		} else if dec.Reason == auth.ReasonInvalidCredentials {
			code = packets.BadUsernameOrPassword
		}
		if st.UniformAuthFailure && code == packets.BadUsernameOrPassword {
			code = packets.NotAuthorized // unknown user and wrong password answer alike
		}
		if c.srv.Throttle != nil {
			c.srv.Throttle.Fail(c.peer.Addr, time.Now())
		}
		c.srv.Log.Info("connection refused", "client_id", clientID, "peer", c.peer.Addr, "user", username, "reason", dec.Reason)
		c.refuse(code, dec.Reason)
		return false
	}
	cleanStart := cp.CleanStart
	c.maxRate = 0
	c.aliasMax = st.TopicAliasMaxBroker
	var allowRegister *bool
	if mods != nil {
		c.applyRegisterModifiers(ac, mods, &cleanStart)
		allowRegister = mods.AllowRegister
	}
	// The session registered is the modifiers' (VerneMQ's register_subscriber after auth_on_register).
	if !c.srv.allowedRegister(ac.Mountpoint, ac.ClientID, allowRegister) {
		c.refuse(packets.ServerUnavailable, "cluster netsplit: the client's session is on an unreachable node (allow_register_during_netsplit = off)")
		return false
	}
	c.auth = ac
	c.mountpoint = ac.Mountpoint
	keepAlive, serverKeepAlive := capKeepAlive(cp.KeepAlive, st.MaxKeepAlive, c.version)
	c.keepAlive = time.Duration(keepAlive) * time.Second
	if c.maxRate == 0 {
		c.maxRate = st.MaxMessageRate
	}

	persistent, expiry := false, uint32(0)
	recvMax, maxPkt, aliasOut := 0, uint32(0), uint16(0)
	if c.version == packets.V5 {
		if cp.Props != nil {
			if cp.Props.TopicAliasMaximum != nil {
				aliasOut = min(*cp.Props.TopicAliasMaximum, st.TopicAliasMaxClient)
			}
			if cp.Props.SessionExpiry != nil {
				expiry = *cp.Props.SessionExpiry
			}
			if cp.Props.ReceiveMaximum != nil {
				recvMax = int(*cp.Props.ReceiveMaximum)
			}
			if st.ReceiveMaxClient > 0 && (recvMax == 0 || recvMax > int(st.ReceiveMaxClient)) {
				recvMax = int(st.ReceiveMaxClient) // min(client's Receive Maximum, receive_max_client)
			}
			if cp.Props.MaximumPacketSize != nil {
				maxPkt = *cp.Props.MaximumPacketSize
			}
		}
		if mods != nil {
			expiry, recvMax, maxPkt = registerV5(mods, expiry, recvMax, maxPkt)
		}
		persistent = expiry > 0
	} else if !cleanStart {
		persistent, expiry = true, st.PersistentClientExpiration
		if expiry == 0 {
			expiry = broker.NeverExpire
		}
	}
	c.expiry = expiry

	will, code, why := c.will(ctx, cp, st)
	if code != 0 {
		c.refuse(code, why)
		return false
	}

	id := topics.SubscriberID{Mountpoint: c.mountpoint, ClientID: ac.ClientID}
	if st.SessionBinding {
		if !c.ownsSession(id, username) {
			c.refuse(packets.NotAuthorized, "the client id's session belongs to another user")
			return false
		}
		if !cleanStart {
			c.reauthorizeSubs(ctx, id) // before the CONNACK: nothing flows through a stale grant
		}
	}
	req := broker.ConnectRequest{
		ID: id, CleanStart: cleanStart, Persistent: persistent, Expiry: expiry, Link: c,
		Info: session.Info{
			Username: username, Peer: c.peer.Addr, Listener: c.peer.Listener, Protocol: c.version,
			CleanStart: cleanStart, KeepAlive: keepAlive, Connected: time.Now(), TopicAliasMax: aliasOut,
		},
		RecvMax: recvMax, MaxPacket: maxPkt, Will: will, Limits: c.sessionLimits(mods),
		Connack: connackV3,
		// On plain TCP this reader writes the CONNACK at once (below), as it writes its other
		// answers: starting the session's flusher goroutine for it cost more than the write.
		Corked: c.out.raw != nil,
	}
	if c.version == packets.V5 {
		req.Connack = func(present bool) packets.Packet { return c.connack(present, assigned, serverKeepAlive, st) }
	}
	c.sess, _ = c.srv.Broker.Connect(ctx, req)
	if req.Corked {
		c.corked = true
		c.uncork() // before on_register, which may wait on a webhook
	}
	c.srv.Auth.NotifyRegister(ac) // with the CONNECT properties (on_register_m5)
	ac.Props = nil
	if c.srv.Log.Enabled(ctx, slog.LevelDebug) { // its arguments would cost an allocation even when off
		c.srv.Log.Debug("client connected", "client_id", ac.ClientID, "peer", c.peer.Addr, "protocol", c.version)
	}
	return true
}

// capKeepAlive applies max_keepalive: a keep alive above the cap, or 0 (none), becomes
// the cap. An MQTT 5 client is told with Server Keep Alive [MQTT-3.2.2-21]; a 3.x
// client cannot be told, and is held to the cap all the same (disconnected after
// 1.5 times it of silence). The second result is the Server Keep Alive to send, or nil.
func capKeepAlive(client, limit uint16, version byte) (uint16, *uint16) {
	if limit == 0 || (client != 0 && client <= limit) {
		return client, nil
	}
	if version == packets.V5 {
		ann := limit // not &limit: that moved the parameter to the heap on every CONNECT
		return limit, &ann
	}
	return limit, nil
}

// connackV3 is the CONNACK of an accepted 3.x client: nothing in it is the client's, so
// the two possible packets are shared (they are only encoded), and the request needs no
// closure; one each cost two allocations per CONNECT (issue 19).
func connackV3(present bool) packets.Packet {
	if present {
		return &connackV3Packets[1]
	}
	return &connackV3Packets[0]
}

var connackV3Packets = [2]packets.Connack{{ReasonCode: packets.Success}, {SessionPresent: true, ReasonCode: packets.Success}}

// connack is an MQTT 5 client's CONNACK, with its properties.
func (c *client) connack(present bool, assigned string, serverKeepAlive *uint16, st *Settings) packets.Packet {
	ack := &packets.Connack{SessionPresent: present, ReasonCode: packets.Success}
	if c.version == packets.V5 {
		props := &packets.Properties{AssignedClientID: assigned, ServerKeepAlive: serverKeepAlive}
		if a := c.enh.connack; a != nil {
			props.AuthMethod, props.AuthData, props.ReasonString = a.AuthMethod, a.AuthData, a.ReasonString
		}
		if rm := c.receiveMaxBroker(st); rm > 0 && rm < 65535 {
			props.ReceiveMaximum = &rm
		}
		if c.aliasMax > 0 {
			am := c.aliasMax
			props.TopicAliasMaximum = &am
		}
		ack.Props = props
	}
	return ack
}

// refuse sends a failure CONNACK (3.1.1 return codes for older clients) [MQTT-3.2.2-6].
func (c *client) refuse(code packets.ReasonCode, why string) {
	c.reasonSent("connack", code) // the v5 code: more precise than the v3 return code it maps to
	if c.version != packets.V5 {
		code = v3ConnackCode(code)
	}
	ack := &packets.Connack{ReasonCode: code}
	if c.version == packets.V5 && why != "" {
		ack.Props = &packets.Properties{ReasonString: why}
	}
	c.packet(ack)
}

func v3ConnackCode(code packets.ReasonCode) packets.ReasonCode {
	switch code {
	case packets.UnsupportedProtocolVersion:
		return packets.ConnRefusedProtocolVersion
	case packets.ClientIDNotValid:
		return packets.ConnRefusedIdentifier
	case packets.BadUsernameOrPassword:
		return packets.ConnRefusedBadCredentials
	case packets.NotAuthorized, packets.BadAuthenticationMethod:
		return packets.ConnRefusedNotAuthorized
	default:
		return packets.ConnRefusedServerUnavailable
	}
}

// will validates and authorizes the last will (VerneMQ runs auth_on_publish for it at connect).
func (c *client) will(ctx context.Context, cp *packets.Connect, st *Settings) (*broker.Will, packets.ReasonCode, string) {
	w := cp.Will
	if w == nil {
		return nil, 0, ""
	}
	if err := topics.ValidateTopic(w.Topic, st.TopicMaxDepth); err != nil {
		return nil, packets.TopicNameInvalid, "will topic: " + err.Error()
	}
	pub := &auth.Publish{Topic: w.Topic, QoS: w.QoS, Retain: w.Retain, Payload: w.Payload, Props: w.Props}
	dec, mods := c.srv.Auth.AuthorizePublish(ctx, c.auth, pub)
	if dec.Result != auth.OK {
		return nil, packets.NotAuthorized, "will not authorized"
	}
	m := &session.Message{Mountpoint: c.mountpoint, Topic: w.Topic, Payload: w.Payload, QoS: w.QoS, Retain: w.Retain, From: c.auth.ClientID}
	var delay uint32
	if w.Props != nil {
		if w.Props.WillDelay != nil {
			delay = *w.Props.WillDelay
		}
		m.Props, m.Expiry = appProps(w.Props)
	}
	if st.MaxLastWillDelay >= 0 && int64(delay) > st.MaxLastWillDelay {
		delay = uint32(st.MaxLastWillDelay)
	}
	applyPublishModifiers(m, mods)
	return &broker.Will{Msg: m, Delay: delay}, 0, ""
}

func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return "vmq-" + hex.EncodeToString(b[:])
}
