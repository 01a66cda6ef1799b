package tpmhost_test

import (
	"crypto"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/imchost/imchost/tpmhost"
)

// Parse a boot event log and print the replayed SHA-256 PCRs in the format of
// the .pcrs files (what `imchost eventlog --pcrs` prints).
func ExampleParseEventLog() {
	b, err := os.ReadFile(testutil.Data("eventlogs", "event-sd-boot-fedora37.bin"))
	if err != nil {
		panic(err)
	}
	l, err := tpmhost.ParseEventLog(b)
	if err != nil {
		panic(err)
	}
	r, err := l.Replay(tpmhost.AlgSHA256)
	if err != nil {
		panic(err)
	}
	fmt.Println(l.Format, len(l.Events), "events")
	_ = tpmhost.WritePCRs(os.Stdout, r)
	// Output:
	// crypto-agile 28 events
	// sha256 0 464a812afa3f88d8a5f1fe7e71df41951435ebd05edb742db8c2c0d67d62c0d1
	// sha256 1 f2c3a5ab1fcdec7c70d0e6af47304e9d2a4aa939874a69fbb84f786ff4b2f63f
	// sha256 2 3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969
	// sha256 3 3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969
	// sha256 4 7a94ffe8a7729a566d3d3c577fcb4b6b1e671f31540375f80eae6382ab785e35
	// sha256 5 a5ceb755d043f32431d63e39f5161464620a3437280494b5850dc1b47cc074e0
	// sha256 6 3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969
	// sha256 7 b5710bf57d25623e4019027da116821fa99f5c81e9e38b87671cc574f9281439
	// sha256 9 2913f6478fa2d1954ece3b40efc111c18f3feb29204e49f627aa0ca493801eeb
	// sha256 12 73b2090e3e72430531e7bc7d63e88826891ef4e04d6c1e250dc5c52db24f2f48
}

// The PTS secret of the recorded strongSwan exchange (testdata/pts-vectors.txt).
func ExampleSecretAssessmentValue() {
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	secret, _ := tpmhost.SecretAssessmentValue(crypto.SHA256,
		h("9d26c045599300235fb9bc6088a1e26e007c9a80"), // initiator (IMV) nonce
		h("1d61bdf1f081282b7c348a541a0448cf6eff26cb"), // responder (IMC) nonce
		h("776a51bbe1b82c452ac4f924e98fa7aae873fbae7412d31c7cdaf4840c595766"))
	fmt.Printf("%x\n", secret)
	// Output: 12fc32b380b49533c87f47a463940b28037b1257d67722b80ef1e5eb96f25c72
}
