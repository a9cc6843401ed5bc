# custodes — the two commands a new machine needs: `make run` and `make test`.
GO        ?= go
BIN       := bin/custodes
GOFLAGS   ?=
GODOG_FORMAT ?= progress

.PHONY: all build release run test test-unit test-features vet fmt bench bench-dfs seaweed clean test-deps help

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

build: ## build bin/custodes
	$(GO) build -o $(BIN) ./cmd/custodes

# Static release binaries, version and commit stamped in (custodes version).
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null)
PLATFORMS ?= linux/amd64 linux/arm64
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

release: ## static binaries for linux/amd64 and linux/arm64 into dist/
	@mkdir -p dist
	@for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; out=dist/custodes-$$os-$$arch; \
	  echo "building $$out ($(VERSION), $(COMMIT))"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$out ./cmd/custodes || exit 1; \
	done

# A whole local cluster: three agents on loopback, Ctrl-C to stop.
run: build ## a local 3-agent cluster (custodes dev)
	./$(BIN) dev

# Every test, race detector on. Feature scenarios run under go test (godog).
test: vet test-deps ## every test, race detector on (what CI runs)
	$(GO) test -race -count=1 -timeout 15m ./...

# The partition tests need iproute2 and nftables (network namespaces, as
# root), the vagrant validate test vagrant, the dashboard's browser tests
# a Chromium; install them where they are missing and we may (without
# recommended packages: a few minutes, not a quarter of an hour). Without
# them those tests skip and say why.
test-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	   { ! command -v nft >/dev/null || ! command -v ip >/dev/null; }; then \
	  echo "installing iproute2 and nftables for the partition tests"; \
	  apt-get update -qq >/dev/null && apt-get install -y -qq iproute2 nftables >/dev/null; \
	fi
	@# Without recommends: Debian's vagrant recommends vagrant-libvirt's whole
	@# stack (qemu, a kernel: 900+ packages, 12 minutes); the plugin alone is
	@# ruby, and gives validate a provider whose section it checks.
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v vagrant >/dev/null; then \
	  echo "installing vagrant for the vagrant validate test"; \
	  { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends vagrant vagrant-libvirt >/dev/null; } || \
	    echo "could not install vagrant: the vagrant validate test will skip"; \
	fi
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	   ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && \
	   ! command -v google-chrome >/dev/null && ! command -v google-chrome-stable >/dev/null; then \
	  echo "installing chromium for the dashboard's browser tests"; \
	  { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; } || \
	    echo "could not install chromium: the browser tests will skip"; \
	fi

test-unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /features)

test-features:
	$(GO) test -race -count=1 -v ./features/ -godog.format=$(GODOG_FORMAT)

fmt: ## gofmt every Go file
	gofmt -w $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')

vet: ## go vet, and fail on unformatted files
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Throughput, latency, failover and detection of a local 3-agent cluster,
# written to docs/BENCHMARKS.md (a measurement, not a test).
bench: ## measure a local cluster into docs/BENCHMARKS.md
	bash scripts/bench.sh

# SeaweedFS, to measure the directory against (issue 9): weed is built once
# into WEED_CACHE, outside the repository, from the Go module proxy.
WEED_CACHE ?= $(HOME)/.cache/custodes
SEAWEED_VERSION ?= v0.0.0-20261109003541-7506e5f91cd6

seaweed: ## build SeaweedFS's weed into WEED_CACHE if missing (~10 min)
	WEED_CACHE=$(WEED_CACHE) SEAWEED_VERSION=$(SEAWEED_VERSION) bash scripts/seaweed.sh build

bench-dfs: seaweed ## the directory next to SeaweedFS and the direct baseline (scripts/bench-dfs.sh)
	WEED_CACHE=$(WEED_CACHE) bash scripts/bench-dfs.sh

clean:
	rm -rf bin dist
