# build/wasm.mk — builds every IMC module (imcs/* and examples/*) as a wasip1
# reactor: GOOS=wasip1 GOARCH=wasm -buildmode=c-shared, one .wasm per folder,
# named imc-<folder>.wasm, into $(WASM_DIR). Go's build cache makes a rebuild
# of an unchanged module cheap, so the rule always asks go.
WASM_DIR ?= $(CURDIR)/out/wasm
WASM_SRCS := $(sort $(dir $(wildcard imcs/*/main.go examples/*/main.go)))
WASM_MODS := $(foreach d,$(WASM_SRCS),$(WASM_DIR)/imc-$(notdir $(patsubst %/,%,$(d))).wasm)

.PHONY: wasm FORCE
wasm: $(WASM_MODS)

$(WASM_DIR)/imc-%.wasm: FORCE
	@mkdir -p $(WASM_DIR)
	@src=$$(for d in imcs/$* examples/$*; do [ -f $$d/main.go ] && echo ./$$d && break; done); \
	echo "wasm  $$src -> $@"; \
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -o $@ $$src
FORCE:
