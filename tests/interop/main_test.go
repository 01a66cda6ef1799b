// Package interop runs imchost against a real strongSwan, both ways:
// `imchost run` against strongSwan's PDP (charon with tnc-pdp and its OS and
// Attestation IMVs), and strongSwan's pt-tls-client (with its OS and
// Attestation IMCs) against `imchost pdp serve`, each endpoint's TPM a swtpm
// the test starts.
//
// The strongSwan pieces come from build/strongswan.sh; `make interop` builds
// them (once, into the user's cache) and runs this package with
// IMCHOST_STRONGSWAN set to their prefix. Without it every test skips.
//
// Everything runs in a network namespace of its own (TestMain re-executes
// the test binary under unshare): strongSwan's PDP binds the wildcard
// address, and there only the loopback interface exists, so nothing is
// reachable from outside and no port can clash with another user's. Each
// strongSwan process gets a mount namespace of its own on top, where the
// test binds what strongSwan reads at fixed paths: the boot event log at
// /sys/kernel/security/tpm0/binary_bios_measurements, the IP forwarding
// switch in /proc/sys, charon's PID directory. This needs root.
package interop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

const (
	// envPrefix names strongSwan's install prefix (build/strongswan.sh).
	envPrefix = "IMCHOST_STRONGSWAN"
	// envInNS marks the re-executed test binary inside its namespaces.
	envInNS = "IMCHOST_INTEROP_NETNS"
)

// TestMain re-executes the test binary in new network and mount namespaces
// when strongSwan is there to test against.
func TestMain(m *testing.M) {
	if os.Getenv(envPrefix) != "" && os.Getenv(envInNS) == "" {
		os.Exit(reexec())
	}
	if os.Getenv(envInNS) != "" {
		if err := loopbackUp(); err != nil {
			fmt.Fprintf(os.Stderr, "interop: bringing up lo in the test's network namespace: %v\n", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

// reexec runs this test binary again under unshare(1) in a new network and
// mount namespace and returns its exit code.
func reexec() int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "interop: the interop tests need root (network and mount namespaces, bind mounts)")
		return 1
	}
	args := append([]string{"--net", "--mount", "--propagation", "private", "--", os.Args[0]}, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envInNS+"=1")
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() >= 0 {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "interop: unshare: %v\n", err)
		return 1
	}
	return 0
}

// loopbackUp sets IFF_UP on lo (a new network namespace starts with it
// down) and checks that lo is the only interface.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var req struct {
		name  [syscall.IFNAMSIZ]byte
		flags uint16
		_     [22]byte
	}
	copy(req.name[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&req))); e != 0 {
		return e
	}
	req.flags |= syscall.IFF_UP
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&req))); e != 0 {
		return e
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		if i.Name != "lo" {
			return fmt.Errorf("interface %s in what should be a fresh network namespace", i.Name)
		}
	}
	return nil
}

// peer is the strongSwan build under test.
type peer struct {
	prefix string
}

func (p peer) charon() string      { return filepath.Join(p.prefix, "lib", "ipsec", "charon") }
func (p peer) swanctl() string     { return filepath.Join(p.prefix, "sbin", "swanctl") }
func (p peer) ptTLSClient() string { return filepath.Join(p.prefix, "bin", "pt-tls-client") }
func (p peer) policyManager() string {
	return filepath.Join(p.prefix, "lib", "ipsec", "imv_policy_manager")
}
func (p peer) imcv(name string) string {
	return filepath.Join(p.prefix, "lib", "ipsec", "imcvs", name+".so")
}
func (p peer) sql(name string) string {
	return filepath.Join(p.prefix, "share", "strongswan", "templates", "database", "imv", name)
}
func (p peer) pidDir() string { return filepath.Join(p.prefix, "run") }

// needPeer skips the test unless `make interop` runs it.
func needPeer(t *testing.T) peer {
	t.Helper()
	prefix := os.Getenv(envPrefix)
	if prefix == "" {
		t.Skip("no strongSwan to test against: `make interop` builds it and sets " + envPrefix)
	}
	p := peer{prefix: prefix}
	for _, f := range []string{p.charon(), p.swanctl(), p.ptTLSClient(), p.policyManager(), p.imcv("imv-os"), p.sql("tables.sql"), p.pidDir()} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("the strongSwan build in %s is incomplete: %v", prefix, err)
		}
	}
	return p
}

var (
	toolsOnce sync.Once
	tmpDir    string // removed by TestMain
	imchost   string // the imchost binary
	wasmDir   string // imc-os.wasm, imc-attestation.wasm, imc-swima.wasm
	toolsErr  error
)

// tools returns the imchost binary and the module directory: from
// IMCHOST_BIN and IMCHOST_WASM_DIR (`make interop` sets both), else built
// here.
func tools(t *testing.T) (bin, wasm string) {
	t.Helper()
	toolsOnce.Do(func() {
		tmpDir, toolsErr = os.MkdirTemp("", "imchost-interop-")
		if toolsErr != nil {
			return
		}
		imchost, wasmDir = os.Getenv("IMCHOST_BIN"), os.Getenv("IMCHOST_WASM_DIR")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if imchost == "" {
			imchost = filepath.Join(tmpDir, "imchost")
			cmd := exec.CommandContext(ctx, "go", "build", "-o", imchost, "./cmd/imchost")
			cmd.Dir = "../.."
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				toolsErr = fmt.Errorf("building imchost: %v\n%s", err, out)
				return
			}
		}
		if wasmDir == "" {
			wasmDir = tmpDir
			for name, pkg := range map[string]string{"imc-os.wasm": "./imcs/os", "imc-attestation.wasm": "./imcs/attestation", "imc-swima.wasm": "./imcs/swima"} {
				cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-trimpath", "-o", filepath.Join(tmpDir, name), pkg)
				cmd.Dir = "../.."
				cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
				if out, err := cmd.CombinedOutput(); err != nil {
					toolsErr = fmt.Errorf("building %s: %v\n%s", name, err, out)
					return
				}
			}
		}
	})
	if toolsErr != nil {
		t.Fatal(toolsErr)
	}
	return imchost, wasmDir
}
