// Package listeners tests the listener features of issue 4 end to end against
// the real vernemq binary: TLS with client certificates (CN as username, CRL,
// reload on SIGHUP), PROXY protocol v1/v2 through a real HAProxy using
// scripts/haproxy/vernemq-tls-proxy.cfg, WebSocket and secure WebSocket with
// paho, malformed input and max_connections.
//
// Run with `go test ./test/listeners/`; set VMQ_BIN to a directory holding a
// built vernemq to skip the build, and VMQ_REQUIRE_TOOLS=1 to fail instead of
// skipping when haproxy or mosquitto_pub/mosquitto_sub are missing
// (scripts/install-haproxy.sh, scripts/install-test-deps.sh).
package listeners
