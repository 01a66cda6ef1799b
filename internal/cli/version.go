package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/imchost/imchost/abi"
)

// version is set with -ldflags "-X github.com/imchost/imchost/internal/cli.version=..."
// (make build and make package do); a plain `go build` says "dev".
var version = "dev"

// Version returns the program's version string, as `imchost --version`
// prints it on its first line.
func Version() string { return version }

// cmdVersion prints the version, the module ABI this host speaks and what
// the binary was built from (`imchost version`, `imchost --version`).
func cmdVersion(e *env, args []string) int {
	fs := newFlags(e, "version", "version")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageErr(e, "version", fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	fmt.Fprint(e.stdout, versionText())
	return exitOK
}

// versionText is the version, the ABI and the build information Go
// records in the binary (module version, VCS revision and time).
func versionText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "imchost %s\n", version)
	fmt.Fprintf(&b, "module ABI: v%d (modules export %s)\n", abi.Version, abi.ExportMarker)
	fmt.Fprintf(&b, "go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b.String()
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		fmt.Fprintf(&b, "module: %s %s\n", bi.Main.Path, v)
	}
	var rev, at, modified, cgo string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value
		case "CGO_ENABLED":
			cgo = s.Value
		}
	}
	if rev != "" {
		if modified == "true" {
			rev += " (modified)"
		}
		if at != "" {
			rev += ", " + at
		}
		fmt.Fprintf(&b, "revision: %s\n", rev)
	}
	if cgo == "0" {
		fmt.Fprintln(&b, "build: static (CGO_ENABLED=0)")
	}
	return b.String()
}

// placeholder names a flag's value in --help: the `NAME` a usage string
// quotes, else a name by the flag's meaning, else by its type (flag's
// UnquoteUsage gives "string", "int", "duration"; "" for booleans).
func placeholder(flagName, typeName string) string {
	if typeName == "" {
		return ""
	}
	if typeName != "string" && typeName != "int" && typeName != "uint" && typeName != "duration" && typeName != "value" {
		return typeName // from `NAME` in the usage string
	}
	switch flagName {
	case "config", "ca", "cert", "key", "eventlog", "policy", "db", "secret-file", "client-ca", "ak-ca", "sha256-file":
		return "FILE"
	case "wasm-dir", "self-signed", "root", "dir", "out":
		return "DIR"
	case "connect", "c":
		return "HOST"
	case "port", "p":
		return "PORT"
	case "listen", "metrics":
		return "ADDR"
	case "tpm":
		return "SPEC"
	case "debug", "d":
		return "N"
	case "handle":
		return "HANDLE"
	case "client":
		return "USER"
	case "secret":
		return "PASSWORD"
	case "user":
		return "NAME:PASSWORD"
	case "referral":
		return "HOST:PORT"
	case "log-format", "output":
		return "FORMAT"
	case "server-name":
		return "NAME"
	}
	switch typeName {
	case "duration":
		return "DURATION"
	case "int", "uint":
		return "N"
	}
	return "VALUE"
}
