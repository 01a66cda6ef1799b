// Command imchost-demo is what `make run` runs: the in-process TPM 2.0
// simulator gets an Attestation Key and the PCRs of a real boot event log,
// the project's PDP listens on loopback, and imchost attests to it twice,
// printing the flow in strongSwan's log lines. It is a program of its own
// because the simulator is C code (cgo), which the imchost client leaves out.
package main

import (
	"os"

	"github.com/imchost/imchost/internal/cli"
	"github.com/imchost/imchost/tpmhost/tpmsim"
)

func main() {
	os.Exit(cli.Demo(os.Args[1:], os.Stdout, os.Stderr, tpmsim.Open))
}
