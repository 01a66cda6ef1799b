// Command imchost is the TNC attestation client whose IMCs are WebAssembly
// modules. This placeholder grows into the full CLI (run, demo, pdp, tpm,
// eventlog, imc) as the packages land.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "demo" {
		fmt.Println("imchost demo: the attestation demo is not wired yet; modules built under out/wasm")
		return
	}
	fmt.Fprintln(os.Stderr, "usage: imchost demo")
	os.Exit(2)
}
