// Command package builds imchost's .deb and .rpm with nFPM, as a library:
// no dpkg-deb, rpmbuild or distribution tooling is needed, so `make package`
// runs on any machine with Go. The packages hold the static /usr/bin/imchost,
// the shipped modules under /usr/lib/imchost/imcs/, /etc/imchost/config.toml
// (a conffile: config.toml with its module paths pointed there), the systemd
// units, the sysusers.d and tmpfiles.d entries for the imchost user (group
// tss) and its cache directory, and a man page made from the commands'
// --help.
//
//	go run ./build/package -bin out/imchost -wasm-dir out/wasm -out out/package -version 0.1.0
package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// ModuleDir is where the packages install the shipped modules; the
// packaged config.toml points there.
const ModuleDir = "/usr/lib/imchost/imcs/"

// modules are the shipped IMC files, by name in -wasm-dir.
var modules = []string{"imc-os.wasm", "imc-attestation.wasm", "imc-swima.wasm"}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
}

func run() error {
	bin := flag.String("bin", "out/imchost", "the static imchost binary")
	wasmDir := flag.String("wasm-dir", "out/wasm", "directory of the built modules")
	config := flag.String("config", "config.toml", "the configuration to ship (module paths rewritten to "+ModuleDir+")")
	src := flag.String("files", "build/package/files", "units, scripts, sysusers/tmpfiles entries")
	out := flag.String("out", "out/package", "output directory")
	version := flag.String("version", "0.1.0", "package version")
	arch := flag.String("arch", "amd64", "architecture (Go's name)")
	formats := flag.String("formats", "deb,rpm", "package formats")
	flag.Parse()

	stage := filepath.Join(*out, "stage")
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return err
	}
	cfg, err := os.ReadFile(*config)
	if err != nil {
		return err
	}
	shipped, err := shippedConfig(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", *config, err)
	}
	if err := os.WriteFile(filepath.Join(stage, "config.toml"), shipped, 0o644); err != nil {
		return err
	}
	man, err := manPage(*bin, *version)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(stage, "imchost.1.gz"), man, 0o644); err != nil {
		return err
	}

	f := func(name string) string { return filepath.Join(*src, name) }
	mode := func(m os.FileMode) *files.ContentFileInfo {
		return &files.ContentFileInfo{Mode: m, Owner: "root", Group: "root"}
	}
	contents := files.Contents{
		{Source: *bin, Destination: "/usr/bin/imchost", FileInfo: mode(0o755)},
		{Source: filepath.Join(stage, "config.toml"), Destination: "/etc/imchost/config.toml", Type: files.TypeConfigNoReplace, FileInfo: mode(0o644)},
		{Source: f("default-imchost"), Destination: "/etc/default/imchost", Type: files.TypeConfigNoReplace, FileInfo: mode(0o644)},
		{Source: f("imchost.service"), Destination: "/usr/lib/systemd/system/imchost.service", FileInfo: mode(0o644)},
		{Source: f("imchost-pdp.service"), Destination: "/usr/lib/systemd/system/imchost-pdp.service", FileInfo: mode(0o644)},
		{Source: f("sysusers-imchost.conf"), Destination: "/usr/lib/sysusers.d/imchost.conf", FileInfo: mode(0o644)},
		{Source: f("tmpfiles-imchost.conf"), Destination: "/usr/lib/tmpfiles.d/imchost.conf", FileInfo: mode(0o644)},
		{Source: filepath.Join(stage, "imchost.1.gz"), Destination: "/usr/share/man/man1/imchost.1.gz", FileInfo: mode(0o644)},
		{Source: "README.md", Destination: "/usr/share/doc/imchost/README.md", FileInfo: mode(0o644)},
		{Destination: "/etc/imchost", Type: files.TypeDir, FileInfo: mode(0o755)},
	}
	for _, m := range modules {
		contents = append(contents, &files.Content{Source: filepath.Join(*wasmDir, m), Destination: ModuleDir + m, FileInfo: mode(0o644)})
	}
	for _, c := range contents {
		if c.Source == "" {
			continue
		}
		if _, err := os.Stat(c.Source); err != nil {
			return fmt.Errorf("%w (make build first)", err)
		}
	}
	info := &nfpm.Info{
		Name:        "imchost",
		Arch:        *arch,
		Platform:    "linux",
		Version:     *version,
		Section:     "net",
		Priority:    "optional",
		Maintainer:  "imchost developers <imchost@example.org>",
		Description: "TNC remote-attestation client with sandboxed WebAssembly IMCs\nimchost proves this endpoint's health to a PDP with PB-TNC over PT-TLS\n(strongSwan compatible), with a TPM 2.0 quote of the boot measurements.\nIts collectors are WebAssembly modules with the host functions they are\ngranted and nothing else.",
		Vendor:      "imchost",
		Homepage:    "https://github.com/imchost/imchost",
		License:     "Apache-2.0",
		MTime:       time.Unix(0, 0).UTC(), // reproducible: the same inputs give the same package
		Overridables: nfpm.Overridables{
			Contents:   contents,
			Recommends: []string{"tpm-udev"},
			Suggests:   []string{"swtpm"},
			Scripts: nfpm.Scripts{
				PostInstall: f("postinst.sh"),
				PreRemove:   f("prerm.sh"),
				PostRemove:  f("postrm.sh"),
			},
		},
	}
	for _, format := range strings.Split(*formats, ",") {
		if err := build(info, format, *out); err != nil {
			return err
		}
	}
	return nil
}

// build writes one package of info in format into dir.
func build(info *nfpm.Info, format, dir string) error {
	pkger, err := nfpm.Get(format)
	if err != nil {
		return err
	}
	i := *info
	in := nfpm.WithDefaults(&i)
	if err := nfpm.PrepareForPackager(in, format); err != nil {
		return fmt.Errorf("%s: %w", format, err)
	}
	target := filepath.Join(dir, pkger.ConventionalFileName(in))
	in.Target = target
	var b bytes.Buffer
	if err := pkger.Package(in, &b); err != nil {
		return fmt.Errorf("%s: %w", format, err)
	}
	if err := os.WriteFile(target, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Println(target)
	return nil
}

// shippedConfig points config.toml's module paths at ModuleDir: the
// repository's file names out/wasm/, which only make sense in a checkout.
func shippedConfig(b []byte) ([]byte, error) {
	const from = `path = "out/wasm/`
	n := bytes.Count(b, []byte(from))
	if n != len(modules) {
		return nil, fmt.Errorf("want %d module paths starting %q, found %d", len(modules), from, n)
	}
	b = bytes.ReplaceAll(b, []byte(from), []byte(`path = "`+ModuleDir))
	head := "# /etc/imchost/config.toml, installed by the imchost package (a conffile:\n" +
		"# your changes are kept on upgrade). Set [pdp] host, ca and the credentials,\n" +
		"# then check with `imchost check`.\n"
	return append([]byte(head), b...), nil
}

// manPage makes imchost(1) from the built binary's own --help texts, so
// the page never says what the program does not.
func manPage(bin, version string) ([]byte, error) {
	help := func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).Output()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return "", fmt.Errorf("%s %s: %w", bin, strings.Join(args, " "), err)
		}
		return string(out), nil
	}
	top, err := help("--help")
	if err != nil {
		return nil, err
	}
	var m strings.Builder
	fmt.Fprintf(&m, ".TH IMCHOST 1 \"\" \"imchost %s\" \"User Commands\"\n", roff(version))
	m.WriteString(".SH NAME\nimchost \\- TNC attestation client with WebAssembly IMCs\n")
	m.WriteString(".SH SYNOPSIS\n.B imchost\n.I COMMAND\n[flags]\n")
	m.WriteString(".SH DESCRIPTION\n.nf\n" + roff(top) + ".fi\n")
	for _, cmd := range [][]string{{"run"}, {"check"}, {"pdp", "serve"}, {"eventlog"}, {"tpm", "info"},
		{"tpm", "provision-ak"}, {"tpm", "extend"}, {"imc", "list"}, {"imc", "check"}, {"version"}} {
		out, err := help(append(cmd, "--help")...)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&m, ".SH \"IMCHOST %s\"\n.nf\n%s.fi\n", strings.ToUpper(strings.Join(cmd, " ")), roff(out))
	}
	m.WriteString(".SH FILES\n.TP\n/etc/imchost/config.toml\nthe configuration (commented)\n" +
		".TP\n/usr/lib/imchost/imcs/\nthe shipped IMC modules\n.TP\n/var/cache/imchost/\nthe compilation cache\n" +
		".TP\n/etc/default/imchost\noptions of imchost.service\n")
	m.WriteString(".SH SEE ALSO\n.BR systemctl (1),\n.BR systemd-analyze (1)\n")
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.ModTime = time.Unix(0, 0)
	zw.Write([]byte(m.String()))
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return gz.Bytes(), nil
}

// roff escapes text for a man page: backslashes, and a leading dot or
// quote that troff would read as a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}
