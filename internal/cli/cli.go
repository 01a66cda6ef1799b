// Package cli is the command line of the two programs: imchost, the TNC
// attestation client whose Integrity Measurement Collectors are WebAssembly
// modules (Main), and imchost-demo, what `make run` runs (Demo). The
// programs' main packages only call these, so the client links nothing of
// the demo's in-process TPM simulator (C code, cgo) and builds static.
//
// Exit codes: 0 success (Access Allowed), 1 error, 2 usage, 3 the PDP
// decided and did not allow access.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/tpmhost"
)

// Exit codes.
const (
	exitOK        = 0 // done; for run: compliant, Access Allowed
	exitError     = 1 // configuration, TPM, connection or protocol error
	exitUsage     = 2 // bad command line
	exitNotAllows = 3 // the PDP decided and did not allow access
)

// env is what a command sees of the process: its output streams (tests
// pass their own) and the program's name for messages.
type env struct {
	stdout, stderr io.Writer
	prog           string // "imchost" unless set
}

// name is the program's name as messages give it.
func (e *env) name() string {
	if e.prog == "" {
		return "imchost"
	}
	return e.prog
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(e *env, args []string) int
}

func commands() []command {
	return []command{
		{"run", "attest this machine to a PDP over PT-TLS (the main job)", cmdRun},
		{"check", "preflight: config, modules, TPM, AK, event log and PDP, each OK or FAIL with the fix", cmdCheck},
		{"pdp", "the project's Policy Decision Point (pdp serve)", cmdPDP},
		{"eventlog", "print a boot event log and its PCR replay", cmdEventLog},
		{"ima", "print an IMA measurement list and its PCR 10 replay", cmdIMA},
		{"tpm", "TPM information and Attestation Key provisioning", cmdTPM},
		{"imc", "list the configured IMC modules, check a module file, sign one (keygen, sign)", cmdIMC},
		{"version", "print the version", cmdVersion},
	}
}

// Main runs the imchost command line (args without the program name) with
// the given output streams and returns the process's exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	return run(args, &env{stdout: stdout, stderr: stderr})
}

// Demo runs imchost-demo, the demo of `make run` (args without the program
// name), on the TPM simulator that openSim starts (tpmsim.Open, which this
// package does not import, so the client links no simulator): the bundled
// boot log, the project's PDP on loopback, two attestations. It returns the
// exit code.
func Demo(args []string, stdout, stderr io.Writer, openSim func(hclog.Logger) (*tpmhost.TPM, error)) int {
	return cmdDemo(&env{stdout: stdout, stderr: stderr, prog: "imchost-demo"}, args, openSim)
}

// run dispatches the command line to its command.
func run(args []string, e *env) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version" || args[0] == "-V") {
		return cmdVersion(e, args[1:])
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			return run([]string{args[1], "--help"}, e)
		}
		usage(e.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "imchost: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "imchost — TNC attestation client with WebAssembly IMCs")
	fmt.Fprintln(w, "\nusage: imchost COMMAND [flags]   (imchost COMMAND --help for its flags)")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, exitCodeHelp)
}

// exitCodeHelp is the exit-code table of --help (README.md has the same).
const exitCodeHelp = `
exit codes:
  0  done; imchost run: the PDP allowed access; imchost check: every check passed
  1  error: configuration, module, TPM, event log, connection or protocol
     (imchost run checks the local part before it dials the PDP)
  2  bad command line
  3  imchost run: the PDP decided and did not allow access (isolate, no access)
`

// dispatch runs the subcommand args[0] of group (imchost tpm info ...).
func dispatch(e *env, group string, args []string, subs []command) int {
	var names []string
	for _, c := range subs {
		names = append(names, c.name)
	}
	synopsis := fmt.Sprintf("usage: imchost %s %s [flags]   (imchost %s %s --help)", group, strings.Join(names, "|"), group, names[0])
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, synopsis)
		return exitUsage
	}
	for _, c := range subs {
		if c.name == args[0] {
			return c.run(e, args[1:])
		}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(e.stdout, synopsis)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "imchost %s: unknown subcommand %q\n%s\n", group, args[0], synopsis)
	return exitUsage
}

// newFlags returns a flag set whose errors and help go to e.stderr and
// e.stdout, with usage naming the command.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "usage: imchost %s\n\nflags:\n", synopsis)
		printDefaults(e.stdout, fs)
	}
	return fs
}

// printDefaults lists the flags GNU style (--name), aliases together.
func printDefaults(w io.Writer, fs *flag.FlagSet) {
	byUsage := map[string][]*flag.Flag{}
	var order []string
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := byUsage[f.Usage]; !ok {
			order = append(order, f.Usage)
		}
		byUsage[f.Usage] = append(byUsage[f.Usage], f)
	})
	for _, fl := range byUsage {
		sort.Slice(fl, func(i, j int) bool { return len(fl[i].Name) < len(fl[j].Name) })
	}
	long := func(u string) string { fl := byUsage[u]; return fl[len(fl)-1].Name }
	sort.Slice(order, func(i, j int) bool { return long(order[i]) < long(order[j]) })
	for _, u := range order {
		fl := byUsage[u]
		var names []string
		for _, f := range fl {
			dash := "--"
			if len(f.Name) == 1 {
				dash = "-"
			}
			names = append(names, dash+f.Name)
		}
		def := ""
		if d := fl[0].DefValue; d != "" && d != "false" && d != "0" && d != "-1" && d != "0s" {
			def = " (default " + d + ")"
		}
		name, usage := flag.UnquoteUsage(fl[0])
		if arg := placeholder(fl[len(fl)-1].Name, name); arg != "" {
			names[len(names)-1] += " " + arg
		}
		fmt.Fprintf(w, "  %-30s %s%s\n", strings.Join(names, ", "), usage, def)
	}
}

// parse parses args; it returns an exit code and false when the command
// must stop (help shown, or a usage error).
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		if _, rest, ok := strings.Cut(err.Error(), " for flag -"); ok {
			name, _, _ := strings.Cut(rest, ":")
			if fl := fs.Lookup(name); fl != nil {
				if g, ok := fl.Value.(flag.Getter); ok {
					if _, isDur := g.Get().(time.Duration); isDur {
						fmt.Fprintf(fs.Output(), "a duration needs a unit: 10m, 30s, 1h30m\n")
					}
				}
			}
		}
		return exitUsage, false
	}
	return 0, true
}

// fail prints err for a person and returns exitError.
func fail(e *env, err error) int {
	fmt.Fprintf(e.stderr, "%s: %v\n", e.name(), err)
	return exitError
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
