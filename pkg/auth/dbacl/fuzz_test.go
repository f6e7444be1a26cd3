package dbacl

import "testing"

// publish_acl and subscribe_acl columns as a database holds them (written by any tool, or
// damaged) parse to an error or to ACLs that match any topic without a panic; an identity
// of wildcards never lets a %c/%u/%m pattern grant a subscription to a wildcard filter.
func FuzzParseJSON(f *testing.F) {
	f.Add(`[{"pattern":"a/%c/#","max_qos":1,"max_payload_size":10,"allowed_retain":false}]`,
		`[{"pattern":"dev/%u/+","modifiers":[["x/y",1]]}]`, "+", "#", "dev/#/x", byte(1))
	f.Add(`null`, `[{"pattern":"%m/%c"}]`, "dev", "u", "m/dev", byte(2))
	f.Add(`[{"pattern":"#"}]`, `[{"pattern":"a/+/b","max_qos":2}]`, "", "", "a/+/b", byte(0))
	f.Fuzz(func(t *testing.T, pub, sub, clientID, user, topic string, qos byte) {
		who := Who{Mountpoint: "m", ClientID: clientID, Username: user}
		a, err := ParseJSON([]byte(pub), []byte(sub), who)
		if err != nil {
			return
		}
		a.MatchPublish(topic, qos%3, len(topic), qos&4 != 0)
		a.MatchSubscribe(topic, qos%3)
		// A wildcard identity: the same columns for client id and user "+" must not grant the
		// filter "+" (or "#") through a substituted level unless a literal wildcard level does.
		wild, err := ParseJSON([]byte(pub), []byte(sub), Who{Mountpoint: "+", ClientID: "+", Username: "#"})
		if err != nil {
			t.Fatalf("columns parse for %+v but not for a wildcard identity: %v", who, err)
		}
		plain, _ := ParseJSON([]byte(pub), []byte(sub), Who{Mountpoint: "\x00m", ClientID: "\x00c", Username: "\x00u"})
		for _, f := range []string{"+", "#", "+/+", "a/+", "+/#"} {
			if ok, _ := wild.MatchSubscribe(f, 0); ok {
				if ok2, _ := plain.MatchSubscribe(f, 0); !ok2 {
					t.Fatalf("filter %q granted only because the identity is a wildcard (sub %s)", f, sub)
				}
			}
		}
	})
}
