package bridge

import (
	"context"

	"github.com/vernemq-go/vernemq/pkg/auth"
)

// AuthPlugin admits the bridges' in-process connections to their own node, and only
// them (the listener name cannot come from a network client): VerneMQ's bridge uses the
// plugin API, which no auth hook sees. Every other client is passed on (next).
type AuthPlugin struct{}

func (AuthPlugin) Name() string { return "vmq_bridge" }

func (AuthPlugin) AuthOnRegister(_ context.Context, c *auth.Client) (auth.Decision, *auth.RegisterModifiers) {
	return own(c), nil
}

func (AuthPlugin) AuthOnPublish(_ context.Context, c *auth.Client, _ *auth.Publish) (auth.Decision, *auth.PublishModifiers) {
	return own(c), nil
}

func (AuthPlugin) AuthOnSubscribe(_ context.Context, c *auth.Client, _ []auth.Topic) (auth.Decision, []auth.Topic) {
	return own(c), nil
}

func own(c *auth.Client) auth.Decision {
	if c.Listener == LocalListener {
		return auth.Decision{Result: auth.OK}
	}
	return auth.Pass()
}
