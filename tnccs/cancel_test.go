package tnccs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/tnccs/pb"
)

// TestClientCancelledBetweenBatches: a client whose context ends after it
// received a server batch sends nothing more (no next CDATA, no CLOSE),
// returns context.Canceled, and the server ends the connection undecided.
func TestClientCancelledBetweenBatches(t *testing.T) {
	for _, after := range []int{1, 2} { // received SDATA batches before the cancel
		imvs := &testIMVs{ev: &events{}, requests: 3, decision: Decision{Result: pb.ResultCompliant, Recommendation: pb.RecommendationAllowed}}
		scfg := serverConfig(t, imvs)
		results := make(chan error, 1)
		scfg.OnResult = func(r *Result, err error) { results <- err }
		addr, _, _ := startServer(t, scfg)

		ctx, cancel := context.WithCancel(context.Background())
		ccfg := clientConfig(t, addr)
		var seen batchLog
		received := 0
		ccfg.OnBatch = func(sent bool, b *pb.Batch, size int) {
			seen.observe(sent, b, size)
			if !sent {
				if received++; received == after {
					cancel()
				}
			}
		}
		res, err := Dial(ctx, ccfg, &testIMCs{ev: &events{}})
		cancel()
		if !errors.Is(err, context.Canceled) || res == nil || res.Decided {
			t.Fatalf("after %d batches: %+v, %v", after, res, err)
		}
		got := seen.list()
		if last := got[len(got)-1]; !strings.HasPrefix(last, "recv SDATA") || len(got) != 2*after {
			t.Errorf("after %d batches the client went on:\n%s", after, strings.Join(got, "\n"))
		}
		if res.BatchesSent != after {
			t.Errorf("BatchesSent %d, want %d", res.BatchesSent, after)
		}
		select {
		case serr := <-results:
			if serr == nil {
				t.Errorf("server: no error for an abandoned connection")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the server never ended the abandoned connection")
		}
	}
}
