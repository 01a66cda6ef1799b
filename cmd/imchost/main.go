// Command imchost is the TNC attestation client whose Integrity Measurement
// Collectors are WebAssembly modules. It attests this machine to a Policy
// Decision Point over PT-TLS (imchost run), serves the project's own PDP
// (imchost pdp serve) and has tools for the boot event log, the TPM and the
// IMC modules. It needs no cgo: `make build` links it static.
//
// Exit codes: 0 success (Access Allowed), 1 error, 2 usage, 3 the PDP
// decided and did not allow access.
package main

import (
	"os"

	"github.com/imchost/imchost/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
