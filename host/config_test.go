package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	c, err := LoadConfig(p)
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
	if c.memoryPages(a) != 1024 || c.callTimeout(a) != 5*time.Second || c.memoryPages(&c.IMCs[0]) != 256 {
		t.Fatal("limits")
	}
	if c.Path != p {
		t.Fatal("path")
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, "[log]\nlevel = \"debug\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Wasm.CacheDir != DefaultCacheDir || c.Wasm.MemoryPages != DefaultMemoryPages ||
		time.Duration(c.Wasm.CallTimeout) != DefaultCallTimeout || c.TPM.EventLog != DefaultEventLogPath {
		t.Fatalf("%+v", c.Wasm)
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
		{"syntax", "[[imc]\n", "toml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTNCConfig(t *testing.T) {
	p := writeConfig(t, "#IMC-Configuration\nIMC \"OS\"           /usr/lib/imchost/imc-os.wasm\n\nIMV \"X\" /x.so\nIMC \"Attestation\"  imc-attestation.wasm\n")
	c, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.IMCs) != 2 || c.IMCs[0].Name != "OS" || c.IMCs[0].Path != "/usr/lib/imchost/imc-os.wasm" ||
		c.IMCs[1].Path != filepath.Join(filepath.Dir(p), "imc-attestation.wasm") || len(c.IMCs[1].Grants) != len(BaseGrants) {
		t.Fatalf("%+v", c.IMCs)
	}
	if _, err := ParseTNCConfig([]byte("IMC OS /x\n")); err == nil {
		t.Fatal("unquoted name accepted")
	}
}
