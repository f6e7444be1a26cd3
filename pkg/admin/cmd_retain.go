package admin

import (
	"context"
	"strconv"
	"time"

	"github.com/vernemq-go/vernemq/pkg/session"
)

var retainTable = FieldTable{
	Noun:    "retained messages",
	Fields:  []string{"payload", "topic", "mountpoint", "qos"},
	Default: []string{"payload", "topic"},
	Limit:   100,
}

func retainCommands(r *Registry, b *Backend) {
	r.Register(Command{
		Path:     "retain show",
		Help:     "List retained messages: --payload --topic pick columns, --topic=x or --topic=~regex filters",
		Flags:    retainTable.Params(),
		AnyFlags: true,
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Broker != nil, "retained messages"); !ok {
				return res
			}
			q, err := retainTable.Parse(req)
			if err != nil {
				return Errorf("%v", err)
			}
			c := retainTable.Collect(q)
			now := time.Now()
			b.Broker.Retained(func(m *session.Message) bool {
				if m.Expired(now) {
					return true // no subscriber gets it; retain delete-expired or the sweep removes it
				}
				return !ctxDone(ctx) && c.Add(map[string]string{
					"payload": string(m.Payload), "topic": m.Topic, "mountpoint": m.Mountpoint, "qos": strconv.Itoa(int(m.QoS)),
				})
			})
			return c.Result()
		},
	})
	r.Register(Command{
		Path: "retain delete-expired",
		Help: "Delete the retained messages whose message expiry interval has passed (the node also does every 30 s)",
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Broker != nil, "retained messages"); !ok {
				return res
			}
			return Text("Deleted %d expired retained messages", b.Broker.DeleteExpiredRetained(time.Now()))
		},
	})
	r.Register(Command{
		Path: "retain delete",
		Help: "Delete the retained message of a topic",
		Args: []Param{
			{Name: "topic", Required: true, Help: "topic of the retained message"},
			{Name: "mountpoint", Help: "mountpoint (default none)"},
		},
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Broker != nil, "retained messages"); !ok {
				return res
			}
			if !b.Broker.DeleteRetained(req.Args["mountpoint"], req.Args["topic"]) {
				return Errorf("no retained message on topic %q; see vmq-admin retain show --topic --mountpoint", req.Args["topic"])
			}
			return Text("Done")
		},
	})
}
