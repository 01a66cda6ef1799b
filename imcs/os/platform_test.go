//go:build !wasip1

package main

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
)

// machine describes a fixture root for capability.FSSystem.
type machine struct {
	osRelease  []byte // nil: no os-release file
	btime      int64  // 0: no proc/stat (system_facts fails)
	ipv4, ipv6 bool
	machineID  string
	dpkgStatus string // path of a dpkg status file to install, "" for none
}

// root writes m under a temporary directory and returns the System of that
// machine, with a fixed uname -m.
func (m machine) system(t testing.TB, arch string) *capability.FSSystem {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, data []byte) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	flag := func(on bool) []byte {
		if on {
			return []byte("1\n")
		}
		return []byte("0\n")
	}
	if m.osRelease != nil {
		write("etc/os-release", m.osRelease)
	}
	if m.btime != 0 {
		write("proc/stat", []byte("cpu  1 2 3 4\nbtime "+strconv.FormatInt(m.btime, 10)+"\nprocesses 42\n"))
	}
	write("proc/sys/net/ipv4/ip_forward", flag(m.ipv4))
	write("proc/sys/net/ipv6/conf/all/forwarding", flag(m.ipv6))
	if m.machineID != "" {
		write("etc/machine-id", []byte(m.machineID+"\n"))
	}
	if m.dpkgStatus != "" {
		b, err := os.ReadFile(m.dpkgStatus)
		if err != nil {
			t.Fatal(err)
		}
		write("var/lib/dpkg/status", b)
	}
	return &capability.FSSystem{Root: dir, Arch: arch}
}

// recordedTPM is a capability.TPM that holds just the recorded run's Attestation
// Key (the shared testdata/ak/ak-0x81010003.pem; its private half is not available, so it
// cannot live in a simulator). Everything else is unavailable.
type recordedTPM struct{ aik abi.AIK }

func newRecordedTPM(t testing.TB) recordedTPM {
	t.Helper()
	b, err := os.ReadFile(testutil.Data("ak", "ak-0x81010003.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("ak-0x81010003.pem: no PEM block")
	}
	sum := sha1.Sum(blk.Bytes)
	keyid := hex.EncodeToString(sum[:])
	want, err := os.ReadFile(testutil.Data("ak", "ak-0x81010003.keyid"))
	if err != nil {
		t.Fatal(err)
	}
	if keyid != strings.TrimSpace(string(want)) {
		t.Fatalf("keyid of the recorded AK is %s, the recording says %s", keyid, want)
	}
	return recordedTPM{abi.AIK{Handle: 0x81010003, PublicDER: blk.Bytes, KeyID: keyid,
		SigAlg: abi.AlgECDSA, HashAlg: abi.AlgSHA256}}
}

func (r recordedTPM) VersionInfo(context.Context) (abi.TPMVersionInfo, error) {
	return abi.TPMVersionInfo{}, capability.ErrUnavailable
}
func (r recordedTPM) Banks(context.Context) ([]uint16, error) { return nil, capability.ErrUnavailable }
func (r recordedTPM) AIK(_ context.Context, h uint32) (abi.AIK, error) {
	if h != r.aik.Handle {
		return abi.AIK{}, capability.ErrNotFound
	}
	return r.aik, nil
}
func (r recordedTPM) Quote(context.Context, abi.QuoteRequest) (abi.Quote, error) {
	return abi.Quote{}, capability.ErrUnavailable
}
func (r recordedTPM) EventLog(context.Context, string, uint16) (abi.EventLog, error) {
	return abi.EventLog{}, capability.ErrUnavailable
}

// dpkgInstalled reads a dpkg status file as dpkg-query does for strongSwan:
// every package whose status is exactly "install ok installed". It is the
// test's own reading, independent of the host's parser.
func dpkgInstalled(t testing.TB, path string) []abi.Package {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []abi.Package
	var p abi.Package
	var status string
	flush := func() {
		if p.Name != "" && status == "install ok installed" {
			out = append(out, p)
		}
		p, status = abi.Package{}, ""
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "Package: "):
			p.Name = strings.TrimPrefix(line, "Package: ")
		case strings.HasPrefix(line, "Version: "):
			p.Version = strings.TrimPrefix(line, "Version: ")
		case strings.HasPrefix(line, "Status: "):
			status = strings.TrimPrefix(line, "Status: ")
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// keyID is SHA-1 over a DER SubjectPublicKeyInfo, lower-case hex.
func keyID(spki []byte) string {
	sum := sha1.Sum(spki)
	return hex.EncodeToString(sum[:])
}
