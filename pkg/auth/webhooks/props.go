package webhooks

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// encodeProps is vmq_webhooks' encode_props: MQTT 5 properties keyed by VerneMQ's
// property names (p_session_expiry_interval, ...). User property keys and values and the
// authentication data are always base64 (VerneMQ's maybe_b64encode sees no option that
// turns it off); everything else is plain JSON. nil gives {} as VerneMQ sends an empty map.
func encodeProps(p *packets.Properties) map[string]any {
	out := map[string]any{}
	if p == nil {
		return out
	}
	if p.PayloadFormat != nil {
		out["p_payload_format_indicator"] = payloadFormatName(*p.PayloadFormat)
	}
	putU32 := func(k string, v *uint32) {
		if v != nil {
			out[k] = *v
		}
	}
	putU16 := func(k string, v *uint16) {
		if v != nil {
			out[k] = *v
		}
	}
	putStr := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	putBool := func(k string, v *byte) {
		if v != nil {
			out[k] = *v != 0
		}
	}
	putU32("p_message_expiry_interval", p.MessageExpiry)
	putStr("p_content_type", p.ContentType)
	putStr("p_response_topic", p.ResponseTopic)
	if p.CorrelationData != nil {
		out["p_correlation_data"] = string(p.CorrelationData) // a binary, sent as a JSON string (jsx)
	}
	if len(p.SubscriptionIDs) > 0 {
		out["p_subscription_id"] = p.SubscriptionIDs
	}
	putU32("p_session_expiry_interval", p.SessionExpiry)
	putStr("p_assigned_client_id", p.AssignedClientID)
	putU16("p_server_keep_alive", p.ServerKeepAlive)
	putStr("p_authentication_method", p.AuthMethod)
	if p.AuthData != nil {
		out["p_authentication_data"] = base64.StdEncoding.EncodeToString(p.AuthData)
	}
	putBool("p_request_problem_info", p.RequestProblemInfo)
	putU32("p_will_delay_interval", p.WillDelay)
	putBool("p_request_response_info", p.RequestResponseInfo)
	putStr("p_response_info", p.ResponseInfo)
	putStr("p_server_ref", p.ServerReference)
	putStr("p_reason_string", p.ReasonString)
	putU16("p_receive_max", p.ReceiveMaximum)
	putU16("p_topic_alias_max", p.TopicAliasMaximum)
	putU16("p_topic_alias", p.TopicAlias)
	if p.MaximumQoS != nil {
		out["p_max_qos"] = *p.MaximumQoS
	}
	putBool("p_retain_available", p.RetainAvailable)
	if len(p.User) > 0 {
		ups := make([]map[string]string, len(p.User))
		for i, u := range p.User {
			ups[i] = map[string]string{"key": b64(u.Key), "val": b64(u.Value)}
		}
		out["p_user_property"] = ups
	}
	putU32("p_max_packet_size", p.MaximumPacketSize)
	putBool("p_wildcard_subs_available", p.WildcardSubAvailable)
	putBool("p_sub_ids_available", p.SubIDAvailable)
	putBool("p_shared_subs_available", p.SharedSubAvailable)
	return out
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// payloadFormatName is VerneMQ's atom for the payload format indicator.
func payloadFormatName(b byte) string {
	if b == 1 {
		return "utf8"
	}
	return "unspecified"
}

// propsAllowed lists, per hook, the properties a "properties" modifier may carry
// (vmq_plugin_util's modifiers/1); any other is refused as VerneMQ refuses it.
var propsAllowed = map[string][]string{
	"auth_on_register_m5": {"p_user_property", "p_session_expiry_interval"},
	"auth_on_publish_m5": {"p_user_property", "p_message_expiry_interval", "p_content_type",
		"p_payload_format_indicator", "p_response_topic", "p_correlation_data", "p_will_delay_interval"},
	"on_deliver_m5": {"p_content_type", "p_payload_format_indicator", "p_user_property",
		"p_response_topic", "p_correlation_data"},
	"on_unsubscribe_m5":    {"p_reason_string", "p_user_property"},
	"auth_on_subscribe_m5": {"p_reason_string", "p_user_property"},
	"on_auth_m5":           {"p_authentication_method", "p_authentication_data", "p_reason_string"},
}

// decodeProps reads a "properties" modifier of hook into packet properties.
func decodeProps(hook string, raw json.RawMessage) (*packets.Properties, error) {
	var kv map[string]json.RawMessage
	if err := json.Unmarshal(raw, &kv); err != nil {
		return nil, fmt.Errorf("properties must be an object: %w", err)
	}
	p := &packets.Properties{}
	allowed := propsAllowed[hook]
	for k, v := range kv {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			return nil, fmt.Errorf("property %q is not allowed in %s modifiers (allowed: %v)", k, hook, allowed)
		}
		var err error
		switch k {
		case "p_user_property":
			var ups []struct{ Key, Val string }
			if err = json.Unmarshal(v, &ups); err == nil {
				for _, u := range ups {
					key, e1 := base64.StdEncoding.DecodeString(u.Key)
					val, e2 := base64.StdEncoding.DecodeString(u.Val)
					if e1 != nil || e2 != nil {
						return nil, fmt.Errorf("p_user_property: key and val must be base64")
					}
					p.User = append(p.User, packets.UserProperty{Key: string(key), Value: string(val)})
				}
			}
		case "p_session_expiry_interval":
			p.SessionExpiry, err = ptr[uint32](v)
		case "p_message_expiry_interval":
			p.MessageExpiry, err = ptr[uint32](v)
		case "p_will_delay_interval":
			p.WillDelay, err = ptr[uint32](v)
		case "p_content_type":
			err = json.Unmarshal(v, &p.ContentType)
		case "p_response_topic":
			err = json.Unmarshal(v, &p.ResponseTopic)
		case "p_reason_string":
			err = json.Unmarshal(v, &p.ReasonString)
		case "p_authentication_method":
			err = json.Unmarshal(v, &p.AuthMethod)
		case "p_correlation_data":
			var s string
			if err = json.Unmarshal(v, &s); err == nil {
				p.CorrelationData = []byte(s)
			}
		case "p_authentication_data":
			var s string
			if err = json.Unmarshal(v, &s); err == nil {
				p.AuthData, err = base64.StdEncoding.DecodeString(s)
				if err == nil && p.AuthData == nil {
					p.AuthData = []byte{}
				}
			}
		case "p_payload_format_indicator":
			var s string
			if err = json.Unmarshal(v, &s); err == nil {
				switch s {
				case "utf8":
					one := byte(1)
					p.PayloadFormat = &one
				case "undefined", "unspecified":
				default:
					err = fmt.Errorf("must be \"utf8\" or \"undefined\"")
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", k, err)
		}
	}
	return p, nil
}

// retainHandlingName is VerneMQ's name of the retain handling subscription option.
func retainHandlingName(rh byte) string {
	switch rh {
	case 1:
		return "send_if_new_sub"
	case 2:
		return "dont_send"
	}
	return "send_retain"
}

// subTopics is the "topics" list of (auth_)on_subscribe bodies; m5 adds the options.
func subTopics(topics []auth.Topic, m5 bool) []map[string]any {
	ts := make([]map[string]any, len(topics))
	for i, t := range topics {
		e := map[string]any{"topic": t.Filter, "qos": int(t.QoS)}
		if m5 && t.QoS <= 2 {
			e["no_local"], e["rap"], e["retain_handling"] = t.NoLocal, t.RetainAsPublished, retainHandlingName(t.RetainHandling)
		}
		ts[i] = e
	}
	return ts
}
