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
	$(MAKE) fuzz FUZZTIME=20s

# Every package with tests, under the race detector (the end-to-end suites under test/ drive processes, not shared memory).
test-race:
	$(GO) test -race -short -count=1 -timeout 15m $$($(GO) list ./... | grep -v /test/)

FUZZTIME ?= 30s
# The packet decoder gets FUZZTIME; the conf parser, the cluster frame decoder, the PROXY
# header path, the store's log reader and stored values, the ACL and password file parsers,
# the database ACL columns (what a hostile peer, a damaged file or a foreign row reaches) FUZZTIME_SHORT each, so make test stays quick.
FUZZTIME_SHORT ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./pkg/packets/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME_SHORT) ./pkg/config/
	$(GO) test -run '^$$' -fuzz FuzzFrameDecode -fuzztime $(FUZZTIME_SHORT) ./pkg/cluster/
	$(GO) test -run '^$$' -fuzz FuzzProxyHeader -fuzztime $(FUZZTIME_SHORT) ./pkg/listener/
	$(GO) test -run '^$$' -fuzz FuzzLogFrame -fuzztime $(FUZZTIME_SHORT) ./pkg/store/
	$(GO) test -run '^$$' -fuzz FuzzStoredValue -fuzztime $(FUZZTIME_SHORT) ./pkg/store/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME_SHORT) ./pkg/auth/acl/
	$(GO) test -run '^$$' -fuzz FuzzParseLine -fuzztime $(FUZZTIME_SHORT) ./pkg/auth/passwd/
	$(GO) test -run '^$$' -fuzz FuzzParseJSON -fuzztime $(FUZZTIME_SHORT) ./pkg/auth/dbacl/

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
