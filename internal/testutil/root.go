package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// Machine is what a fake machine's file-system root holds for the OS IMC
// (os-release, machine-id, /proc/stat, IP forwarding) and the merged-/usr
// symlinks the Attestation IMC follows. The zero Machine is a Debian 12
// machine with forwarding off.
type Machine struct {
	// OSRelease is /etc/os-release; empty means Debian 12's.
	OSRelease string
	// Stat is /proc/stat; empty means a fixed boot time.
	Stat string
	// Forwarding turns IPv4 forwarding on.
	Forwarding bool
}

// DebianOSRelease is the /etc/os-release of a Debian 12 machine.
const DebianOSRelease = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"

// Root writes the machine into a fresh temporary directory and returns it.
func (m Machine) Root(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "usr/sbin", "usr/lib", "etc", "proc/sys/net/ipv4", "proc/sys/net/ipv6/conf/all"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	osRelease, stat, fwd := m.OSRelease, m.Stat, "0\n"
	if osRelease == "" {
		osRelease = DebianOSRelease
	}
	if stat == "" {
		stat = "cpu  1 2 3 4\nbtime 1795700000\n"
	}
	if m.Forwarding {
		fwd = "1\n"
	}
	for name, content := range map[string]string{
		"etc/os-release":                        osRelease,
		"etc/machine-id":                        "0123456789abcdef0123456789abcdef\n",
		"proc/stat":                             stat,
		"proc/sys/net/ipv4/ip_forward":          fwd,
		"proc/sys/net/ipv6/conf/all/forwarding": "0\n",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range [][2]string{{"bin", "usr/bin"}, {"sbin", "usr/sbin"}, {"lib", "usr/lib"}} {
		if err := os.Symlink(l[1], filepath.Join(root, l[0])); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
