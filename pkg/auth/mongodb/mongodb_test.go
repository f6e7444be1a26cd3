package mongodb

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"golang.org/x/crypto/bcrypt"

	"github.com/vernemq-go/vernemq/pkg/auth/internal/testdb"
)

func TestFilter(t *testing.T) {
	got, _ := bson.MarshalExtJSON(Filter("mp", "c1", "alice"), false, false)
	want := `{"mountpoint":"mp","client_id":{"$in":["c1","*"]},"username":"alice"}`
	if string(got) != want {
		t.Fatalf("filter %s, want %s", got, want)
	}
}

func TestToJSON(t *testing.T) {
	_, raw, err := bson.MarshalValue(bson.A{bson.D{{Key: "pattern", Value: "a/#"}, {Key: "max_qos", Value: int32(1)}}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := toJSON(bson.RawValue{Type: bson.TypeArray, Value: raw})
	if err != nil || string(j) != `[{"pattern":"a/#","max_qos":1}]` {
		t.Fatalf("toJSON = %s, %v", j, err)
	}
}

func TestFerretDB(t *testing.T) {
	s := testdb.FerretDB(t)
	ctx := context.Background()
	p, err := New(Config{Host: "127.0.0.1", Port: s.Port, Database: "vernemq_db", PoolSize: 2, Timeout: 3 * time.Second,
		Log: (&testdb.LogBuffer{}).Logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, r := range testdb.Fixture {
		h, _ := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
		var pub, sub any
		json.Unmarshal([]byte(r.PublishACL), &pub)
		json.Unmarshal([]byte(r.SubscribeACL), &sub)
		objectMods(sub)
		_, err := p.coll.InsertOne(ctx, bson.M{"mountpoint": r.Mountpoint, "client_id": r.ClientID, "username": r.Username,
			"passhash": string(h), "publish_acl": pub, "subscribe_acl": sub})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	testdb.Check(t, p)
	t.Run("down", func(t *testing.T) {
		logs := &testdb.LogBuffer{}
		p2, err := New(Config{Host: "127.0.0.1", Port: s.Port, Database: "vernemq_db", Timeout: 2 * time.Second, Log: logs.Logger()})
		if err != nil {
			t.Fatal(err)
		}
		defer p2.Close()
		testdb.CheckDownAndBack(t, p2, s, logs)
	})
}

// objectMods turns [topic, qos] subscribe modifiers into {topic, qos}
// objects, the form mongodb.lua documents (FerretDB also refuses nested arrays).
func objectMods(acl any) {
	list, _ := acl.([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		mods, ok := m["modifiers"].([]any)
		if !ok {
			continue
		}
		for i, tq := range mods {
			if pair, ok := tq.([]any); ok && len(pair) == 2 {
				mods[i] = map[string]any{"topic": pair[0], "qos": pair[1]}
			}
		}
	}
}
