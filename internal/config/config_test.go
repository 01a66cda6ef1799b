package config

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/host"
)

const fullConfig = `
[log]
level = "info"
format = "text"
[tpm]
device = "simulator"
eventlog = "/tmp/log"
[pdp]
host = "pdp.example.org"
port = 271
ca = "/etc/imchost/pdp-ca.pem"
server_name = "pdp"
cert = ""
key = ""
client = "user"
secret = "pw"
[tnccs]
max_batch_size = 65522
max_message_size = 65490
[wasm]
cache_dir = "/var/cache/imchost"
memory_pages = 256
call_timeout = "500ms"
watch = true
[[imc]]
name = "OS"
path = "imcs/imc-os.wasm"
grants = ["send", "subscribe", "log", "os_release", "system_facts", "tpm_aik"]
settings = { device_handle = "0x81010003" }
[[imc]]
name = "Attestation"
path = "/usr/lib/imchost/imcs/imc-attestation.wasm"
sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
memory_pages = 1024
call_timeout = "5s"
grants = ["send", "subscribe", "log", "tpm_version_info", "tpm_banks", "tpm_aik", "tpm_quote",
          "eventlog_events", "symlinks", "dh_create", "dh_finish", "hash", "random"]
settings = { aik_handle = "0x81010003", hash_algorithm = "sha256", nonce_len = 20, mandatory_dh_groups = true }
`

func writeConfig(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig(t *testing.T) {
	p := writeConfig(t, fullConfig)
	c, err := Load(p, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if c.PDP.Port != 271 || c.PDP.Client != "user" || c.TNCCS.MaxMessageSize != 65490 || !c.Wasm.Watch ||
		time.Duration(c.Wasm.CallTimeout) != 500*time.Millisecond || c.TPM.Device != "simulator" {
		t.Fatalf("%+v", c)
	}
	if len(c.IMCs) != 2 || c.IMCs[0].Path != filepath.Join(filepath.Dir(p), "imcs/imc-os.wasm") {
		t.Fatalf("imcs %+v", c.IMCs)
	}
	a := &c.IMCs[1]
	if a.Settings["nonce_len"] != "20" || a.Settings["mandatory_dh_groups"] != "true" || a.Settings["aik_handle"] != "0x81010003" {
		t.Fatalf("settings %v", a.Settings)
	}
	h := c.Host()
	if h.IMCs[1].MemoryPages != 1024 || h.IMCs[1].CallTimeout != 5*time.Second || h.Wasm.MemoryPages != 256 ||
		h.Wasm.CallTimeout != 500*time.Millisecond || h.IMCs[1].Settings["nonce_len"] != "20" ||
		h.Limits.MaxMessageSize != 65490 || h.Limits.MaxBatchSize != 65522 || h.EventLog != "/tmp/log" || h.Path != p {
		t.Fatalf("host part %+v", h)
	}
	if c.Path != p {
		t.Fatal("path")
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := Load(writeConfig(t, "[log]\nlevel = \"debug\"\n"), Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Wasm.CacheDir != host.DefaultCacheDir || c.Wasm.MemoryPages != host.DefaultMemoryPages ||
		time.Duration(c.Wasm.CallTimeout) != host.DefaultCallTimeout || c.TPM.EventLog != host.DefaultEventLogPath {
		t.Fatalf("%+v", c.Wasm)
	}
	// imchost run's transport, PT-TLS, when [tnccs] leaves them unset.
	if c.PDP.Port != DefaultPort || c.TNCCS.MaxBatchSize != 2097136 || c.TNCCS.MaxMessageSize != 2097104 {
		t.Fatalf("pdp %+v tnccs %+v", c.PDP, c.TNCCS)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown key", "[wasm]\nmemory_page = 3\n", "unknown keys: wasm.memory_page"},
		{"unknown grant", "[[imc]]\nname = \"a\"\npath = \"x\"\ngrants = [\"tpm_everything\"]\n", `grants unknown host function "tpm_everything"`},
		{"duplicate name", "[[imc]]\nname = \"a\"\npath = \"x\"\n[[imc]]\nname = \"a\"\npath = \"y\"\n", `IMC "a" is configured twice`},
		{"bad pin", "[[imc]]\nname = \"a\"\npath = \"x\"\nsha256 = \"abc\"\n", "sha256 must be 64 hex digits"},
		{"no path", "[[imc]]\nname = \"a\"\n", `IMC "a" has no path`},
		{"bad duration", "[wasm]\ncall_timeout = \"soon\"\n", "invalid duration"},
		{"too many pages", "[wasm]\nmemory_pages = 70000\n", "exceeds 65536"},
		{"table setting", "[[imc]]\nname = \"a\"\npath = \"x\"\nsettings = { a = { b = 1 } }\n", "unsupported value type"},
		{"syntax", "[[imc]\n", "toml: line 2"},
		{"wrong type", "[wasm]\nwatch = true\nmemory_pages = \"many\"\n", `line 3 (last key "wasm.memory_pages")`},
		{"bad module_pcr", "[tpm]\nmodule_pcr = 10\n", "[tpm] module_pcr 10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.in)
			_, err := Load(p, Overrides{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestTNCConfig: a strongSwan tnc_config's IMCs, relative paths resolved;
// the shipped IMCs' names get the shipped grants and settings, another
// name the base grants.
func TestTNCConfig(t *testing.T) {
	p := writeConfig(t, "#IMC-Configuration\nIMC \"OS\"           /usr/lib/imchost/imc-os.wasm\n\nIMV \"X\" /x.so\nIMC \"Vendor\"  imc-vendor.wasm\n")
	c, err := Load(p, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.TNCConfig || len(c.IMCs) != 2 || c.IMCs[0].Name != "OS" || c.IMCs[0].Path != "/usr/lib/imchost/imc-os.wasm" ||
		c.IMCs[1].Path != filepath.Join(filepath.Dir(p), "imc-vendor.wasm") || !slices.Equal(c.IMCs[1].Grants, host.BaseGrants) {
		t.Fatalf("%+v", c.IMCs)
	}
	if !slices.Contains(c.IMCs[0].Grants, "os_release") || c.IMCs[0].Settings["device_handle"] != "0x81010003" {
		t.Fatalf("the OS IMC lacks the shipped grants and settings: %+v", c.IMCs[0])
	}
	if _, err := ParseTNCConfig([]byte("IMC OS /x\n")); err == nil {
		t.Fatal("unquoted name accepted")
	}
}

// TestShippedIsTheRootConfig: the embedded config.toml is the repository's.
func TestShippedIsTheRootConfig(t *testing.T) {
	root, err := os.ReadFile("../../config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(root, Shipped) {
		t.Fatal("internal/config/config.toml differs from config.toml: copy the root file over it")
	}
}
