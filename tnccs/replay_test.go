package tnccs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"github.com/imchost/imchost/internal/testutil"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/tnccs/pb"
)

// recordedBatches returns the client and the server batches of the
// recorded strongSwan run, in order.
func recordedBatches(t testing.TB) (client, server [][]byte) {
	files, err := filepath.Glob(testutil.Data("strongswan", "batches", "*_*.txt"))
	if err != nil || len(files) != 11 {
		t.Fatalf("want 11 batch files, got %d %v", len(files), err)
	}
	for _, fn := range files {
		f, err := os.Open(fn)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "hex: "); ok {
				b, err := hex.DecodeString(v)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(fn, "_c2s_") {
					client = append(client, b)
				} else {
					server = append(server, b)
				}
			}
		}
		f.Close()
	}
	return client, server
}

// paOf returns the PB-PA messages of a recorded batch as PAMessages.
func paOf(t testing.TB, raw []byte) []PAMessage {
	b, err := pb.ParseBatch(raw, pb.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []PAMessage
	for _, m := range b.Messages {
		if pa, ok := m.(*pb.MsgPA); ok {
			out = append(out, PAMessage{Vendor: pa.Vendor, Subtype: pa.Subtype, Collector: pa.Collector,
				Validator: pa.Validator, Exclusive: pa.Exclusive, Body: pa.Body})
		}
	}
	return out
}

// replayIMCs sends, at BeginHandshake and then at each BatchEnding, the
// PA messages of the next recorded client batch.
type replayIMCs struct {
	t      testing.TB
	rounds [][]PAMessage
	got    []PAMessage
}

type replayIMCConn struct {
	r    *replayIMCs
	send SendFunc
	n    int
}

func (r *replayIMCs) Open(_ context.Context, _ ConnID, send SendFunc) (IMCConn, error) {
	return &replayIMCConn{r: r, send: send}, nil
}

func (c *replayIMCConn) next() {
	if c.n < len(c.r.rounds) {
		for _, m := range c.r.rounds[c.n] {
			if err := c.send(m); err != nil {
				c.r.t.Error(err)
			}
		}
	}
	c.n++
}

func (c *replayIMCConn) ChangeState(context.Context, abi.ConnState) {}
func (c *replayIMCConn) BeginHandshake(context.Context)             { c.next() }
func (c *replayIMCConn) Receive(_ context.Context, m PAMessage)     { c.r.got = append(c.r.got, m) }
func (c *replayIMCConn) BatchEnding(context.Context)                { c.next() }
func (c *replayIMCConn) Close(context.Context)                      {}

// TestReplayClient: fed the PDP's recorded batches, our client sends the
// recorded client batches byte for byte (CDATA with Language-Preference
// first, the empty CLOSE last).
func TestReplayClient(t *testing.T) {
	client, server := recordedBatches(t)
	imcs := &replayIMCs{t: t}
	for _, b := range client[:5] {
		imcs.rounds = append(imcs.rounds, paOf(t, b))
	}
	conn := &memConn{in: server}
	res, err := NewClient(ClientConfig{}, imcs).Run(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	if len(conn.sent) != len(client) {
		t.Fatalf("sent %d batches, want %d", len(conn.sent), len(client))
	}
	for i := range client {
		if !bytes.Equal(conn.sent[i], client[i]) {
			t.Errorf("client batch %d differs:\n got %x\nwant %x", i, conn.sent[i][:min(64, len(conn.sent[i]))], client[i][:min(64, len(client[i]))])
		}
	}
	if !res.Decided || res.AssessmentResult != pb.ResultCompliant || res.Recommendation != pb.RecommendationAllowed || len(imcs.got) != 6 {
		t.Errorf("result %+v, %d PA messages delivered", res, len(imcs.got))
	}
}

// replayIMVs queues, at each BatchEnding, the PA messages of the next
// recorded server SDATA; in Decide the RESULT's PA message.
type replayIMVs struct {
	t      testing.TB
	rounds [][]PAMessage
	final  []PAMessage
}

type replayIMVConn struct {
	r    *replayIMVs
	send SendFunc
	n    int
}

func (r *replayIMVs) Open(_ context.Context, _ ConnID, _ Peer, send SendFunc) (IMVConn, error) {
	return &replayIMVConn{r: r, send: send}, nil
}

func (c *replayIMVConn) Receive(context.Context, PAMessage) {}
func (c *replayIMVConn) BatchEnding(context.Context) {
	if c.n < len(c.r.rounds) {
		for _, m := range c.r.rounds[c.n] {
			if err := c.send(m); err != nil {
				c.r.t.Error(err)
			}
		}
	}
	c.n++
}
func (c *replayIMVConn) Decide(context.Context) Decision {
	for _, m := range c.r.final {
		_ = c.send(m)
	}
	return Decision{Result: pb.ResultCompliant, Recommendation: pb.RecommendationAllowed}
}
func (c *replayIMVConn) Close(context.Context) {}

// TestReplayServer: fed the client's recorded batches, our server sends
// the PDP's recorded batches byte for byte, RESULT included.
func TestReplayServer(t *testing.T) {
	client, server := recordedBatches(t)
	imvs := &replayIMVs{t: t, final: paOf(t, server[4])}
	for _, b := range server[:4] {
		imvs.rounds = append(imvs.rounds, paOf(t, b))
	}
	conn := &memConn{in: client}
	res, err := (&Server{Config: ServerConfig{IMVs: imvs}}).Run(context.Background(), conn, Peer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(conn.sent) != len(server) {
		t.Fatalf("sent %d batches, want %d", len(conn.sent), len(server))
	}
	for i := range server {
		if !bytes.Equal(conn.sent[i], server[i]) {
			t.Errorf("server batch %d differs:\n got %x\nwant %x", i, conn.sent[i], server[i])
		}
	}
	if !res.Decided || res.Peer.Language != "en" {
		t.Errorf("result %+v", res)
	}
}
