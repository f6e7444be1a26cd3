// Package ops tests operating the node from outside, against the real binaries:
// /metrics through promtool and a real Prometheus, the /status page in headless
// Chromium, the admin socket's permissions and bad input, API keys on the HTTP API,
// and vmq-admin set changing the broker's behaviour.
//
// Run with `go test ./test/ops/`; VMQ_BIN=dir reuses built vernemq and vmq-admin.
// Tools come from scripts/install-ops-deps.sh; a test whose tool is missing is skipped
// unless VMQ_REQUIRE_TOOLS is set, in which case it fails.
package ops
