// Package tpmhost is imchost's TPM 2.0 side: it opens a TPM (a Linux device,
// swtpm over TCP, or the in-process go-tpm-tools simulator), reads version
// information, PCR banks and PCRs, loads or provisions an attestation key,
// makes TPM2_Quote, and verifies quotes for the PDP. It also parses and
// replays the TCG boot event log (binary_bios_measurements) and implements
// the PTS Diffie-Hellman nonce exchange.
//
// tpmhost knows nothing of TNC or WebAssembly: it imports go-tpm and hclog,
// never abi, host, sdk or tnccs (tests/deps_test.go keeps it so).
//
// Trust: values parsed from an event log are untrusted until a replay of them
// matches PCR values read from the TPM or covered by a verified quote.
//
// See /work/shared/spec/pts.md (§3.5–§3.6, §4, §7, §11) and eventlog.md.
package tpmhost
