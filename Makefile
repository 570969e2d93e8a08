# tailor: build, test, demo. Run as root on Debian 12; `make demo` and
# `make test` are the two commands the README starts with.

export PATH := /usr/local/go/bin:$(PATH)

GO       ?= go
BIN      := bin/tailor
# The Landlock helper runs inside containers: static, without cgo, so
# that it needs nothing from the image (tailor apply --landlock).
HELPER   := bin/tailor-landlock
# The OCI hook runs on every hooked container start: a binary of its own
# that links only what the hook needs (cmd/tailor-hook), beside tailor,
# whose `tailor tracer` it starts on demand. Static, without cgo, as the
# helper: no dynamic loader, libc or libseccomp to map before main.
HOOK     := bin/tailor-hook
# The shared tracer, which a hook starts when none runs (the container
# waits for it): a binary of its own without tailor's command line.
TRACER   := bin/tailor-tracer
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
PREFIX   ?= /usr/local
HOOKSDIR ?= /usr/share/containers/oci/hooks.d
# e2e tests run real containers: generous, but well under CI's budget.
TESTTIMEOUT ?= 12m

.PHONY: all build test demo bench generate install prereqs fmt vet clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/tailor
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(HELPER) ./cmd/tailor-landlock
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(HOOK) ./cmd/tailor-hook
	$(GO) build -trimpath -ldflags "-s -w" -o $(TRACER) ./cmd/tailor-tracer

# Unit tests need no root and run with the race detector; e2e tests (./e2e)
# need root and skip without it (and fail under CI=true). generator/dockertest
# is a module of its own: it links Docker to check tailor's copy of its
# defaults, which the tailor binary must not.
UNITPKGS = $$($(GO) list ./... | grep -v '/e2e$$')
test: build
	$(GO) test -race -timeout $(TESTTIMEOUT) $(UNITPKGS)
	$(GO) test -timeout $(TESTTIMEOUT) ./e2e/
	cd generator/dockertest && $(GO) test ./...

prereqs:
	bash scripts/install-prereqs.sh

demo: prereqs build
	bash scripts/demo.sh $(BIN)

bench: build
	@if [ -f scripts/bench.sh ]; then bash scripts/bench.sh $(BIN); \
	else echo "bench: scripts/bench.sh not written yet"; fi

# Regenerates the committed bpf2go output (tailor's recorder and the
# benchmarks' floor program); needs clang, llvm, libbpf-dev, bpftool.
generate:
	$(GO) generate ./bpf/... ./bench/floor/...

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/tailor
	install -D -m 0755 $(HELPER) $(DESTDIR)$(PREFIX)/bin/tailor-landlock
	install -D -m 0755 $(HOOK) $(DESTDIR)$(PREFIX)/bin/tailor-hook
	install -D -m 0755 $(TRACER) $(DESTDIR)$(PREFIX)/bin/tailor-tracer
	install -D -m 0644 deploy/hooks.d/tailor.json $(DESTDIR)$(HOOKSDIR)/tailor.json
	install -d -m 0700 $(DESTDIR)/var/lib/tailor/seccomp

fmt:
	gofmt -l -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
