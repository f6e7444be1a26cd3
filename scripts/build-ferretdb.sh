#!/usr/bin/env bash
# Builds FerretDB v1.24.2 (MongoDB wire protocol over SQLite) for the
# pkg/auth/mongodb tests, into $(go env GOPATH)/vmq-tools/ferretdb.
# The module's generated build/version/version.txt is missing from the
# proxy copy (the plain `go install` binary panics), so it is written here.
# Idempotent: does nothing when the binary exists.
set -euo pipefail
out="$(go env GOPATH)/vmq-tools"
[ -x "$out/ferretdb" ] && { echo "build-ferretdb: $out/ferretdb exists"; exit 0; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dir="$(cd "$work" && GOFLAGS= go mod download -json github.com/FerretDB/FerretDB@v1.24.2 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
cp -r "$dir" "$work/src"
chmod -R u+w "$work/src"
echo v1.24.2 > "$work/src/build/version/version.txt"
mkdir -p "$out"
(cd "$work/src" && GOFLAGS=-mod=mod go build -o "$out/ferretdb" ./cmd/ferretdb)
echo "build-ferretdb: built $out/ferretdb"
