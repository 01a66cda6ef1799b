// Command imc-os is the OS IMC as a WebAssembly module: it reports the
// operating system (IETF PA subtype Operating System) the way strongSwan's
// imc-os does, attribute for attribute. See README.md for its settings and
// the host functions it needs.
//
// Built by build/wasm.mk with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared;
// the logic also builds natively so that it is tested with sdk/imctest.
package main

import "github.com/imchost/imchost/sdk/imc"

func init() { imc.Run(New()) }

// main is never called in a wasip1 reactor; natively the package exists for
// its tests.
func main() {}
