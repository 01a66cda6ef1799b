// Package tpmhost is imchost's TPM 2.0 side: it opens a TPM (a Linux device,
// swtpm over TCP, the reference simulator's protocol, or any raw command
// channel such as the in-process simulator of package tpmsim), reads version
// information, PCR banks and PCRs, loads or provisions an attestation key,
// makes TPM2_Quote, and verifies quotes for the PDP. It also parses and
// replays the TCG boot event log (binary_bios_measurements) and implements
// the PTS Diffie-Hellman nonce exchange.
//
// tpmhost knows nothing of TNC or WebAssembly: it imports go-tpm and hclog,
// never abi, host, sdk or tnccs (tests/deps_test.go keeps it so).
//
// # Map
//
//   - TPM access: Open, OpenReadWriter, New, (*TPM).VersionInfo, Banks, AllocatedBanks,
//     ReadPCRs, ExtendPCR, ExtendFromLog, StartupLocality.
//   - Attestation key: (*TPM).LoadAK, ProvisionAK, (*AK).AttachCertificate.
//   - Quote: (*TPM).Quote → QuoteResult (the raw TPMS_ATTEST and signature);
//     VerifySignature, PCRDigest, ParsePCRSelection, MarshalPCRSelection.
//     The TPMS_ATTEST has one codec, sdk/patnc's SimpleEvidFinal
//     (FromTPMSAttest splits it into strongSwan's Simple Evidence Final,
//     TPMSAttest rebuilds it with the verifier's nonce and PCR digest).
//   - Event log: ReadEventLog, ParseEventLog, (*EventLog).Replay,
//     ReplayLocality, ReplayAll, Compare, CompareWithQuirks, DetectLocality;
//     WriteEvents and WritePCRs print them.
//   - PTS D-H: GenerateDH, (*DHKey).SharedSecret, NewDHSession,
//     (*DHSession).Finish, SecretAssessmentValue.
//
// # Errors
//
// TPM failures are *TPMError values that wrap a sentinel (ErrNoDevice,
// ErrPermission, ErrLockout, ErrBusy, ErrUnknownHandle, ErrWrongKeyType, ...)
// and go-tpm's TPMRC, with a hint a person can act on. Decoders return
// *EventLogError with the offset and field name. Quote signature failures
// wrap ErrQuoteSignature or ErrQuoteKey.
//
// # Trust
//
// Values parsed from an event log are untrusted until a replay of them
// matches PCR values read from the TPM or covered by a verified quote.
// CompareWithQuirks is for diagnosing a live TPM, never for building
// evidence.
//
// See the PTS IF-M Binding (TCG Attestation PTS Protocol: Binding to TNC IF-M
// 1.0 revision 28) §3.8 (D-H nonce), §3.10–§3.13 (TPM version,
// AIK), §3.15 (evidence); TPM 2.0 Part 3 §18.4 (TPM2_Quote); the TCG PC Client
// Platform Firmware Profile (PFP) §10 (event log).
package tpmhost
