package capability

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/internal/inventory"
	"github.com/imchost/imchost/tpmhost"
)

// FSSystem is the System of a Linux machine read from files under Root
// ("/" in production, a fixture directory in tests): etc/os-release,
// proc/stat, proc/sys/net/..., etc/machine-id and the package databases
// (internal/inventory).
type FSSystem struct {
	Root string
	// Arch is uname -m; "" derives it from the Go architecture.
	Arch string
}

// InventoryRoot implements InventoryRoot: the package databases
// of the software inventory are read under Root.
func (s *FSSystem) InventoryRoot() string { return s.Root }

// NewSystem returns the System rooted at root ("" means "/").
func NewSystem(root string) *FSSystem {
	if root == "" {
		root = "/"
	}
	return &FSSystem{Root: root}
}

// maxFactFile bounds every file the System reads.
const maxFactFile = 16 << 20

func (s *FSSystem) path(p string) string { return filepath.Join(s.Root, filepath.FromSlash(p)) }

// read reads a regular file under Root: a named pipe, a device or a socket
// put in its place is refused without waiting (tpmhost.OpenRegularFile).
func (s *FSSystem) read(p string) ([]byte, error) {
	f, err := tpmhost.OpenRegularFile(s.path(p))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(&limitedReader{f: f, n: maxFactFile + 1}); err != nil {
		return nil, err
	}
	if buf.Len() > maxFactFile {
		return nil, fmt.Errorf("host: %s is larger than %d bytes", p, maxFactFile)
	}
	return buf.Bytes(), nil
}

type limitedReader struct {
	f *os.File
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("limit reached")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}

// OSRelease implements System: etc/os-release, else usr/lib/os-release.
func (s *FSSystem) OSRelease() ([]byte, error) {
	b, err := s.read("etc/os-release")
	if errors.Is(err, fs.ErrNotExist) {
		b, err = s.read("usr/lib/os-release")
	}
	return b, err
}

// SystemFacts implements System.
func (s *FSSystem) SystemFacts() (abi.SystemFacts, error) {
	var f abi.SystemFacts
	stat, err := s.read("proc/stat")
	if err != nil {
		return f, err
	}
	for line := range strings.Lines(string(stat)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			f.BootTime, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return f, fmt.Errorf("host: proc/stat btime: %w", err)
			}
		}
	}
	f.IPv4Forwarding = s.flag("proc/sys/net/ipv4/ip_forward")
	f.IPv6Forwarding = s.flag("proc/sys/net/ipv6/conf/all/forwarding")
	if id, err := s.read("etc/machine-id"); err == nil {
		f.MachineID = strings.TrimSpace(string(id))
	}
	f.Arch = s.Arch
	if f.Arch == "" {
		f.Arch = unameMachine()
	}
	return f, nil
}

func (s *FSSystem) flag(p string) bool {
	b, err := s.read(p)
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

func unameMachine() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i686"
	case "arm":
		return "armv7l"
	}
	return runtime.GOARCH
}

// Packages implements System: every package database present (dpkg, rpm,
// apk; internal/inventory).
func (s *FSSystem) Packages() ([]abi.Package, error) {
	pkgs, err := inventory.Read(s.Root)
	if err != nil {
		return nil, err
	}
	out := make([]abi.Package, len(pkgs))
	for i, p := range pkgs {
		out[i] = abi.Package{Name: p.Name, Version: p.Version}
	}
	return out, nil
}

// maxSymlinks bounds the entries Symlinks returns.
const maxSymlinks = 4096

// Symlinks implements System: the entries of dir (readdir order) that are
// symbolic links to directories, as (dir/name, '/' + readlink) — strongSwan
// prefixes '/' to the (usually relative) target; an absolute target is kept
// as it is.
func (s *FSSystem) Symlinks(dir string) ([]abi.Symlink, error) {
	dir = path.Clean("/" + dir)
	// O_DIRECTORY: open(2) of a named pipe in its place would wait for a writer.
	f, err := os.OpenFile(s.path(dir), os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1) // directory order, unlike os.ReadDir
	if err != nil {
		return nil, err
	}
	var out []abi.Symlink
	for _, e := range ents {
		if e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		full := s.path(path.Join(dir, e.Name()))
		st, err := os.Stat(full)
		if err != nil || !st.IsDir() {
			continue
		}
		target, err := os.Readlink(full)
		if err != nil {
			continue
		}
		out = append(out, abi.Symlink{Path: path.Join(dir, e.Name()), Target: "/" + strings.TrimPrefix(target, "/")})
		if len(out) == maxSymlinks {
			break
		}
	}
	return out, nil
}
