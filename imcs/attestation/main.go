// Command imc-attestation is the TCG PTS Attestation IMC as a WebAssembly
// module: it answers strongSwan's Attestation IMV with the PTS protocol
// capabilities, the measurement algorithm, the D-H nonce exchange, the TPM
// version and the AIK, one Simple Component Evidence per extended event of
// the boot event log and a Simple Evidence Final with a TPM 2.0 quote.
//
// Build it with build/wasm.mk (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared);
// README.md lists its settings and the grants it needs. The logic builds
// natively too, so sdk/imctest can drive it in tests.
package main

import "github.com/imchost/imchost/sdk/imc"

func init() { imc.Run(newAttestation()) }

// main is never called in a wasip1 reactor; the exports drive the IMC.
func main() {}
