# imchost — build, run, test. `make run` and `make test` are the two entry points.
GO       ?= go
OUT      ?= $(CURDIR)/out
WASM_DIR ?= $(OUT)/wasm
FUZZTIME ?= 1m
# Root is not required: apt-get runs through sudo when we are not root.
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build demo simulator run test test-deps interop bench bench-strongswan fuzz vet clean

all: build

include build/wasm.mk

## build: every wasm module, the imchost client (static: no cgo, so no
## libc or OpenSSL to load, and 9 MB less resident) and imchost-demo (cgo:
## the in-process TPM simulator)
build: wasm demo
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X github.com/imchost/imchost/internal/cli.version=$(VERSION)" -o $(OUT)/imchost ./cmd/imchost

## demo: imchost-demo alone (cgo: the in-process TPM simulator). Tag
## nopostgres: the demo's PDP keeps its records in SQLite, so the PostgreSQL
## driver (about a tenth of a cold build of the demo) is left out.
demo:
	$(GO) build -trimpath -tags nopostgres -o $(OUT)/imchost-demo ./cmd/imchost-demo

## package: the .deb and .rpm of an endpoint (nFPM as a Go library, no
## distribution tooling): out/package/imchost_$(VERSION)_amd64.deb and .rpm
VERSION  ?= 0.1.0
package: build
	$(GO) run ./build/package -bin $(OUT)/imchost -wasm-dir $(WASM_DIR) -out $(OUT)/package -version $(VERSION)

## run: build the modules the demo loads (the shipped IMCs of config.toml,
## not examples/) and imchost-demo, then the demo on embedded defaults
## (simulated TPM, bundled event log, a PDP on loopback). Not the static
## client: the demo does not run it, and on an empty Go build cache building
## it compiles every dependency a second time (without cgo).
## The demo's C TPM simulator is one 52,000-line C file, one gcc process that
## go build starts only after nearly every Go package (it comes last in the
## action graph's order), so that on an empty build cache it ran alone at the
## end; run compiles it into Go's build cache (simulator) while the modules
## build, and the demo's build finds it there.
RUN_MODS := $(WASM_DIR)/imc-os.wasm $(WASM_DIR)/imc-attestation.wasm $(WASM_DIR)/imc-swima.wasm
run:
	@$(MAKE) --no-print-directory -j2 simulator $(RUN_MODS)
	@$(MAKE) --no-print-directory demo
	$(OUT)/imchost-demo --wasm-dir $(WASM_DIR)

## simulator: go-tpm-tools' TPM simulator (cgo) into Go's build cache, with
## the demo's flags
simulator:
	$(GO) build -trimpath -tags nopostgres github.com/google/go-tpm-tools/simulator

## test-deps: what the tests need on a fresh Debian machine (swtpm;
## PostgreSQL's server binaries, which the store tests run themselves —
## the cluster Debian creates and starts is not used)
test-deps:
	@if ! command -v swtpm >/dev/null 2>&1 || ! command -v swtpm_setup >/dev/null 2>&1; then \
		echo "installing swtpm (apt-get)"; \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q swtpm swtpm-tools; \
	fi
	@# the package tests: dpkg --root, systemd-analyze/sysusers/tmpfiles, rpm to read the .rpm back
	@if ! command -v rpm >/dev/null 2>&1 || ! command -v systemd-analyze >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then \
		echo "installing rpm, systemd, dpkg (apt-get)"; \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q rpm systemd dpkg; \
	fi
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
		echo "installing postgresql (apt-get)"; \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q postgresql; \
	fi

## vet: go vet, and go.mod/go.sum tidy (CI runs it through make test)
vet:
	$(GO) vet ./...
	@# go.mod and go.sum say exactly what the code imports (nothing missing,
	@# nothing left over): the diff go mod tidy would make must be empty.
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy" >&2; exit 1; }
	@# Every Go file as gofmt writes it, whatever its build tags (vet only
	@# reads the files of this GOOS).
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './out/*')); \
		if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted (run gofmt -w)" >&2; exit 1; fi

## test: install test dependencies, build the modules, run every test
test: test-deps build vet
	IMCHOST_WASM_DIR=$(WASM_DIR) $(GO) test -race -timeout 45m ./...
	@# the PDP as make run's demo builds it (tag nopostgres)
	$(GO) test -count=1 -tags nopostgres -run '^TestOpenStoreNoPostgres$$' ./pdp/

## interop: strongSwan 5.9.8's TNC pieces (charon with tnc-pdp and the OS
## and Attestation IMVs, pt-tls-client with the IMCs), built once from
## Debian's source package into ~/.cache/imchost by build/strongswan.sh, then
## tests/interop: imchost against them in both directions (see README)
interop: test-deps build
	prefix=$$(build/strongswan.sh) && IMCHOST_STRONGSWAN=$$prefix IMCHOST_BIN=$(OUT)/imchost IMCHOST_WASM_DIR=$(WASM_DIR) \
		$(GO) test -count=1 -timeout 20m -v ./tests/interop/

## bench: every Go benchmark (the end-to-end ones of tests/ BENCHN times
## each), the hostile-peer and fault suites, then BENCHMARKS.md written by
## internal/benchreport from out/bench.txt, out/reliability.json and the
## last `make fuzz` (out/fuzz.txt)
BENCHN   ?= 10
bench: test-deps build
	@mkdir -p $(OUT)
	IMCHOST_WASM_DIR=$(WASM_DIR) $(GO) test -run '^$$' -bench . -benchmem -timeout 30m \
		$$($(GO) list ./... | grep -v '/tests$$') | tee $(OUT)/bench.txt
	IMCHOST_WASM_DIR=$(WASM_DIR) $(GO) test -run '^$$' -bench 'PATNC' -benchmem ./tests/ | tee -a $(OUT)/bench.txt
	IMCHOST_WASM_DIR=$(WASM_DIR) IMCHOST_BIN=$(OUT)/imchost $(GO) test -run '^$$' -bench 'Attestation|CLIRun|CLIIdle' \
		-benchmem -benchtime $(BENCHN)x -timeout 30m ./tests/ | tee -a $(OUT)/bench.txt
	-IMCHOST_WASM_DIR=$(WASM_DIR) $(GO) test -count=1 -json -run 'TestHostile|TestFault' ./tests/ > $(OUT)/reliability.json
	@rm -f $(OUT)/sidebyside.json
	@if [ -f "$$(build/strongswan.sh --print-prefix)/.complete" ]; then $(MAKE) --no-print-directory bench-strongswan; \
	else echo "no strongSwan peer built (make interop builds it): the side-by-side table is skipped"; fi
	$(GO) run ./internal/benchreport -bench $(OUT)/bench.txt -reliability $(OUT)/reliability.json \
		-fuzz $(OUT)/fuzz.txt -sidebyside $(OUT)/sidebyside.json -o BENCHMARKS.md

## bench-strongswan: imchost run and strongSwan's pt-tls-client side by side
## (tests/interop TestSideBySide): the same endpoint, the same PDP (strongSwan's,
## then imchost's), interleaved, BENCHN runs each, into out/sidebyside.json
## and its section of BENCHMARKS.md (the rest stays; make bench rewrites it
## all). Builds the peer first if needed.
bench-strongswan: test-deps build
	@command -v /usr/bin/time >/dev/null 2>&1 || { echo "installing time (apt-get)"; $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q time; }
	@mkdir -p $(OUT)
	prefix=$$(build/strongswan.sh) && IMCHOST_STRONGSWAN=$$prefix IMCHOST_BIN=$(OUT)/imchost IMCHOST_WASM_DIR=$(WASM_DIR) \
		IMCHOST_SIDE_BY_SIDE=$(OUT)/sidebyside.json IMCHOST_SIDE_BY_SIDE_N=$(BENCHN) \
		$(GO) test -count=1 -timeout 30m -run '^TestSideBySide$$' -v ./tests/interop/
	$(GO) run ./internal/benchreport -sidebyside $(OUT)/sidebyside.json -sidebyside-only -o BENCHMARKS.md

## fleet-bench: the PDP's throughput/latency curve (internal/fleetbench):
## pdp serve on SQLite and on PostgreSQL at FLEET_SIZES endpoints, then one
## and two replicas on one PostgreSQL, each replica held to
## FLEET_REPLICA_CPU CPUs (a cgroup v1 CFS quota; as root), at
## FLEET_REPLICA_SIZES endpoints; FLEET_DURATION each; the fleet section of
## BENCHMARKS.md is rewritten in place
FLEET_SIZES         ?= 1,8,64,256,1024
FLEET_DURATION      ?= 10s
FLEET_REPLICA_CPU   ?= 0.25
FLEET_REPLICA_SIZES ?= 8,64,256
fleet-bench: test-deps build
	$(GO) run ./internal/fleetbench -imchost $(OUT)/imchost -endpoints $(FLEET_SIZES) -duration $(FLEET_DURATION) \
		-replica-cpu $(FLEET_REPLICA_CPU) -replica-sizes $(FLEET_REPLICA_SIZES) \
		-o $(OUT)/fleet.json -cpuprofile $(OUT)/fleet-pdp-sqlite.pprof
	$(GO) run ./internal/benchreport -fleet $(OUT)/fleet.json -fleet-only -o BENCHMARKS.md

## fuzz: every fuzz target for FUZZTIME each (FUZZPAR=1 for one worker);
## out/fuzz/<pkg>_<target>.log keeps each run, out/fuzz.txt each final line.
## A crash stops nothing: the input lands in the package's testdata/fuzz/
## (a regression case from then on) and the rule fails at the end. A bare
## "context deadline exceeded" at the end of FUZZTIME with no input written
## is Go's coordinator race (golang/go#75804, go1.26): reported as FLAKE.
## FUZZMIN caps how long each new interesting input is minimized (Go's
## default, 60 s, shows as minutes of "0/sec" on targets with large seeds
## such as FuzzIMALog: that is minimization, not a hang).
FUZZPAR  ?=
FUZZMIN  ?= 5s
fuzz: build
	@mkdir -p $(OUT)/fuzz; : > $(OUT)/fuzz.txt; fail=0; \
	for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			log=$(OUT)/fuzz/$$(echo $${pkg#github.com/imchost/imchost/} | tr / _)_$$t.log; \
			corpus=$$($(GO) list -f '{{.Dir}}' $$pkg)/testdata/fuzz/$$t; \
			before=$$(ls $$corpus 2>/dev/null | wc -l); \
			echo "== $$pkg $$t ($(FUZZTIME))"; \
			if IMCHOST_WASM_DIR=$(WASM_DIR) $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) \
				$(if $(FUZZPAR),-parallel $(FUZZPAR)) $$pkg > $$log 2>&1; then res=ok; \
			elif [ "$$(ls $$corpus 2>/dev/null | wc -l)" = "$$before" ] && \
				grep -q '^    context deadline exceeded$$' $$log; then res=FLAKE; \
			else res=FAIL; fail=1; fi; \
			last=$$(grep '^fuzz: elapsed' $$log | tail -n 1); \
			echo "$$res $$pkg $$t $$last" | tee -a $(OUT)/fuzz.txt; \
			if [ $$res = FAIL ]; then tail -n 30 $$log; fi; \
		done; \
	done; exit $$fail

clean:
	rm -rf $(OUT)
