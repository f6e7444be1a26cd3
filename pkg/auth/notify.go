package auth

import (
	"context"
	"errors"
)

// worker runs notifications in order until Close, then drains what is queued.
func (c *Chain) worker() {
	defer close(c.done)
	for {
		select {
		case f := <-c.queue:
			f()
		case <-c.stop:
			for {
				select {
				case f := <-c.queue:
					f()
				default:
					return
				}
			}
		}
	}
}

// enqueue hands f to the worker without blocking; a full queue drops it.
func (c *Chain) enqueue(hook string, f func()) {
	if c.closed.Load() {
		return
	}
	select {
	case c.queue <- f:
	default:
		n := c.dropped.Add(1)
		if n&(n-1) == 0 { // log at 1, 2, 4, 8, ... drops so a storm does not flood the log
			c.log.Warn("notification queue full, dropping hook calls; a plugin is too slow",
				"hook", hook, "dropped_total", n)
		}
	}
}

// DroppedNotifications counts notifications dropped because the queue was full.
func (c *Chain) DroppedNotifications() uint64 { return c.dropped.Load() }

// Flush waits until every notification queued before the call has run.
func (c *Chain) Flush(ctx context.Context) error {
	if c.closed.Load() {
		return nil
	}
	ran := make(chan struct{})
	select {
	case c.queue <- func() { close(ran) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return nil
	}
	select {
	case <-ran:
		return nil
	case <-c.done:
		return nil
	case <-ctx.Done():
		return errors.Join(ctx.Err(), errors.New("notification hooks still running; a plugin is slow"))
	}
}

// each runs f for every plugin of type T, recovering panics per plugin.
func each[T any](c *Chain, hook string, f func(T)) {
	for _, p := range c.list() {
		h, ok := p.(T)
		if !ok {
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					c.log.Error("plugin hook panicked", "plugin", p.Name(), "hook", hook, "panic", r)
				}
			}()
			f(h)
		}()
	}
}

// has reports whether any plugin implements T, to skip copying when nobody listens.
func has[T any](c *Chain) bool {
	for _, p := range c.list() {
		if _, ok := p.(T); ok {
			return true
		}
	}
	return false
}

// clientCopy detaches the hook's Client from the session; the password never leaves Register.
func clientCopy(cl *Client) *Client {
	cp := *cl
	cp.Password = nil
	return &cp
}

// NotifyRegister is on_register.
func (c *Chain) NotifyRegister(cl *Client) {
	if !has[OnRegisterHook](c) {
		return
	}
	cp := clientCopy(cl)
	c.enqueue("on_register", func() {
		each(c, "on_register", func(h OnRegisterHook) { h.OnRegister(c.ctx, cp) })
	})
}

// NotifyPublish is on_publish. The payload is shared, not copied: the
// broker must not reuse the buffer (it does not: payloads are immutable).
func (c *Chain) NotifyPublish(cl *Client, p *Publish) {
	if !has[OnPublishHook](c) {
		return
	}
	cp, pp := clientCopy(cl), *p
	c.enqueue("on_publish", func() {
		each(c, "on_publish", func(h OnPublishHook) { h.OnPublish(c.ctx, cp, &pp) })
	})
}

// NotifySubscribe is on_subscribe.
func (c *Chain) NotifySubscribe(cl *Client, topics []Topic) {
	if !has[OnSubscribeHook](c) {
		return
	}
	cp, ts := clientCopy(cl), append([]Topic(nil), topics...)
	c.enqueue("on_subscribe", func() {
		each(c, "on_subscribe", func(h OnSubscribeHook) { h.OnSubscribe(c.ctx, cp, ts) })
	})
}

// NotifyTopicUnsubscribed is on_topic_unsubscribed.
func (c *Chain) NotifyTopicUnsubscribed(id SubscriberID, filters []string) {
	if !has[OnTopicUnsubscribedHook](c) {
		return
	}
	fs := append([]string(nil), filters...)
	c.enqueue("on_topic_unsubscribed", func() {
		each(c, "on_topic_unsubscribed", func(h OnTopicUnsubscribedHook) { h.OnTopicUnsubscribed(c.ctx, id, fs) })
	})
}

// NotifyOfflineMessage is on_offline_message.
func (c *Chain) NotifyOfflineMessage(id SubscriberID, p *Publish) {
	if !has[OnOfflineMessageHook](c) {
		return
	}
	pp := *p
	c.enqueue("on_offline_message", func() {
		each(c, "on_offline_message", func(h OnOfflineMessageHook) { h.OnOfflineMessage(c.ctx, id, &pp) })
	})
}

// NotifyMessageDrop is on_message_drop.
func (c *Chain) NotifyMessageDrop(id SubscriberID, p *Publish, reason string) {
	if !has[OnMessageDropHook](c) {
		return
	}
	pp := *p
	c.enqueue("on_message_drop", func() {
		each(c, "on_message_drop", func(h OnMessageDropHook) { h.OnMessageDrop(c.ctx, id, &pp, reason) })
	})
}

// NotifyClientWakeup is on_client_wakeup.
func (c *Chain) NotifyClientWakeup(id SubscriberID) {
	if !has[OnClientWakeupHook](c) {
		return
	}
	c.enqueue("on_client_wakeup", func() {
		each(c, "on_client_wakeup", func(h OnClientWakeupHook) { h.OnClientWakeup(c.ctx, id) })
	})
}

// NotifyClientOffline is on_client_offline.
func (c *Chain) NotifyClientOffline(id SubscriberID) {
	if !has[OnClientOfflineHook](c) {
		return
	}
	c.enqueue("on_client_offline", func() {
		each(c, "on_client_offline", func(h OnClientOfflineHook) { h.OnClientOffline(c.ctx, id) })
	})
}

// NotifyClientGone is on_client_gone.
func (c *Chain) NotifyClientGone(id SubscriberID) {
	if !has[OnClientGoneHook](c) {
		return
	}
	c.enqueue("on_client_gone", func() {
		each(c, "on_client_gone", func(h OnClientGoneHook) { h.OnClientGone(c.ctx, id) })
	})
}

// NotifySessionExpired is on_session_expired.
func (c *Chain) NotifySessionExpired(id SubscriberID) {
	if !has[OnSessionExpiredHook](c) {
		return
	}
	c.enqueue("on_session_expired", func() {
		each(c, "on_session_expired", func(h OnSessionExpiredHook) { h.OnSessionExpired(c.ctx, id) })
	})
}
