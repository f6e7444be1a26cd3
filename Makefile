# VerneMQ-style MQTT broker in Go. `make run` starts a node, `make test` runs every test.
GO       ?= go
BIN      := bin
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
CONF     ?= conf/vernemq.conf

.PHONY: all build run test test-unit test-race test-integration fuzz bench deps clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

run: build
	$(BIN)/vernemq console -c $(CONF)

# Quick: unit tests of every package, no external servers.
test-unit:
	$(GO) vet ./...
	$(GO) test -short -count=1 ./...

# Everything: installs what the tests need (idempotent), then unit, race, integration and a short fuzz run.
test: deps build
	$(GO) vet ./...
	VMQ_BIN=$(CURDIR)/$(BIN) VMQ_REQUIRE_TOOLS=1 VMQ_REQUIRE_HAPROXY=1 $(GO) test -count=1 -timeout 20m ./...
	$(MAKE) test-race
	$(MAKE) fuzz FUZZTIME=20s

test-race:
	$(GO) test -race -short -count=1 -timeout 10m $$($(GO) list ./pkg/... | grep -E 'pkg/(topics|session|broker|store|auth|cluster|metrics|conn|node|listener|admin)')

FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./pkg/packets/

deps:
	bash scripts/install-test-deps.sh

bench: build
	bash scripts/bench.sh

clean:
	rm -rf $(BIN) dist
