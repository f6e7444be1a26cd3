package webhooks

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// registerModifiers decodes auth_on_register(_m5) modifiers. Unknown keys
// are an error, as vmq_plugin_util:check_modifiers refuses them.
func registerModifiers(hook string, raw json.RawMessage) (*auth.RegisterModifiers, error) {
	kv, err := modifierObject(raw)
	if kv == nil || err != nil {
		return nil, err
	}
	m := &auth.RegisterModifiers{}
	for k, v := range kv {
		switch k {
		case "mountpoint":
			m.Mountpoint, err = ptr[string](v)
		case "client_id":
			m.ClientID, err = ptr[string](v)
		case "subscriber_id":
			var sid struct {
				Mountpoint *string `json:"mountpoint"`
				ClientID   *string `json:"client_id"`
			}
			err = json.Unmarshal(v, &sid)
			m.Mountpoint, m.ClientID = sid.Mountpoint, sid.ClientID
		case "username":
			m.Username, err = ptr[string](v)
		case "clean_session", "clean_start":
			m.CleanStart, err = ptr[bool](v)
		case "max_message_size":
			m.MaxMessageSize, err = ptr[int](v)
		case "max_message_rate":
			m.MaxMessageRate, err = ptr[int](v)
		case "max_inflight_messages":
			m.MaxInflight, err = ptr[int](v)
		case "max_online_messages":
			m.MaxOnlineMessages, err = ptr[int](v)
		case "max_offline_messages":
			m.MaxOfflineMessages, err = ptr[int](v)
		case "retry_interval":
			m.RetryInterval, err = millis(v)
		case "max_drain_time":
			m.MaxDrainTime, err = millis(v)
		case "max_msgs_per_drain_step":
			m.MaxMsgsPerDrainStep, err = ptr[int](v)
		case "upgrade_qos":
			m.UpgradeQoS, err = ptr[bool](v)
		case "queue_type":
			if m.QueueType, err = ptr[string](v); err == nil && *m.QueueType != "fifo" && *m.QueueType != "lifo" {
				err = fmt.Errorf("%q: want fifo or lifo", *m.QueueType)
			}
		case "shared_subscription_policy":
			m.SharedSubPolicy, err = ptr[string](v)
		case "reg_view":
			m.RegView, err = ptr[string](v)
		case "allow_register":
			m.AllowRegister, err = ptr[bool](v)
		case "allow_publish":
			m.AllowPublish, err = ptr[bool](v)
		case "allow_subscribe":
			m.AllowSubscribe, err = ptr[bool](v)
		case "allow_unsubscribe":
			m.AllowUnsubscribe, err = ptr[bool](v)
		case "session_expiry_interval":
			m.SessionExpiryInterval, err = ptr[uint32](v)
		case "max_packet_size":
			m.MaxPacketSize, err = ptr[uint32](v)
		case "receive_max", "fc_receive_max_client":
			m.ReceiveMax, err = receiveMax(v)
		case "fc_receive_max_broker":
			m.ReceiveMaxBroker, err = receiveMax(v)
		case "max_connection_lifetime":
			var n *int64
			if n, err = ptr[int64](v); err == nil {
				d := time.Duration(*n) * time.Second
				m.MaxConnectionLifetime = &d
			}
		case "topic_alias_max":
			m.TopicAliasMax, err = ptr[uint16](v)
		case "request_problem_info":
			m.RequestProblemInfo, err = ptr[bool](v)
		case "properties":
			if hook != "auth_on_register_m5" {
				return nil, fmt.Errorf("properties are an auth_on_register_m5 modifier")
			}
			var pr *packets.Properties
			if pr, err = decodeProps(hook, v); err == nil {
				if pr.SessionExpiry != nil {
					m.SessionExpiryInterval = pr.SessionExpiry
				}
				for _, u := range pr.User {
					m.UserProperties = append(m.UserProperties, auth.UserProperty{Key: u.Key, Value: u.Value})
				}
			}
		default:
			return nil, fmt.Errorf("unknown auth_on_register modifier %q", k)
		}
		if err != nil {
			return nil, fmt.Errorf("modifier %s: %w", k, err)
		}
	}
	if (m.Mountpoint == nil) != (m.ClientID == nil) && kv["subscriber_id"] != nil {
		return nil, fmt.Errorf("subscriber_id needs both mountpoint and client_id")
	}
	return m, nil
}

// publishModifiers decodes auth_on_publish(_m5) and on_deliver(_m5) modifiers; the
// payload is base64 when the endpoint has base64encode on. on_deliver may change only
// the topic, the payload and (m5) the properties, as vmq_plugin_util allows.
func publishModifiers(hook string, raw json.RawMessage, b64 bool) (*auth.PublishModifiers, error) {
	kv, err := modifierObject(raw)
	if kv == nil || err != nil {
		return nil, err
	}
	m := &auth.PublishModifiers{}
	deliver := strings.HasPrefix(hook, "on_deliver")
	for k, v := range kv {
		if deliver && k != "topic" && k != "payload" && (k != "properties" || hook != "on_deliver_m5") {
			return nil, fmt.Errorf("unknown %s modifier %q (allowed: topic, payload%s)", hook, k,
				map[bool]string{true: ", properties"}[hook == "on_deliver_m5"])
		}
		switch k {
		case "topic":
			m.Topic, err = ptr[string](v)
		case "qos":
			m.QoS, err = ptr[byte](v)
			if err == nil && *m.QoS > 2 {
				err = fmt.Errorf("qos must be 0..2")
			}
		case "retain":
			m.Retain, err = ptr[bool](v)
		case "mountpoint":
			m.Mountpoint, err = ptr[string](v)
		case "payload":
			var s string
			if err = json.Unmarshal(v, &s); err == nil {
				if b64 {
					m.Payload, err = base64.StdEncoding.DecodeString(s)
				} else {
					m.Payload = []byte(s)
				}
				if m.Payload == nil {
					m.Payload = []byte{}
				}
			}
		case "throttle":
			var d *time.Duration
			d, err = millis(v)
			if d != nil {
				m.Throttle = *d
			}
		case "message_expiry_interval":
			m.MessageExpiry, err = ptr[uint32](v)
		case "content_type":
			m.ContentType, err = ptr[string](v)
		case "response_topic":
			m.ResponseTopic, err = ptr[string](v)
		case "properties":
			if !strings.HasSuffix(hook, "_m5") {
				return nil, fmt.Errorf("properties are a %s_m5 modifier", hook)
			}
			m.Props, err = decodeProps(hook, v)
		default:
			return nil, fmt.Errorf("unknown %s modifier %q", hook, k)
		}
		if err != nil {
			return nil, fmt.Errorf("modifier %s: %w", k, err)
		}
	}
	return m, nil
}

// receiveMax is a Receive Maximum: 1..65535 (a value of 0 is a Protocol Error, MQTT 5 3.2.2.3.3).
func receiveMax(v json.RawMessage) (*uint16, error) {
	n, err := ptr[uint16](v)
	if err == nil && *n == 0 {
		err = fmt.Errorf("must be 1..65535")
	}
	return n, err
}

func ptr[T any](v json.RawMessage) (*T, error) {
	var x T
	if err := json.Unmarshal(v, &x); err != nil {
		return nil, err
	}
	return &x, nil
}

func millis(v json.RawMessage) (*time.Duration, error) {
	n, err := ptr[int64](v)
	if err != nil {
		return nil, err
	}
	d := time.Duration(*n) * time.Millisecond
	return &d, nil
}

// modifierObject decodes a "modifiers" value: nil for absent, null or empty.
func modifierObject(raw json.RawMessage) (map[string]json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var kv map[string]json.RawMessage
	if err := json.Unmarshal(raw, &kv); err != nil {
		return nil, fmt.Errorf("modifiers must be an object: %w", err)
	}
	if len(kv) == 0 {
		return nil, nil
	}
	return kv, nil
}

// authModifiers decodes on_auth_m5 modifiers: properties and reason_code (0 or
// "success"; 24 or "continue_authentication"), as vmq_plugin_util allows them.
func authModifiers(raw json.RawMessage) (*auth.AuthResult, error) {
	kv, err := modifierObject(raw)
	if err != nil {
		return nil, err
	}
	res := &auth.AuthResult{}
	for k, v := range kv {
		switch k {
		case "properties":
			pr, err := decodeProps("on_auth_m5", v)
			if err != nil {
				return nil, err
			}
			res.Method, res.Data, res.ReasonString = pr.AuthMethod, pr.AuthData, pr.ReasonString
		case "reason_code":
			var n json.Number
			var s string
			switch {
			case json.Unmarshal(v, &n) == nil:
				switch n.String() {
				case "0":
				case "24":
					res.Continue = true
				default:
					return nil, fmt.Errorf("reason_code %s: want 0 (success) or 24 (continue_authentication)", n)
				}
			case json.Unmarshal(v, &s) == nil && (s == "success" || s == "continue_authentication"):
				res.Continue = s == "continue_authentication"
			default:
				return nil, fmt.Errorf("reason_code %s: want 0 (success) or 24 (continue_authentication)", v)
			}
		default:
			return nil, fmt.Errorf("unknown on_auth_m5 modifier %q (allowed: properties, reason_code)", k)
		}
	}
	return res, nil
}
