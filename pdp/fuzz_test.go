package pdp

import (
	"context"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/tnccs"
)

// clientVectors are the recorded client PA messages in exchange order.
var clientVectors = []string{"01_02_c2s_*", "03_01_c2s_*", "05_01_c2s_*", "07_01_c2s_*", "09_01_c2s_*"}

// FuzzConnReceive drives the IMVs through the first n recorded client
// messages (n from the first input byte), then delivers the rest of the
// input as a PA message of the subtype the second byte picks, and asks for a
// decision. Whatever arrives, the IMVs must not panic and must reach a
// well-formed verdict.
func FuzzConnReceive(f *testing.F) {
	for i, name := range clientVectors {
		body := loadVector(f, name).pa.Body
		f.Add(append([]byte{byte(i), 1}, body...))
		f.Add(append([]byte{byte(i), 0}, body...))
	}
	st, err := OpenStore(":memory:")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	env := testEnv(f, st, DefaultPolicy())
	quiet := hclog.NewNullLogger()
	env.log, env.osLog, env.attLog = quiet, quiet, quiet
	pre := make([]tnccs.PAMessage, len(clientVectors))
	for i, name := range clientVectors {
		pre[i] = loadVector(f, name).pa
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 2 {
			return
		}
		ctx := context.Background()
		rec := &recorder{}
		c := newConn(env, 1, tnccs.Peer{}, rec.send)
		for i := 0; i < int(in[0])%len(pre); i++ {
			c.Receive(ctx, pre[i])
			c.BatchEnding(ctx)
		}
		m := tnccs.PAMessage{Vendor: 0x005597, Subtype: 1, Collector: 2, Validator: 2, Exclusive: true, Body: in[2:]}
		if in[1]&1 == 0 {
			m.Vendor, m.Collector, m.Validator, m.Exclusive = 0, 1, 0xffff, false
		}
		c.Receive(ctx, m)
		c.BatchEnding(ctx)
		d := c.Decide(ctx)
		v := c.result()
		if v == nil || d.Recommendation < 1 || d.Recommendation > 3 || uint32(d.Result) > 4 {
			t.Fatalf("decision %+v, verdict %+v", d, v)
		}
		for _, out := range rec.msgs {
			if len(out.Body) > env.maxMsg {
				t.Fatalf("sent a %d-byte PA message", len(out.Body))
			}
		}
	})
}
