package webhooks

import (
	"encoding/json"
	"testing"
	"time"
)

// auth_on_register_m5 modifiers as a webhook returns them (VerneMQ's names), decoded
// into what pkg/conn applies; values VerneMQ refuses are refused.
func TestRegisterModifiersM5(t *testing.T) {
	m, err := registerModifiers("auth_on_register_m5", json.RawMessage(`{"properties":{"p_session_expiry_interval":7,
		"p_user_property":[{"key":"azE=","val":"djE="}]},"fc_receive_max_client":3,"fc_receive_max_broker":9,
		"topic_alias_max":4,"max_packet_size":512,"max_message_size":100,"max_connection_lifetime":60,
		"allow_publish":true,"clean_start":false}`))
	if err != nil {
		t.Fatal(err)
	}
	if *m.SessionExpiryInterval != 7 || *m.ReceiveMax != 3 || *m.ReceiveMaxBroker != 9 || *m.TopicAliasMax != 4 ||
		*m.MaxPacketSize != 512 || *m.MaxMessageSize != 100 || *m.MaxConnectionLifetime != time.Minute ||
		!*m.AllowPublish || *m.CleanStart || len(m.UserProperties) != 1 || m.UserProperties[0].Key != "k1" {
		t.Fatalf("decoded %+v", m)
	}
	for _, bad := range []string{
		`{"fc_receive_max_broker":0}`, `{"fc_receive_max_client":70000}`, `{"topic_alias_max":-1}`,
		`{"properties":{"p_max_qos":0}}`, `{"bogus":1}`, `{"max_connection_lifetime":"x"}`, `{"queue_type":"stack"}`,
	} {
		if _, err := registerModifiers("auth_on_register_m5", json.RawMessage(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := registerModifiers("auth_on_register", json.RawMessage(`{"properties":{"p_session_expiry_interval":1}}`)); err == nil {
		t.Error("properties accepted from auth_on_register (v3)")
	}
}
