package interop

import (
	"encoding/binary"
	"fmt"
	"github.com/imchost/imchost/internal/testutil"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/internal/swtpm"
	"github.com/imchost/imchost/tpmhost"
)

// akHandle is where both clients find the Attestation Key.
const akHandle = 0x81010003

// endpoint is one attested machine: a swtpm started at locality 3 (PCR 0
// starts at 0…03: strongSwan's Attestation IMC and IMV assume locality 3
// for every TPM 2.0, whatever the log says), dictionary-attack protection
// off, an ECC P-256
// AK at akHandle, PCRs extended from the boot log. Either client runs on it.
type endpoint struct {
	tpm     *swtpm.Instance
	ak      *tpmhost.AK
	logPath string // the boot log the PCRs were extended from
	imaPath string // the IMA list PCR 10 was extended from ("" none: newIMAEndpoint)
	dir     string
	// relayPort is where strongSwan's TCTI reaches the swtpm (tctiPort).
	relayPort int
}

// newEndpoint prepares a swtpm from the boot log at logPath.
func newEndpoint(t *testing.T, logPath string) *endpoint {
	t.Helper()
	l, err := tpmhost.ReadEventLog(logPath)
	if err != nil {
		t.Fatal(err)
	}
	inst := swtpm.Start(t, swtpm.WithLocality(3))
	disableDA(t, inst)
	logger := hclog.New(&hclog.LoggerOptions{Name: "tpm", Level: hclog.Warn, Output: testutil.LogWriter(t)})
	tpm, err := tpmhost.Open(inst.Spec, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	ak, err := tpm.ProvisionAK(akHandle, tpmhost.AKECCP256, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpm.ExtendFromLog(l); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(logPath)
	if err != nil {
		t.Fatal(err)
	}
	e := &endpoint{tpm: inst, ak: ak, logPath: abs, dir: t.TempDir()}
	e.startRelay(t) // for the whole life of the endpoint, not one subtest's
	return e
}

// disableDA sets the TPM's dictionary-attack parameters so that no lockout
// can happen (newRecoveryTime 0 disables DA protection; TPM 2.0 Part 3
// §25.3, TPM2_DictionaryAttackParameters, with the empty lockoutAuth).
func disableDA(t *testing.T, inst *swtpm.Instance) {
	t.Helper()
	cmd := []byte{0x80, 0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x3a} // TPM_ST_SESSIONS, size, TPM_CC_DictionaryAttackParameters
	cmd = binary.BigEndian.AppendUint32(cmd, 0x4000000a)    // TPM_RH_LOCKOUT
	cmd = binary.BigEndian.AppendUint32(cmd, 9)             // authorizationSize
	cmd = binary.BigEndian.AppendUint32(cmd, 0x40000009)    // TPM_RS_PW
	cmd = append(cmd, 0, 0, 0, 0, 0)                        // empty nonce, attributes 0, empty password
	cmd = binary.BigEndian.AppendUint32(cmd, 32)            // newMaxTries
	cmd = binary.BigEndian.AppendUint32(cmd, 0)             // newRecoveryTime: no lockout
	cmd = binary.BigEndian.AppendUint32(cmd, 0)             // lockoutRecovery
	binary.BigEndian.PutUint32(cmd[2:6], uint32(len(cmd)))
	rsp, err := inst.Raw(cmd)
	if err != nil {
		t.Fatalf("TPM2_DictionaryAttackParameters: %v", err)
	}
	if rc := binary.BigEndian.Uint32(rsp[6:10]); rc != 0 {
		t.Fatalf("TPM2_DictionaryAttackParameters: TPM_RC 0x%x", rc)
	}
}

// fixtureRoot is the file-system root imchost run's OS IMC reads (--root):
// this machine's os-release (the strongSwan client reads the real one, so
// both report the same product), IP forwarding as asked.
func fixtureRoot(t *testing.T, forwarding bool) string {
	t.Helper()
	osRelease, err := os.ReadFile("/etc/os-release")
	if err != nil {
		t.Fatal(err)
	}
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	return testutil.Machine{OSRelease: string(osRelease), Stat: string(stat), Forwarding: forwarding}.Root(t)
}

func onOff(b bool) string {
	if b {
		return "1\n"
	}
	return "0\n"
}

// imchostConfig writes config.toml for `imchost run`: the repository's
// shipped config.toml (its [[imc]] grants and settings: what users get),
// with the compilation cache in the user's cache directory, watching off,
// then edited by edit (when not nil).
func imchostConfig(t *testing.T, dir string, edit func(cfg map[string]any)) string {
	t.Helper()
	var cfg map[string]any
	if _, err := toml.DecodeFile("../../config.toml", &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["wasm"].(map[string]any)["cache_dir"] = wasmCache(dir)
	cfg["wasm"].(map[string]any)["watch"] = false
	if edit != nil {
		edit(cfg)
	}
	path := filepath.Join(dir, "config.toml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := toml.NewEncoder(f).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	return path
}

// tomlTable is the table name of a decoded config.toml, added when
// missing.
func tomlTable(cfg map[string]any, name string) map[string]any {
	sec, _ := cfg[name].(map[string]any)
	if sec == nil {
		sec = map[string]any{}
		cfg[name] = sec
	}
	return sec
}

// imcEntry is the named IMC's [[imc]] entry of a decoded config.toml.
func imcEntry(t *testing.T, cfg map[string]any, name string) map[string]any {
	t.Helper()
	for _, imc := range cfg["imc"].([]map[string]any) {
		if imc["name"] == name {
			return imc
		}
	}
	t.Fatalf("no %s IMC in the configuration", name)
	return nil
}

// setKeys sets the keys of kv in a decoded table.
func setKeys[V any](table map[string]any, kv map[string]V) {
	for k, v := range kv {
		table[k] = v
	}
}

// wasmCache is the modules' compilation cache: in the user's cache
// directory, so that runs after the first do not compile them again.
func wasmCache(fallback string) string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "imchost", "interop-wasm")
	}
	return filepath.Join(fallback, "wasm-cache")
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// tctiPort returns the port P where tpm2-tss's swtpm TCTI (what strongSwan
// uses) reaches the endpoint's swtpm.
func (e *endpoint) tctiPort() int { return e.relayPort }

// startRelay listens on two consecutive loopback ports P and P+1 and relays
// them to the swtpm's data and control channels: the swtpm TCTI finds the
// control channel at P+1, while the test's swtpm has its two sockets where
// the kernel put them. It stops when t ends.
func (e *endpoint) startRelay(t *testing.T) {
	t.Helper()
	for try := 0; try < 50; try++ {
		data, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := data.Addr().(*net.TCPAddr).Port
		ctrl, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1))
		if err != nil {
			data.Close()
			continue
		}
		var wg sync.WaitGroup
		for _, r := range [][2]any{{data, e.tpm.Addr}, {ctrl, e.tpm.CtrlAddr}} {
			ln, to := r[0].(net.Listener), r[1].(string)
			wg.Add(1)
			go func() {
				defer wg.Done()
				relay(ln, to)
			}()
		}
		t.Cleanup(func() {
			data.Close()
			ctrl.Close()
			wg.Wait()
		})
		e.relayPort = port
		return
	}
	t.Fatal("no two consecutive free loopback ports for the swtpm TCTI")
}

// relay copies each connection accepted on ln to a new connection to addr,
// both ways, until either side closes; it returns when ln is closed and
// every connection is done.
func relay(ln net.Listener, addr string) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			s, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer s.Close()
			done := make(chan struct{})
			go func() {
				io.Copy(s, c)
				s.(*net.TCPConn).CloseWrite()
				close(done)
			}()
			io.Copy(c, s)
			c.(*net.TCPConn).CloseWrite()
			<-done
		}()
	}
}
