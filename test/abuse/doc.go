// Package abuse attacks a built vernemq node as an internet client would: declared-size
// floods, slowloris, connection floods, malformed packets, wildcard identities, session
// hijack, HTTP floods, API-key scopes and PROXY header forgery. Every test states the
// bound it holds the node to (heap, RSS, time) and the measured figures are logged.
// docs/security.md describes the threat model these tests prove.
//
// Run with `go test ./test/abuse/`; VMQ_BIN=dir reuses built binaries.
package abuse
