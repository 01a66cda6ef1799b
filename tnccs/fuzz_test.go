package tnccs

import (
	"context"
	"testing"

	"github.com/imchost/imchost/tnccs/pb"
)

// checkSent asserts that everything our side sent is a valid batch for the
// peer (parses under the receiver's rules), and that it ended with at most
// one batch per received batch plus the first.
func checkSent(t *testing.T, conn *memConn, server bool, received int) {
	recv := pb.SideServer
	if server {
		recv = pb.SideClient
	}
	for i, raw := range conn.sent {
		if _, err := pb.ParseBatch(raw, pb.ParseOptions{Receiver: recv}); err != nil {
			t.Fatalf("sent batch %d is invalid: %v (%x)", i, err, raw)
		}
	}
	if len(conn.sent) > received+1 {
		t.Fatalf("sent %d batches for %d received", len(conn.sent), received)
	}
}

// FuzzClientRun drives the client state machine with three arbitrary
// server batches: no panic, no hang, and every batch it sends is valid.
func FuzzClientRun(f *testing.F) {
	_, server := recordedBatches(f)
	f.Add(server[0], server[1], server[4])
	f.Add(server[2], server[3], []byte{2, 0x80, 0, 6, 0, 0, 0, 8})
	f.Add([]byte{2, 0x80, 0, 5, 0, 0, 0, 8}, server[1], server[4])
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		conn := &memConn{in: [][]byte{a, b, c}}
		res, err := NewClient(ClientConfig{}, &testIMCs{ev: &events{}}).Run(context.Background(), conn)
		if res == nil || (err == nil && !res.Decided) {
			t.Fatalf("result %+v, err %v", res, err)
		}
		checkSent(t, conn, false, 3)
	})
}

// FuzzServerRun drives the server state machine with three arbitrary
// client batches.
func FuzzServerRun(f *testing.F) {
	client, _ := recordedBatches(f)
	f.Add(client[0], client[1], client[5])
	f.Add(client[0], []byte{2, 0, 0, 4, 0, 0, 0, 8}, client[5])
	f.Add([]byte{2, 0, 0, 1, 0, 0, 0, 8}, client[5], client[5])
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		conn := &memConn{in: [][]byte{a, b, c}}
		imvs := &testIMVs{ev: &events{}, requests: 1, decision: Decision{Recommendation: pb.RecommendationAllowed}}
		res, err := (&Server{Config: ServerConfig{IMVs: imvs}}).Run(context.Background(), conn, Peer{})
		if res == nil || (err == nil && !res.Decided) {
			t.Fatalf("result %+v, err %v", res, err)
		}
		checkSent(t, conn, true, 3)
	})
}
