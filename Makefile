# VerneMQ-style MQTT broker in Go. `make run` starts a node, `make test` runs every test.
GO       ?= go
BIN      := bin
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/vernemq-go/vernemq/pkg/node.Version=$(VERSION)
CONF     ?= conf/vernemq.conf

.PHONY: all build run test test-unit test-race lint fuzz bench profile deps deps-deploy dist image test-deploy clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

run: build
	$(BIN)/vernemq console -c $(CONF)

# Quick: the packages' own tests (no end-to-end suites under test/); servers they need are skipped if absent.
test-unit: lint
	$(GO) test -short -count=1 $$($(GO) list ./... | grep -v /test/)

# go vet and staticcheck (a pinned version, built once into the Go build cache); an ignore in the code says why.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Everything: installs what the tests need (idempotent), then unit, race, integration and a short fuzz run.
test: deps build lint
	VMQ_BIN=$(CURDIR)/$(BIN) VMQ_REQUIRE_TOOLS=1 VMQ_REQUIRE_HAPROXY=1 $(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v /test/)
	@# The end-to-end suites start many broker processes each: one suite at a time keeps their timing honest on 2 cores.
	VMQ_BIN=$(CURDIR)/$(BIN) VMQ_REQUIRE_TOOLS=1 VMQ_REQUIRE_HAPROXY=1 $(GO) test -p 1 -count=1 -timeout 20m ./test/...
	$(MAKE) test-race
	$(MAKE) fuzz

# Every package with tests, under the race detector (the end-to-end suites under test/ drive processes, not shared memory).
test-race:
	$(GO) test -race -short -count=1 -timeout 15m $$($(GO) list ./... | grep -v /test/)

# Each decoder that reads bytes from outside (a hostile peer, a damaged file, a foreign
# database row) is fuzzed for a count of inputs, about 10 s each on an idle machine
# (the packet decoder about 15 s). Counts, not durations: with a duration, Go 1.26's fuzz
# coordinator can report its own deadline as a failure on a loaded machine
# (golang/go#75804; seen here once in FuzzLogFrame). FUZZTIME=60s (or 5000000x) overrides all.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(or $(FUZZTIME),1000000x) ./pkg/packets/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(or $(FUZZTIME),200000x) ./pkg/config/
	$(GO) test -run '^$$' -fuzz '^FuzzFrameDecode$$' -fuzztime $(or $(FUZZTIME),120000x) ./pkg/cluster/
	$(GO) test -run '^$$' -fuzz '^FuzzProxyHeader$$' -fuzztime $(or $(FUZZTIME),80000x) ./pkg/listener/
	$(GO) test -run '^$$' -fuzz '^FuzzLogFrame$$' -fuzztime $(or $(FUZZTIME),400000x) ./pkg/store/
	$(GO) test -run '^$$' -fuzz '^FuzzStoredValue$$' -fuzztime $(or $(FUZZTIME),300000x) ./pkg/store/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(or $(FUZZTIME),250000x) ./pkg/auth/acl/
	$(GO) test -run '^$$' -fuzz '^FuzzParseLine$$' -fuzztime $(or $(FUZZTIME),500000x) ./pkg/auth/passwd/
	$(GO) test -run '^$$' -fuzz '^FuzzParseJSON$$' -fuzztime $(or $(FUZZTIME),400000x) ./pkg/auth/dbacl/

deps: deps-deploy
	bash scripts/install-test-deps.sh

# helm, kubeconform and Kubernetes schemas (cached in ~/.cache/vernemq-tools), ansible.
deps-deploy:
	bash scripts/install-deploy-deps.sh

# Release tarball: dist/vernemq-<version>-linux-amd64.tar.gz (binaries, conf, systemd unit, help).
DIST      ?= dist
DIST_NAME := vernemq-$(VERSION)-linux-amd64
dist:
	@rm -rf $(DIST)/$(DIST_NAME) && mkdir -p $(DIST)/$(DIST_NAME)/bin $(DIST)/$(DIST_NAME)/conf $(DIST)/$(DIST_NAME)/systemd $(DIST)/$(DIST_NAME)/docs
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(DIST)/$(DIST_NAME)/bin/ ./cmd/vernemq ./cmd/vmq-admin ./cmd/vmq-passwd
	cp conf/vernemq.conf conf/vmq.acl conf/vmq.passwd $(DIST)/$(DIST_NAME)/conf/
	cp scripts/systemd/vernemq.service $(DIST)/$(DIST_NAME)/systemd/
	cp README.md $(DIST)/$(DIST_NAME)/
	-cp docs/*.md $(DIST)/$(DIST_NAME)/docs/
	bash scripts/dist-help.sh $(DIST)/$(DIST_NAME)/bin $(DIST)/$(DIST_NAME)/docs/commands.txt
	tar -C $(DIST) -czf $(DIST)/$(DIST_NAME).tar.gz $(DIST_NAME)
	@rm -rf $(DIST)/$(DIST_NAME)
	@echo "dist: $(DIST)/$(DIST_NAME).tar.gz"

# Deployment artifacts only: docker entrypoint, Helm chart, Ansible role, make dist.
# image: the FROM-scratch container image, built with buildah (no registry, no daemon).
image:
	VERSION=$(VERSION) bash scripts/build-image.sh

test-deploy: build
	bash scripts/test-deploy.sh

bench: build
	bash scripts/bench.sh

# CPU and allocation profiles of scenarios 1 and 4 (PROFILE_SCENARIOS=12: session creation; PROFILE_DIR=dir keeps the .pprof files).
profile: build
	bash scripts/profile.sh

clean:
	rm -rf $(BIN) dist
