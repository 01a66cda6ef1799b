package abi

import (
	"bytes"
	"crypto"
	"fmt"
	"strings"
	"testing"
)

// FuzzParseModuleLog: a log line that parses is canonical: written back
// as the host writes it, it is the same line and parses the same.
func FuzzParseModuleLog(f *testing.F) {
	m := ModuleMeasurement{PCR: 14, IMCID: 1, Name: "OS \"x\"", SHA256: strings.Repeat("ab", 32), ABI: 1, Grants: []string{"log", "send"}}
	sum := crypto.SHA256.New()
	sum.Write([]byte(m.Event()))
	f.Add([]byte(fmt.Sprintf("14 %x %s\n", sum.Sum(nil), m.Event())))
	f.Add([]byte("14 00 imchost-module v1 imc=1 name=\"\" sha256= signer=- abi=1 grants=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ml, err := ParseModuleLog(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, m := range ml {
			sum := crypto.SHA256.New()
			sum.Write([]byte(m.Event()))
			line := fmt.Sprintf("%d %x %s\n", m.PCR, sum.Sum(nil), m.Event())
			again, err := ParseModuleLog(strings.NewReader(line))
			if err != nil || len(again) != 1 || again[0].Event() != m.Event() || again[0].PCR != m.PCR {
				t.Fatalf("%q does not parse back: %v", line, err)
			}
		}
	})
}
