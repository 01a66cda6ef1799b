package tnccs

import (
	"context"
	"testing"

	"github.com/imchost/imchost/tnccs/pb"
)

// BenchmarkAssessment is one complete assessment over PT-TLS on loopback
// (TCP, TLS 1.3, SASL PLAIN, 4 rounds): the cost of a Dial.
func BenchmarkAssessment(b *testing.B) {
	imvs := &testIMVs{ev: &events{}, requests: 3, decision: Decision{Recommendation: pb.RecommendationAllowed}}
	ln, addr := listen(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Server{Config: serverConfig(b, imvs)}).Serve(ctx, ln) }()
	ccfg := clientConfig(b, addr)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Dial(context.Background(), ccfg, &testIMCs{ev: &events{}}); err != nil {
			b.Fatal(err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReplayClient runs the client state machine over the recorded
// strongSwan exchange in memory (no transport): PB-TNC cost per assessment.
func BenchmarkReplayClient(b *testing.B) {
	client, server := recordedBatches(b)
	var rounds [][]PAMessage
	for _, c := range client[:5] {
		rounds = append(rounds, paOf(b, c))
	}
	c := NewClient(ClientConfig{}, nil)
	b.ReportAllocs()
	for b.Loop() {
		c.imcs = &replayIMCs{t: b, rounds: rounds}
		if _, err := c.Run(context.Background(), &memConn{in: server}); err != nil {
			b.Fatal(err)
		}
	}
}
