# imchost — build, run, test. `make run` and `make test` are the two entry points.
GO       ?= go
OUT      ?= $(CURDIR)/out
WASM_DIR ?= $(OUT)/wasm
FUZZTIME ?= 1m
# Root is not required: apt-get runs through sudo when we are not root.
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build run test test-deps bench fuzz vet clean

all: build

include build/wasm.mk

## build: the imchost binary and every wasm module
build: wasm
	$(GO) build -trimpath -o $(OUT)/imchost ./cmd/imchost

## run: build everything, then the demo on embedded defaults (simulated TPM,
## bundled event log, a PDP on loopback)
run: build
	$(OUT)/imchost demo --wasm-dir $(WASM_DIR)

## test-deps: what the tests need on a fresh Debian machine (swtpm)
test-deps:
	@if ! command -v swtpm >/dev/null 2>&1 || ! command -v swtpm_setup >/dev/null 2>&1; then \
		echo "installing swtpm (apt-get)"; \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q swtpm swtpm-tools; \
	fi

vet:
	$(GO) vet ./...

## test: install test dependencies, build the modules, run every test
test: test-deps build vet
	IMCHOST_WASM_DIR=$(WASM_DIR) $(GO) test -race -timeout 45m ./...

## bench: Go benchmarks, written to BENCHMARKS.md by the harness
bench: test-deps build
	IMCHOST_WASM_DIR=$(WASM_DIR) $(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./... | tee $(OUT)/bench.txt

## fuzz: every fuzz target for FUZZTIME each
fuzz: build
	@set -e; for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$t ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

clean:
	rm -rf $(OUT)
