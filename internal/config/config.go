// Package config reads imchost's config.toml (DESIGN.md; the repository's
// config.toml is the commented reference) or a strongSwan tnc_config,
// applies the command line's overrides in one place, validates the whole,
// and hands each part to its owner: the wasm host gets [wasm] and [[imc]]
// (Host), the PB-TNC client its limits and its PT-TLS peer ([tnccs],
// [pdp]), the TPM its device and boot event log ([tpm]), the logger [log].
// `imchost run` reads the file again on SIGHUP (Load with the same
// Overrides) and hands the new parts out; Restart lists the changed keys a
// running process cannot take.
package config

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/tnccs/pb"
)

// Shipped is the repository's config.toml (a test keeps the copy equal):
// imchost-demo runs on it, and the IMCs of a tnc_config named as the
// shipped ones get its grants and settings.
//
//go:embed config.toml
var Shipped []byte

// DefaultPort is the PT-TLS port (RFC 6876 section 6.1), [pdp] port's
// default.
const DefaultPort = 271

// Config is the whole config.toml.
type Config struct {
	Log   Log   `toml:"log"`
	TPM   TPM   `toml:"tpm"`
	PDP   PDP   `toml:"pdp"`
	TNCCS TNCCS `toml:"tnccs"`
	Wasm  Wasm  `toml:"wasm"`
	IMCs  []IMC `toml:"imc"`
	// Path is the file the configuration was read from ("" when parsed
	// from bytes).
	Path string `toml:"-"`
	// TNCConfig reports that Path is a strongSwan tnc_config file (IMC
	// lines only), not config.toml.
	TNCConfig bool `toml:"-"`
}

// Log is [log].
type Log struct {
	Level  string `toml:"level"`  // error|warn|info|debug|trace
	Format string `toml:"format"` // text|json
}

// TPM is [tpm].
type TPM struct {
	Device   string `toml:"device"`   // "/dev/tpmrm0", "tcp:host:port", "mssim:host:port" or "none"
	EventLog string `toml:"eventlog"` // boot event log path
	// ModulePCR, when not 0, is the PCR every module version put in
	// service is measured into (8 to 22, not 10 or 16).
	ModulePCR int `toml:"module_pcr"`
	// ModuleLog is the module measurement log (default host.DefaultModuleLog).
	ModuleLog string `toml:"module_log"`
}

// PDP is [pdp]: where `imchost run` connects and how it authenticates.
type PDP struct {
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
	// KeepSession makes `imchost run --interval` keep its PB-TNC session
	// open between assessments: it answers the PDP's SRETRY and re-assesses
	// with CRETRY on its timer instead of a new PT-TLS session (RFC 5793
	// Section 3.2), with a new session when the PDP ends the old one.
	KeepSession bool `toml:"keep_session"`
}

// TNCCS is [tnccs].
type TNCCS struct {
	MaxBatchSize   uint32 `toml:"max_batch_size"`
	MaxMessageSize uint32 `toml:"max_message_size"`
}

// Wasm is [wasm].
type Wasm struct {
	CacheDir    string   `toml:"cache_dir"`    // wazero compilation cache
	MemoryPages uint32   `toml:"memory_pages"` // default memory cap per instance (64 KiB pages)
	CallTimeout Duration `toml:"call_timeout"` // default deadline of every call into a module
	Watch       bool     `toml:"watch"`        // watch module files and the config, reload on change
	// TrustedKeys are Ed25519 public keys (PEM files) whose signatures a
	// module may carry; relative to the config file.
	TrustedKeys      []string `toml:"trusted_keys"`
	RequireSignature bool     `toml:"require_signature"`
}

// IMC is one [[imc]] entry (host.IMCConfig documents each key).
type IMC struct {
	Name        string   `toml:"name"`
	ID          uint32   `toml:"id"`
	Path        string   `toml:"path"` // relative paths are relative to the config file
	SHA256      string   `toml:"sha256"`
	Grants      []string `toml:"grants"`
	PASend      []string `toml:"pa_send"`
	PAReceive   []string `toml:"pa_receive"`
	Settings    Settings `toml:"settings"`
	Files       []string `toml:"files"`
	MemoryPages uint32   `toml:"memory_pages"`
	CallTimeout Duration `toml:"call_timeout"`
	Signers     []string `toml:"signers"`
	Signature   string   `toml:"signature"`
	Lazy        bool     `toml:"lazy"`
	Prefetch    bool     `toml:"prefetch"`
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

// Overrides are the command line's values over the file's: `imchost run`'s
// flags (strongSwan pt-tls-client's where they overlap). Empty and zero
// fields leave the file's value.
type Overrides struct {
	Connect, CA, ServerName, Key, Client string // [pdp] host, ca, server_name, key, client
	Port                                 int    // [pdp] port
	// Secret and SecretFile replace both [pdp] secret and secret_file
	// (Secret first); SecretEnv ($IMCHOST_SECRET) only when neither is given.
	Secret, SecretFile, SecretEnv string
	TPM, EventLog                 string // [tpm] device, eventlog
	// WasmDir points every module at the file of the same name in it.
	WasmDir string
}

// Load reads path — config.toml, or a strongSwan tnc_config when the
// file's first statement is an `IMC "name" path` line — fills the
// defaults, applies o, and validates the whole. Relative paths in it are
// resolved against the file's directory. Errors name the file (and, for
// TOML syntax, the line and key).
func Load(path string, o Overrides) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: reading %w", err)
	}
	var c *Config
	if isTNCConfig(b) {
		c = &Config{TNCConfig: true}
		if c.IMCs, err = ParseTNCConfig(b); err == nil {
			err = c.mapShipped()
		}
	} else {
		c, err = Parse(b)
	}
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
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
	c.Apply(o)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes config.toml contents and fills defaults; unknown keys are
// an error (a misspelt grant list must not go unnoticed).
func Parse(b []byte) (*Config, error) {
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
// IMC gets host.BaseGrants.
func ParseTNCConfig(b []byte) ([]IMC, error) {
	var out []IMC
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
		out = append(out, IMC{Name: name, Path: path, Grants: slices.Clone(host.BaseGrants)})
	}
	return out, sc.Err()
}

// mapShipped gives the IMCs of a strongSwan tnc_config (/etc/tnc_config:
// `IMC "OS" /usr/lib/imchost/imcs/imc-os.wasm`) whose names are those of
// the shipped IMCs, OS and Attestation as strongSwan names its own, what
// the shipped config.toml gives them: their grants, PA subtypes, file
// access and settings (aik_handle, device_handle, ...). A tnc_config has no
// place for these, and the base grants alone would refuse both modules.
// Other names keep the base grants.
func (c *Config) mapShipped() error {
	shipped, err := Parse(Shipped)
	if err != nil {
		return fmt.Errorf("the built-in configuration: %w", err)
	}
	c.setDefaults()
	for i := range c.IMCs {
		m := &c.IMCs[i]
		for _, s := range shipped.IMCs {
			if !strings.EqualFold(s.Name, m.Name) {
				continue
			}
			m.Grants = slices.Clone(s.Grants)
			m.PASend, m.PAReceive = slices.Clone(s.PASend), slices.Clone(s.PAReceive)
			m.Files = slices.Clone(s.Files)
			m.Settings = maps.Clone(s.Settings)
			m.Lazy, m.Prefetch = s.Lazy, s.Prefetch
		}
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.Wasm.CacheDir == "" {
		c.Wasm.CacheDir = host.DefaultCacheDir
	}
	if c.Wasm.MemoryPages == 0 {
		c.Wasm.MemoryPages = host.DefaultMemoryPages
	}
	if c.Wasm.CallTimeout == 0 {
		c.Wasm.CallTimeout = Duration(host.DefaultCallTimeout)
	}
	if c.TPM.EventLog == "" {
		c.TPM.EventLog = host.DefaultEventLogPath
	}
}

// Apply lets the command line override the file: the one place where
// flags meet config.toml. Limits left unset become PT-TLS's, the transport
// `imchost run` speaks (strongSwan's pt-tls-client uses the same:
// 2097136-byte batches, 2097104-byte PA-TNC messages), so that the IMCs
// are told the size the connection really takes and a large boot log goes
// in one batch; [pdp] port defaults to 271.
func (c *Config) Apply(o Overrides) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.PDP.Host, o.Connect)
	set(&c.PDP.CA, o.CA)
	set(&c.PDP.ServerName, o.ServerName)
	set(&c.PDP.Key, o.Key)
	set(&c.PDP.Client, o.Client)
	switch {
	case o.Secret != "":
		c.PDP.Secret, c.PDP.SecretFile = o.Secret, ""
	case o.SecretFile != "":
		c.PDP.Secret, c.PDP.SecretFile = "", o.SecretFile
	case o.SecretEnv != "":
		c.PDP.Secret, c.PDP.SecretFile = o.SecretEnv, ""
	}
	set(&c.TPM.Device, o.TPM)
	set(&c.TPM.EventLog, o.EventLog)
	if o.Port != 0 {
		c.PDP.Port = o.Port
	}
	if c.PDP.Port == 0 {
		c.PDP.Port = DefaultPort
	}
	if o.WasmDir != "" {
		for i := range c.IMCs {
			c.IMCs[i].Path = filepath.Join(o.WasmDir, filepath.Base(c.IMCs[i].Path))
		}
	}
	l := c.Limits().Over(pb.PTTLSLimits)
	c.TNCCS.MaxBatchSize, c.TNCCS.MaxMessageSize = uint32(l.MaxBatchSize), uint32(l.MaxMessageSize)
}

// Validate checks what the host relies on (host.Config.Validate: unique
// IMC names, module paths, known grants, pins, memory limits, module_pcr).
// [log] is checked where the logger is made, [pdp] where the client is.
func (c *Config) Validate() error {
	return c.Host().Validate()
}

// Host is the wasm host's part: [wasm], [[imc]], the connections' limits
// ([tnccs]) and [tpm] eventlog, module_pcr and module_log. The result
// shares nothing with c.
func (c *Config) Host() *host.Config {
	h := &host.Config{
		Wasm: host.WasmConfig{
			CacheDir: c.Wasm.CacheDir, MemoryPages: c.Wasm.MemoryPages, CallTimeout: time.Duration(c.Wasm.CallTimeout),
			Watch: c.Wasm.Watch, TrustedKeys: slices.Clone(c.Wasm.TrustedKeys), RequireSignature: c.Wasm.RequireSignature,
		},
		Limits:   host.Limits{MaxBatchSize: c.TNCCS.MaxBatchSize, MaxMessageSize: c.TNCCS.MaxMessageSize},
		EventLog: c.TPM.EventLog, ModulePCR: c.TPM.ModulePCR, ModuleLog: c.TPM.ModuleLog,
		Path: c.Path,
	}
	for _, m := range c.IMCs {
		h.IMCs = append(h.IMCs, host.IMCConfig{
			Name: m.Name, ID: m.ID, Path: m.Path, SHA256: m.SHA256, Grants: slices.Clone(m.Grants),
			PASend: slices.Clone(m.PASend), PAReceive: slices.Clone(m.PAReceive), Settings: host.Settings(maps.Clone(m.Settings)),
			Files: slices.Clone(m.Files), MemoryPages: m.MemoryPages, CallTimeout: time.Duration(m.CallTimeout),
			Signers: slices.Clone(m.Signers), Signature: m.Signature, Lazy: m.Lazy, Prefetch: m.Prefetch,
		})
	}
	return h
}

// Limits are the PB-TNC client's limits ([tnccs]); the host's are the same
// (Host).
func (c *Config) Limits() pb.Limits {
	return pb.Limits{MaxBatchSize: int(c.TNCCS.MaxBatchSize), MaxMessageSize: int(c.TNCCS.MaxMessageSize)}
}
