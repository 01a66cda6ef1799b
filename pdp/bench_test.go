package pdp

import (
	"context"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/tnccs"
)

// BenchmarkRecordedAssessment runs the IMVs through the whole recorded
// exchange (OS facts, PTS negotiation, D-H, AIK, 105 evidence entries and
// the quote) against learned reference measurements: the PDP's cost of one
// attestation without the transport.
func BenchmarkRecordedAssessment(b *testing.B) {
	st, err := OpenStore(":memory:")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	env := testEnv(b, st, DefaultPolicy())
	quiet := hclog.NewNullLogger()
	env.log, env.osLog, env.attLog = quiet, quiet, quiet
	msgs := make([]tnccs.PAMessage, len(clientVectors))
	for i, name := range clientVectors {
		msgs[i] = loadVector(b, name).pa
	}
	secret := recordedSecret(b)
	ctx := context.Background()
	run := func() *Verdict {
		c := newConn(env, 1, tnccs.Peer{}, func(tnccs.PAMessage) error { return nil })
		for i, m := range msgs {
			c.Receive(ctx, m)
			c.BatchEnding(ctx)
			if i == 2 {
				c.att.secret = secret
			}
		}
		c.Decide(ctx)
		return c.result()
	}
	if v := run(); v.Result != Compliant { // learns
		b.Fatalf("first run: %v %q", v.Result, v.Reasons)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if v := run(); v.Result != Compliant {
			b.Fatalf("run %d: %v %q", i, v.Result, v.Reasons)
		}
	}
}
