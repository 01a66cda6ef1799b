package tests

// The packages of `make package` as an administrator meets them: the .deb
// installed with dpkg into a scratch root (its maintainer scripts run with
// DPKG_ROOT, so the user and the cache directory land there), the units
// checked by systemd-analyze, the installed binary run in that root as the
// imchost user against swtpm and a PDP, then purged; the .rpm read back
// with rpm.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/testutil"
)

var (
	pkgOnce sync.Once
	pkgDir  string
	pkgErr  error
)

// buildPackages runs build/package (what `make package` runs) on the
// test's imchost and the built modules, once per test binary.
func buildPackages(t *testing.T) (deb, rpm string) {
	t.Helper()
	bin := imchostBinary(t)
	needModules(t)
	pkgOnce.Do(func() {
		pkgDir = filepath.Join(buildDir, "package")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "run", "./build/package", "-bin", bin, "-wasm-dir", modDir,
			"-out", pkgDir, "-version", "0.1.0")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			pkgErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if pkgErr != nil {
		t.Fatalf("make package: %v", pkgErr)
	}
	return filepath.Join(pkgDir, "imchost_0.1.0_amd64.deb"), filepath.Join(pkgDir, "imchost-0.1.0-1.x86_64.rpm")
}

// needTool fails the test when a program `make test-deps` installs is
// missing.
func needTool(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("%s is missing (make test-deps installs it): %v", n, err)
		}
	}
}

// command runs name with args and returns its combined output; a failure
// fails the test.
func command(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// passwdEntry returns the uid and gid of user in root's /etc/passwd.
func passwdEntry(t *testing.T, root, user string) (uid, gid int, line string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) == 7 && f[0] == user {
			uid, _ = strconv.Atoi(f[2])
			gid, _ = strconv.Atoi(f[3])
			return uid, gid, l
		}
	}
	t.Fatalf("no user %s in the scratch root's /etc/passwd:\n%s", user, b)
	return 0, 0, ""
}

// groupEntry returns the gid and members of group in root's /etc/group.
func groupEntry(t *testing.T, root, group string) (int, []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "etc/group"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) == 4 && f[0] == group {
			gid, _ := strconv.Atoi(f[2])
			return gid, strings.Split(f[3], ",")
		}
	}
	t.Fatalf("no group %s in the scratch root's /etc/group:\n%s", group, b)
	return 0, nil
}

// TestPackageInstall installs the .deb into a scratch root with dpkg
// --root, checks what the maintainer scripts did (user imchost in group
// tss, /var/cache/imchost owned by it, the conffiles), verifies and rates
// the units with systemd-analyze, runs the installed `imchost check` in
// the root as the imchost user against swtpm and a PDP, and purges it.
func TestPackageInstall(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: dpkg --root keeps file owners, chroot") // make test runs as root here
	}
	needTool(t, "dpkg", "systemd-analyze", "systemd-sysusers", "systemd-tmpfiles", "chroot", "unshare")
	deb, _ := buildPackages(t)
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "etc", "tmp", "usr/bin", "proc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dpkg := func(args ...string) string {
		t.Helper()
		return command(t, nil, "dpkg", append([]string{"--root=" + root, "--force-script-chrootless", "--log=/dev/null"}, args...)...)
	}
	t.Log(dpkg("-i", deb))

	// What dpkg recorded and unpacked.
	if st := dpkg("-s", "imchost"); !strings.Contains(st, "Status: install ok installed") {
		t.Errorf("dpkg -s imchost:\n%s", st)
	}
	conffiles, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/info/imchost.conffiles"))
	if err != nil || !strings.Contains(string(conffiles), "/etc/imchost/config.toml") {
		t.Errorf("/etc/imchost/config.toml is not a conffile (%v): %s", err, conffiles)
	}
	cfg, err := os.ReadFile(filepath.Join(root, "etc/imchost/config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"imc-os.wasm", "imc-attestation.wasm"} {
		if !strings.Contains(string(cfg), `path = "/usr/lib/imchost/imcs/`+m+`"`) {
			t.Errorf("the installed config does not point at /usr/lib/imchost/imcs/%s", m)
		}
		if _, err := os.Stat(filepath.Join(root, "usr/lib/imchost/imcs", m)); err != nil {
			t.Error(err)
		}
	}
	if st, err := os.Stat(filepath.Join(root, "usr/bin/imchost")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("/usr/bin/imchost: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/share/man/man1/imchost.1.gz")); err != nil {
		t.Error(err)
	}

	// What the maintainer scripts did, below the root only.
	uid, gid, line := passwdEntry(t, root, "imchost")
	if !strings.HasSuffix(line, ":/var/cache/imchost:/usr/sbin/nologin") || uid == 0 {
		t.Errorf("the imchost user: %q", line)
	}
	tssGID, members := groupEntry(t, root, "tss")
	if !slicesContains(members, "imchost") {
		t.Errorf("imchost is not in group tss: %q", members)
	}
	cache, err := os.Stat(filepath.Join(root, "var/cache/imchost"))
	if err != nil {
		t.Fatal(err)
	}
	if s := cache.Sys().(*syscall.Stat_t); int(s.Uid) != uid || cache.Mode().Perm() != 0o750 {
		t.Errorf("/var/cache/imchost: owner %d mode %v, want %d and 0750", s.Uid, cache.Mode().Perm(), uid)
	}

	t.Run("systemd", func(t *testing.T) { checkUnits(t, root) })

	// The installed binary, in the root, as the imchost user (group tss),
	// with the installed config: modules from /usr/lib/imchost/imcs/, the
	// cache in /var/cache/imchost, the PDP's CA where the config says.
	e := newCLIEnv(t)
	testutil.CopyFile(t, e.pdp.caPEM, filepath.Join(root, "etc/imchost/pdp-ca.pem"))
	testutil.CopyFile(t, e.logs, filepath.Join(root, "tmp/eventlog"))
	testutil.CopyFile(t, "/etc/os-release", filepath.Join(root, "etc/os-release")) // the base system's, which the OS IMC reads
	os.Chmod(filepath.Join(root, "etc/os-release"), 0o644)
	os.Chmod(filepath.Join(root, "tmp/eventlog"), 0o644)
	_, port, _ := net.SplitHostPort(e.pdp.addr)
	// A mount and PID namespace of its own gives it a /proc (boot time,
	// architecture), gone with the process.
	out := command(t, nil, "unshare", "--mount", "--pid", "--fork", "--mount-proc="+filepath.Join(root, "proc"),
		"chroot", fmt.Sprintf("--userspec=%d:%d", uid, gid), fmt.Sprintf("--groups=%d", tssGID), root,
		"/usr/bin/imchost", "check", "--config", "/etc/imchost/config.toml", "--tpm", e.tpm.inst.Spec,
		"--eventlog", "/tmp/eventlog", "-p", port)
	t.Logf("imchost check in the scratch root as imchost:\n%s", out)
	for _, want := range []string{
		`OK   IMC "OS" /usr/lib/imchost/imcs/imc-os.wasm`,
		`OK   IMC "Attestation" /usr/lib/imchost/imcs/imc-attestation.wasm`,
		"OK   AK 0x81010003", "OK   event log replay against the TPM's PCRs",
		"OK   PDP 127.0.0.1:" + port, "all checks passed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the installed imchost check lacks %q", want)
		}
	}
	entries, err := os.ReadDir(filepath.Join(root, "var/cache/imchost"))
	if err != nil || len(entries) == 0 {
		t.Errorf("the imchost user wrote nothing to its cache directory (%v)", err)
	}

	// Purge: the files and the cache go.
	t.Log(dpkg("--purge", "imchost"))
	for _, p := range []string{"usr/bin/imchost", "usr/lib/imchost/imcs/imc-os.wasm", "etc/imchost/config.toml", "var/cache/imchost"} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			t.Errorf("/%s is left after dpkg --purge", p)
		}
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// exposure matches systemd-analyze security's verdict line.
var exposure = regexp.MustCompile(`Overall exposure level for (\S+): (\d+\.\d+) (\S+)`)

// checkUnits runs systemd-analyze verify (no output at all: a warning is
// a failure) and security --offline=true (exposure at most 3.0, "OK") on
// the installed units. The scratch root gets the host's own units and
// /bin/kill, as the base system the package lands on would have them.
func checkUnits(t *testing.T, root string) {
	units := filepath.Join(root, "usr/lib/systemd/system")
	base, err := os.ReadDir("/usr/lib/systemd/system")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range base {
		dst := filepath.Join(units, u.Name())
		if _, err := os.Lstat(dst); err == nil || u.IsDir() {
			continue
		}
		if target, err := os.Readlink(filepath.Join("/usr/lib/systemd/system", u.Name())); err == nil {
			os.Symlink(target, dst)
		} else {
			testutil.CopyFile(t, filepath.Join("/usr/lib/systemd/system", u.Name()), dst)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "bin")); err != nil {
		os.Symlink("usr/bin", filepath.Join(root, "bin"))
	}
	testutil.CopyFile(t, "/usr/bin/kill", filepath.Join(root, "usr/bin/kill"))
	os.Chmod(filepath.Join(root, "usr/bin/kill"), 0o755)

	names := []string{"imchost.service", "imchost-pdp.service"}
	var paths []string
	for _, n := range names {
		paths = append(paths, "/usr/lib/systemd/system/"+n)
	}
	// MANPATH: the Documentation=man:imchost(1) check finds the package's page.
	out := command(t, []string{"MANPATH=" + filepath.Join(root, "usr/share/man")}, "systemd-analyze",
		append([]string{"verify", "--root=" + root}, paths...)...)
	if strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify is not clean:\n%s", out)
	}
	for _, n := range names {
		out := command(t, nil, "systemd-analyze", "security", "--offline=true", "--root="+root, "--no-pager", n)
		m := exposure.FindStringSubmatch(out)
		if m == nil {
			t.Errorf("systemd-analyze security %s: no verdict in\n%s", n, out)
			continue
		}
		score, _ := strconv.ParseFloat(m[2], 64)
		t.Logf("systemd-analyze security --offline=true %s: exposure %s %s", n, m[2], m[3])
		fmt.Printf("systemd-analyze security --offline=true %s: exposure %s %s\n", n, m[2], m[3])
		if score > 3.0 {
			t.Errorf("%s: exposure %.1f, want at most 3.0 (OK):\n%s", n, score, out)
		}
	}
}

// TestPackageRPM reads the .rpm back with rpm: the same files, the
// config a noreplace conffile, the scripts that create the user.
func TestPackageRPM(t *testing.T) {
	needTool(t, "rpm")
	_, rpmFile := buildPackages(t)
	list := command(t, nil, "rpm", "-qlp", "--nosignature", rpmFile)
	for _, want := range []string{"/usr/bin/imchost", "/usr/lib/imchost/imcs/imc-os.wasm", "/usr/lib/imchost/imcs/imc-attestation.wasm",
		"/etc/imchost/config.toml", "/usr/lib/systemd/system/imchost.service", "/usr/lib/sysusers.d/imchost.conf",
		"/usr/lib/tmpfiles.d/imchost.conf", "/usr/share/man/man1/imchost.1.gz"} {
		if !strings.Contains(list, want+"\n") {
			t.Errorf("the rpm lacks %s:\n%s", want, list)
		}
	}
	if cfg := command(t, nil, "rpm", "-qcp", "--nosignature", rpmFile); !strings.Contains(cfg, "/etc/imchost/config.toml") {
		t.Errorf("config.toml is not a config file of the rpm:\n%s", cfg)
	}
	if s := command(t, nil, "rpm", "-qp", "--scripts", "--nosignature", rpmFile); !strings.Contains(s, "systemd-sysusers") {
		t.Errorf("the rpm's scripts do not create the user:\n%s", s)
	}
}
