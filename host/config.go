package host

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/imchost/imchost/abi"
)

// Defaults for the [wasm] table.
const (
	DefaultCacheDir    = "/var/cache/imchost"
	DefaultMemoryPages = 512 // 32 MiB
	DefaultCallTimeout = 2 * time.Second
	// DefaultEventLogPath is where Linux exposes the boot event log.
	DefaultEventLogPath = "/sys/kernel/security/tpm0/binary_bios_measurements"
	// DefaultModuleLog is where the module measurements are logged: in
	// /run, which starts empty at boot as the PCR does.
	DefaultModuleLog = "/run/imchost/module-measurements"
	// maxModuleSize bounds a module file read from disk.
	maxModuleSize = 64 << 20
)

// Config is the whole config.toml of DESIGN.md. The CLI loads it with
// LoadConfig and hands it to New; the host itself uses [wasm], [tpm]
// eventlog and [[imc]].
type Config struct {
	Log   LogConfig   `toml:"log"`
	TPM   TPMConfig   `toml:"tpm"`
	PDP   PDPConfig   `toml:"pdp"`
	TNCCS TNCCSConfig `toml:"tnccs"`
	Wasm  WasmConfig  `toml:"wasm"`
	IMCs  []IMCConfig `toml:"imc"`
	// Path is the file the configuration was read from ("" when built in
	// code); Reload re-reads it.
	Path string `toml:"-"`
	// TNCConfig reports that Path is a strongSwan tnc_config file (IMC
	// lines only), not config.toml.
	TNCConfig bool `toml:"-"`
}

// LogConfig is [log].
type LogConfig struct {
	Level  string `toml:"level"`  // error|warn|info|debug|trace
	Format string `toml:"format"` // text|json
}

// TPMConfig is [tpm].
type TPMConfig struct {
	Device   string `toml:"device"`   // "/dev/tpmrm0", "tcp:host:port", "mssim:host:port" or "none"
	EventLog string `toml:"eventlog"` // boot event log path
	// ModulePCR, when not 0, is the PCR every module version put in
	// service is measured into (8 to 22, not 10 or 16; see measure.go).
	ModulePCR int `toml:"module_pcr"`
	// ModuleLog is the module measurement log (default DefaultModuleLog).
	ModuleLog string `toml:"module_log"`
}

// PDPConfig is [pdp]: where `imchost run` connects and how it authenticates.
type PDPConfig struct {
	Host       string `toml:"host"`
	Port       int    `toml:"port"`
	CA         string `toml:"ca"`
	ServerName string `toml:"server_name"`
	Cert       string `toml:"cert"`
	Key        string `toml:"key"`
	Client     string `toml:"client"`
	Secret     string `toml:"secret"`
	// SecretFile holds the SASL PLAIN password (its first line); the CLI
	// refuses it when the group or others may read it.
	SecretFile string `toml:"secret_file"`
	// Referrals restricts or disables following PB-PDP-Referrals (unset:
	// any is followed).
	Referrals *Referrals `toml:"referrals"`
}

// TNCCSConfig is [tnccs].
type TNCCSConfig struct {
	MaxBatchSize   uint32 `toml:"max_batch_size"`
	MaxMessageSize uint32 `toml:"max_message_size"`
}

// WasmConfig is [wasm].
type WasmConfig struct {
	CacheDir    string   `toml:"cache_dir"`    // wazero compilation cache
	MemoryPages uint32   `toml:"memory_pages"` // default memory cap per instance (64 KiB pages)
	CallTimeout Duration `toml:"call_timeout"` // default deadline of every call into a module
	Watch       bool     `toml:"watch"`        // watch module files and the config, reload on change
	// TrustedKeys are Ed25519 public keys (PEM files, see signature.go)
	// whose signatures a module may carry; relative to the config file.
	TrustedKeys []string `toml:"trusted_keys"`
	// RequireSignature refuses, at load and at reload, every module
	// without a signature by a trusted key (its signers, else TrustedKeys).
	RequireSignature bool `toml:"require_signature"`
}

// IMCConfig is one [[imc]] entry. The order of entries gives the IMC IDs,
// starting at 1.
type IMCConfig struct {
	Name string `toml:"name"`
	// ID is the IMC ID; 0 (the default) numbers the IMCs in config order
	// from 1, skipping IDs given explicitly.
	ID     uint32   `toml:"id"`
	Path   string   `toml:"path"`   // relative paths are relative to the config file
	SHA256 string   `toml:"sha256"` // optional pin, 64 hex digits
	Grants []string `toml:"grants"` // host functions the module may import
	// PASend and PAReceive are the module's PA lane: the PA message types
	// ("ietf/os", "tcg/pts", "32473/1", "tcg/*") it may send and receive.
	// Unset: the types it subscribes to. A send outside the lane is
	// refused with abi.StatusDenied.
	PASend    []string `toml:"pa_send"`
	PAReceive []string `toml:"pa_receive"`
	// Settings reach the module through config_get; some are read by the
	// host itself: aik_handle, aik_cert, eventlog.
	Settings Settings `toml:"settings"`
	// Files is the module's file allowlist: absolute paths of files and
	// directories (everything under a directory) that file_measure and
	// file_metadata may reach. Empty: none.
	Files       []string `toml:"files"`
	MemoryPages uint32   `toml:"memory_pages"` // 0: [wasm] memory_pages
	CallTimeout Duration `toml:"call_timeout"` // 0: [wasm] call_timeout
	// Signers, when set, are the only public keys (PEM files) whose
	// signature this module is accepted with, and make one required.
	Signers []string `toml:"signers"`
	// Signature is the module's detached signature file (default: the
	// module's path and ".sig").
	Signature string `toml:"signature"`
}

// Settings are an IMC's settings. TOML values of any scalar type are kept
// as their string form (nonce_len = 20 and nonce_len = "20" are the same).
type Settings map[string]string

// UnmarshalTOML implements toml.Unmarshaler.
func (s *Settings) UnmarshalTOML(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("settings must be a table, not %T", v)
	}
	out := make(Settings, len(m))
	for k, x := range m {
		switch x := x.(type) {
		case string:
			out[k] = x
		case int64:
			out[k] = strconv.FormatInt(x, 10)
		case float64:
			out[k] = strconv.FormatFloat(x, 'g', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(x)
		default:
			return fmt.Errorf("setting %q: unsupported value type %T", k, x)
		}
	}
	*s = out
	return nil
}

// Duration is a time.Duration written as "2s" or "500ms" in TOML.
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// grantable lists every host function a grant may name. result_take is not
// in it: every module may import it.
var grantable = map[string]bool{
	abi.FnSend: true, abi.FnSubscribe: true, abi.FnLog: true, abi.FnLogLevel: true,
	abi.FnConfigGet: true, abi.FnOSRelease: true, abi.FnSystemFacts: true, abi.FnReport: true,
	abi.FnTPMVersionInfo: true, abi.FnTPMBanks: true, abi.FnTPMAIK: true, abi.FnTPMQuote: true,
	abi.FnEventLog: true, abi.FnSymlinks: true, abi.FnDHCreate: true, abi.FnDHFinish: true,
	abi.FnHash: true, abi.FnRandom: true, abi.FnPackages: true, abi.FnIMAEvents: true,
	abi.FnFileMeasure: true, abi.FnFileMetadata: true,
}

// BaseGrants are the grants of an IMC listed in a strongSwan tnc_config
// file, which has no place for grants: enough to talk, log and read its
// settings, nothing that touches the system or the TPM.
var BaseGrants = []string{abi.FnSend, abi.FnSubscribe, abi.FnLog, abi.FnLogLevel, abi.FnConfigGet, abi.FnReport}

// LoadConfig reads config.toml (or, when the file's first statement is an
// `IMC "name" path` line, a strongSwan /etc/tnc_config), fills defaults and
// validates it. Relative module paths are resolved against the file's
// directory.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("host: reading config: %w", err)
	}
	var c *Config
	if isTNCConfig(b) {
		c = &Config{TNCConfig: true}
		c.IMCs, err = ParseTNCConfig(b)
	} else {
		c, err = ParseConfig(b)
	}
	if err != nil {
		return nil, fmt.Errorf("host: %s: %w", path, err)
	}
	c.Path = path
	dir := filepath.Dir(path)
	rel := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	for i := range c.Wasm.TrustedKeys {
		rel(&c.Wasm.TrustedKeys[i])
	}
	for i := range c.IMCs {
		rel(&c.IMCs[i].Path)
		rel(&c.IMCs[i].Signature)
		for j := range c.IMCs[i].Signers {
			rel(&c.IMCs[i].Signers[j])
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("host: %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes config.toml contents and fills defaults; unknown keys
// are an error (a misspelt grant list must not go unnoticed).
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		return nil, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("unknown keys: %s", strings.Join(keys, ", "))
	}
	c.setDefaults()
	return &c, nil
}

func isTNCConfig(b []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		return strings.HasPrefix(line, "IMC ") || strings.HasPrefix(line, "IMC\t") ||
			strings.HasPrefix(line, "IMV ") || strings.HasPrefix(line, "IMV\t")
	}
	return false
}

// ParseTNCConfig reads strongSwan's tnc_config format: lines
// `IMC "name" /path/to/module.wasm`, '#' comments, IMV lines ignored. Each
// IMC gets BaseGrants.
func ParseTNCConfig(b []byte) ([]IMCConfig, error) {
	var out []IMCConfig
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, rest, _ := strings.Cut(line, " ")
		if kind == "IMV" {
			continue
		}
		if kind != "IMC" {
			return nil, fmt.Errorf("line %d: expected IMC \"name\" path", n)
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, `"`) {
			return nil, fmt.Errorf("line %d: IMC name must be quoted", n)
		}
		name, path, ok := strings.Cut(rest[1:], `"`)
		path = strings.TrimSpace(path)
		if !ok || name == "" || path == "" {
			return nil, fmt.Errorf("line %d: expected IMC \"name\" path", n)
		}
		out = append(out, IMCConfig{Name: name, Path: path, Grants: append([]string(nil), BaseGrants...)})
	}
	return out, sc.Err()
}

func (c *Config) setDefaults() {
	if c.Wasm.CacheDir == "" {
		c.Wasm.CacheDir = DefaultCacheDir
	}
	if c.Wasm.MemoryPages == 0 {
		c.Wasm.MemoryPages = DefaultMemoryPages
	}
	if c.Wasm.CallTimeout == 0 {
		c.Wasm.CallTimeout = Duration(DefaultCallTimeout)
	}
	if c.TPM.EventLog == "" {
		c.TPM.EventLog = DefaultEventLogPath
	}
}

// Validate checks what the host relies on: unique non-empty IMC names,
// module paths, known grants, well-formed pins and memory limits.
func (c *Config) Validate() error {
	c.setDefaults()
	var errs []error
	if err := checkModulePCR(c.TPM.ModulePCR); err != nil {
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
			if !grantable[g] {
				errs = append(errs, fmt.Errorf("IMC %q grants unknown host function %q", m.Name, g))
			}
		}
		for _, l := range [][]string{m.PASend, m.PAReceive} {
			if _, err := parsePATypes(l); err != nil {
				errs = append(errs, fmt.Errorf("IMC %q: %v", m.Name, err))
			}
		}
		if err := checkFilesAllowlist(m.Files); err != nil {
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
		return time.Duration(m.CallTimeout)
	}
	return time.Duration(c.Wasm.CallTimeout)
}

// SettingMaxMessageSize is the IMC setting that bounds its PA-TNC messages;
// when an IMC's settings leave it out, config_get answers the [tnccs]
// max_message_size of the connection.
const SettingMaxMessageSize = "max_message_size"
