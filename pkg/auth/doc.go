// Package auth is VerneMQ's plugin hook chain: authentication
// (auth_on_register), authorization (auth_on_publish, auth_on_subscribe),
// the rewriting hooks on_unsubscribe and on_deliver, and the notification
// hooks (on_register, on_publish, ... on_message_drop).
//
// Chain semantics, as in VerneMQ's vmq_plugin:all_till_ok and vmq_mqtt_fsm:
//
//   - Plugins are asked in chain (priority) order. Each answers Next, OK or
//     Error. The first OK or Error ends the chain; OK may carry modifiers.
//   - If no plugin implements the hook the result is Error
//     "no_matching_hook_found"; if all answer Next it is Error
//     "chain_exhausted". Both refuse with reason code 0x87 (not authorized).
//   - An Error whose Reason is ReasonInvalidCredentials refuses with 0x86
//     (bad user name or password, CONNACK 4 in v3); any other Error without
//     an explicit Code refuses with 0x87 (CONNACK 5 in v3).
//   - allow_anonymous (global, or the listener's override) skips
//     auth_on_register entirely: plugins are not called and Register
//     returns OK. It does NOT bypass auth_on_publish / auth_on_subscribe:
//     VerneMQ always needs an authorization plugin (vmq_acl with its shipped
//     "topic #" rule in the default setup); with no plugin saying OK,
//     publishes and subscribes are refused even when allow_anonymous is on.
//     This is what vmq_mqtt_fsm does (check_user vs auth_on_publish) and
//     what the maintainers state in vernemq issues #414, #539, #2016.
//   - A plugin that panics is treated as answering Error (VerneMQ's plugin
//     crash fails the request, it does not pass it).
//
// Notification hooks are fanned out asynchronously, in order, by one worker
// goroutine per chain so the session never waits on a slow plugin; when the
// queue is full the notification is dropped and counted.
package auth
