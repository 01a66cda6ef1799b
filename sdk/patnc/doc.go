// Package patnc is the PA-TNC (RFC 5792, TNC IF-M) codec and attribute
// catalog shared by the IMCs (built for GOOS=wasip1) and the native PDP.
//
// A PA-TNC message is a Message: an 8-byte header (version 1, reserved,
// message identifier) and a list of attributes. Each attribute has a Go type
// implementing Attr, one file per attribute named after its namespace
// (ietf_*.go, ita_*.go, tcg_seg_*.go, tcg_pts_*.go) with the wire diagram
// above the code. Attributes the catalog does not implement are kept as
// *Unknown, so a message re-encodes byte for byte.
//
// # Receiving
//
//	msg, err := patnc.ParseMessage(body)
//	var perr *patnc.Error
//	if errors.As(err, &perr) {
//		// answer with perr.ErrorAttr() in a new PA-TNC message (EXCL to the sender)
//	}
//	for _, a := range msg.Attrs {
//		switch a := a.(type) {
//		case *patnc.AssessmentResult:
//			...
//		}
//	}
//
// Decoders check syntax only and return a *Error carrying the IETF PA-TNC
// error code and the byte offset from the start of the message, the way
// strongSwan's process(offset) does. An unknown attribute with NOSKIP yields
// Attribute Type Not Supported; without NOSKIP it is kept as *Unknown and
// the caller skips it. Note that, like strongSwan, the TCG types without a
// parser (Template RM Set Meta, Verification Result, Integrity Report,
// Windows File Metadata, Registry, Integrity Measurement Log, the SWID and
// SCAP types and the segmentation types Cancel, Oversized Message and
// Contract Exemption) are "unknown" even though Type.String names them.
//
// # Sending
//
//	m := patnc.Message{ID: randomID, Attrs: []patnc.Attr{
//		&patnc.ProductInfo{VendorID: abi.PENDebian, Name: "Debian"},
//		patnc.WithNoSkip(&patnc.GetAIK{}),
//	}}
//	body, err := m.Marshal()
//
// Marshal refuses values the decoder would reject (builders never produce
// what decoders reject). The message identifier is the caller's: strongSwan
// uses four random bytes per message. DefaultNoSkip tells which types
// strongSwan sends with NOSKIP; WithNoSkip sets the flag on a new attribute.
//
// Reserved fields and reserved flag bits are sent as zero and ignored on
// receipt (RFC 5792), so a message with reserved bits set re-encodes with
// them cleared; everything else, unknown attributes included, re-encodes
// byte for byte. Error offsets of value decoders follow one convention: a
// fixed-size value that is too short is reported at the value start (as
// strongSwan does), a truncated variable field at that field, left-over
// bytes at the first of them, and an invalid field value at that field.
//
// # Segmentation
//
// TCG IF-M segmentation (TCG IF-M Segmentation §5) lives in Contract: an IMV calls
// NewContractRequest with its maximum PA-TNC message size and sends the
// returned Segmentation Contract Request; an IMC answers a received request
// with RespondToContract and sends the response. Both then keep the Contract
// per (PA message type, peer) and use Contract.Split to pack outgoing
// attributes (enveloping oversized ones), Contract.NextSegment to answer a
// Next Segment request, and Contract.Reassemble for received envelopes.
//
// The package is pure Go: it imports the standard library (no os, net,
// syscall or unsafe) only. Its wire primitives (Builder, and an internal
// reader) mirror golang.org/x/crypto/cryptobyte, which is not imported
// because it would link math/big and encoding/asn1 into every wasm IMC.
//
// Comments cite RFC 5792 (PA-TNC), "PTS IF-M Binding" (TCG Attestation PTS
// Protocol: Binding to TNC IF-M, version 1.0 revision 28) and "TCG IF-M
// Segmentation" (TCG IF-M Segmentation Specification 1.0) by section.
package patnc
