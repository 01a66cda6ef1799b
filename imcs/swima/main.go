// Command imc-swima is the SWIMA IMC as a WebAssembly module: it answers
// RFC 8412 SW Requests (IETF PA subtype SWIMA) with the endpoint's software
// inventory or the software events since an earlier EID, as strongSwan's
// imc-swima does, and keeps a subscription for the rest of the session.
// The inventory is read by the host (host functions sw_inventory and
// sw_events, granted in config.toml); see README.md.
//
// Built by build/wasm.mk with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared;
// the logic also builds natively so that it is tested with sdk/imctest.
package main

import "github.com/imchost/imchost/sdk/imc"

func init() { imc.Run(New()) }

// main is never called in a wasip1 reactor; natively the package exists for
// its tests.
func main() {}
