package host

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
)

// Defaults for the [wasm] table.
const (
	DefaultCacheDir    = "/var/cache/imchost"
	DefaultMemoryPages = 512 // 32 MiB
	DefaultCallTimeout = 2 * time.Second
	// DefaultEventLogPath is where Linux exposes the boot event log.
	DefaultEventLogPath = capability.DefaultEventLogPath
	// DefaultModuleLog is where the module measurements are logged: in
	// /run, which starts empty at boot as the PCR does.
	DefaultModuleLog = "/run/imchost/module-measurements"
	// maxModuleSize bounds a module file read from disk.
	maxModuleSize = 64 << 20
)

// Config is what the host runs: config.toml's [wasm] table and [[imc]]
// entries, and the few values of other tables the host functions need
// (the connections' PB-TNC limits, the boot event log, the module
// measurement PCR). internal/config reads the file, applies the command
// line and builds it; tests build it in code. The host reads no file
// format: Reload takes the next Config the same way.
type Config struct {
	Wasm WasmConfig
	IMCs []IMCConfig
	// Limits are the PB-TNC limits of the connections the IMCs serve
	// ([tnccs]): config_get answers max_message_size with them and send
	// holds a module to them. The tnccs client must be given the same.
	Limits Limits
	// EventLog is the boot event log read when an IMC has no "eventlog"
	// setting ([tpm] eventlog); "" leaves it to Platform.EventLogPath,
	// else DefaultEventLogPath.
	EventLog string
	// ModulePCR, when not 0, is the PCR every module version put in
	// service is measured into (8 to 22, not 10 or 16; see measure.go).
	ModulePCR int
	// ModuleLog is the module measurement log (default DefaultModuleLog).
	ModuleLog string
	// Path is the file the configuration was read from ("" when built in
	// code): messages name it, and Watch watches it.
	Path string
}

// Limits are the PB-TNC limits of a connection (RFC 5793 section 3.1's
// batch size, and the largest PA-TNC message); 0 is unset.
type Limits struct {
	MaxBatchSize   uint32
	MaxMessageSize uint32
}

// WasmConfig is [wasm].
type WasmConfig struct {
	CacheDir    string        // wazero compilation cache
	MemoryPages uint32        // default memory cap per instance (64 KiB pages)
	CallTimeout time.Duration // default deadline of every call into a module
	Watch       bool          // watch module files and the config, reload on change
	// TrustedKeys are Ed25519 public keys (PEM files, see signature.go)
	// whose signatures a module may carry.
	TrustedKeys []string
	// RequireSignature refuses, at load and at reload, every module
	// without a signature by a trusted key (its signers, else TrustedKeys).
	RequireSignature bool
}

// IMCConfig is one [[imc]] entry. The order of entries gives the IMC IDs,
// starting at 1.
type IMCConfig struct {
	Name string
	// ID is the IMC ID; 0 (the default) numbers the IMCs in config order
	// from 1, skipping IDs given explicitly. An IMC keeps the ID of its
	// first load across reloads: a changed ID takes effect at the next
	// start of the host.
	ID     uint32
	Path   string   // the module file
	SHA256 string   // optional pin, 64 hex digits
	Grants []string // host functions the module may import
	// PASend and PAReceive are the module's PA lane: the PA message types
	// ("ietf/os", "tcg/pts", "32473/1", "tcg/*") it may send and receive.
	// Unset: the types it subscribes to. A send outside the lane is
	// refused with abi.StatusDenied.
	PASend    []string
	PAReceive []string
	// Settings reach the module through config_get; some are read by the
	// host itself: aik_handle, aik_cert, eventlog.
	Settings Settings
	// Files is the module's file allowlist: absolute paths of files and
	// directories (everything under a directory) that file_measure and
	// file_metadata may reach. Empty: none.
	Files       []string
	MemoryPages uint32        // 0: [wasm] memory_pages
	CallTimeout time.Duration // 0: [wasm] call_timeout
	// Signers, when set, are the only public keys (PEM files) whose
	// signature this module is accepted with, and make one required.
	Signers []string
	// Signature is the module's detached signature file (default: the
	// module's path and ".sig").
	Signature string
	// Lazy defers the module until a connection first needs it: for an
	// IMC that waits for its IMV's request (the Attestation and SWIMA
	// IMCs: nothing at begin_handshake). A load checks the file (pin,
	// signature) and takes what a full load learnt of it before (imports,
	// ABI, subscriptions) from an authenticated record in the compilation
	// cache (record.go), without compiling it; the module is compiled and
	// checked on the first PA message addressed to it, and instantiated
	// per connection only on that connection's first such message, after
	// replaying the connection's state changes and begin_handshake to it.
	// Without a record (the first start) or a cache directory it loads as
	// any other IMC.
	Lazy bool
	// Prefetch, for a lazy IMC, starts its compilation in the background
	// as soon as the load is done, so that its first message does not
	// wait for it (the first batch does not: it needs only the other
	// IMCs); it is still instantiated only on its first message. For an
	// IMC that nearly every PDP asks (the Attestation IMC), not for one
	// that few do (the SWIMA IMC: compiled only if asked).
	Prefetch bool
}

// Settings are an IMC's settings, by name.
type Settings map[string]string

// BaseGrants are enough to talk, log and read its settings, nothing that
// touches the system or the TPM: the grants of an IMC listed in a
// strongSwan tnc_config file, which has no place for grants.
var BaseGrants = []string{abi.FnSend, abi.FnSubscribe, abi.FnLog, abi.FnLogLevel, abi.FnConfigGet, abi.FnReport}

func (c *Config) setDefaults() {
	if c.Wasm.CacheDir == "" {
		c.Wasm.CacheDir = DefaultCacheDir
	}
	if c.Wasm.MemoryPages == 0 {
		c.Wasm.MemoryPages = DefaultMemoryPages
	}
	if c.Wasm.CallTimeout == 0 {
		c.Wasm.CallTimeout = DefaultCallTimeout
	}
}

// Validate checks what the host relies on: unique non-empty IMC names,
// module paths, known grants, well-formed pins and memory limits.
func (c *Config) Validate() error {
	c.setDefaults()
	var errs []error
	if err := checkModulePCR(c.ModulePCR); err != nil {
		errs = append(errs, err)
	}
	if c.Wasm.MemoryPages > 65536 {
		errs = append(errs, fmt.Errorf("[wasm] memory_pages %d exceeds 65536", c.Wasm.MemoryPages))
	}
	seen := map[string]bool{}
	ids := map[uint32]bool{}
	for i := range c.IMCs {
		m := &c.IMCs[i]
		switch {
		case m.Name == "":
			errs = append(errs, fmt.Errorf("[[imc]] #%d has no name", i+1))
			continue
		case seen[m.Name]:
			errs = append(errs, fmt.Errorf("IMC %q is configured twice", m.Name))
		case m.Path == "":
			errs = append(errs, fmt.Errorf("IMC %q has no path", m.Name))
		}
		seen[m.Name] = true
		if m.ID != 0 {
			if ids[m.ID] || m.ID > 0xfffe {
				errs = append(errs, fmt.Errorf("IMC %q: id %d is used twice or out of range", m.Name, m.ID))
			}
			ids[m.ID] = true
		}
		for _, g := range m.Grants {
			if !capability.Grantable(g) {
				errs = append(errs, fmt.Errorf("IMC %q grants unknown host function %q", m.Name, g))
			}
		}
		for _, l := range [][]string{m.PASend, m.PAReceive} {
			if _, err := parsePATypes(l); err != nil {
				errs = append(errs, fmt.Errorf("IMC %q: %v", m.Name, err))
			}
		}
		if err := capability.CheckFilesAllowlist(m.Files); err != nil {
			errs = append(errs, fmt.Errorf("IMC %q: %v", m.Name, err))
		}
		if m.SHA256 != "" {
			if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != 32 {
				errs = append(errs, fmt.Errorf("IMC %q: sha256 must be 64 hex digits", m.Name))
			}
		}
		if m.MemoryPages > 65536 {
			errs = append(errs, fmt.Errorf("IMC %q: memory_pages %d exceeds 65536", m.Name, m.MemoryPages))
		}
	}
	return errors.Join(errs...)
}

// source names the configuration in messages: its file, as a person
// would look for it (config.toml or a tnc_config).
func (c *Config) source() string {
	if c == nil || c.Path == "" {
		return "the configuration"
	}
	return c.Path
}

// memoryPages and callTimeout resolve an IMC's limits against [wasm].
func (c *Config) memoryPages(m *IMCConfig) uint32 {
	if m.MemoryPages != 0 {
		return m.MemoryPages
	}
	return c.Wasm.MemoryPages
}

func (c *Config) callTimeout(m *IMCConfig) time.Duration {
	if m.CallTimeout != 0 {
		return m.CallTimeout
	}
	return c.Wasm.CallTimeout
}

// SettingMaxMessageSize is the IMC setting that bounds its PA-TNC messages;
// when an IMC's settings leave it out, config_get answers the [tnccs]
// max_message_size of the connection.
const SettingMaxMessageSize = capability.SettingMaxMessageSize
