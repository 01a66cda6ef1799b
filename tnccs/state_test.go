package tnccs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/imchost/imchost/tnccs/pb"
)

// memConn is an in-memory BatchConn: it hands out queued inbound batches
// and records what was sent. (The transport is not under test here.)
type memConn struct {
	in   [][]byte
	sent [][]byte
}

func (c *memConn) WriteBatch(_ context.Context, b []byte) error {
	c.sent = append(c.sent, append([]byte{}, b...))
	return nil
}

func (c *memConn) ReadBatch(context.Context) ([]byte, error) {
	if len(c.in) == 0 {
		return nil, io.EOF
	}
	b := c.in[0]
	c.in = c.in[1:]
	return b, nil
}

// The transition grids of RFC 5793 §3.2, one row per state,
// one column per batch type NONE CDATA SDATA RESULT CRETRY SRETRY CLOSE;
// "x" means refused (receive: Unexpected Batch Type in a CLOSE batch).
// Abbreviations: Init, SW, CW, Dec, End.
const (
	gridClientReceives = `
Init  x x CW x   x  x  End
SW    x x CW Dec x  CW End
CW    x x x  x   x  x  End
Dec   x x x  x   x  SW End
End   x x x  x   x  x  End`
	gridClientSends = `
Init  x SW x x x  x End
SW    x x  x x SW x End
CW    x SW x x SW x End
Dec   x x  x x SW x End
End   x x  x x x  x End`
	gridServerReceives = `
Init  x SW x x x  x End
SW    x x  x x SW x End
CW    x SW x x SW x End
Dec   x x  x x SW x End
End   x x  x x x  x End`
	gridServerSends = `
Init  x x x  x   x  x  End
SW    x x CW Dec x  CW End
CW    x x x  x   x  CW End
Dec   x x x  x   x  SW End
End   x x x  x   x  x  End`
)

var abbrev = map[string]pbState{"Init": stateInit, "SW": stateServerWorking, "CW": stateClientWorking, "Dec": stateDecided, "End": stateEnd}

// parseGrid returns grid[state][batchType] = next state, or -1.
func parseGrid(t *testing.T, g string) [5][7]int {
	var out [5][7]int
	rows := strings.Split(strings.TrimSpace(g), "\n")
	if len(rows) != 5 {
		t.Fatalf("grid has %d rows", len(rows))
	}
	for _, row := range rows {
		f := strings.Fields(row)
		s, ok := abbrev[f[0]]
		if !ok {
			t.Fatalf("bad row %q", row)
		}
		cells := f[1:]
		if len(cells) != 7 {
			t.Fatalf("row %q has %d cells", row, len(cells))
		}
		for bt, c := range cells {
			out[s][bt] = -1
			if c != "x" {
				out[s][bt] = int(abbrev[c])
			}
		}
	}
	return out
}

// TestStateTable walks every state × batch type, for both roles, sending
// and receiving, through the real session code.
func TestStateTable(t *testing.T) {
	for _, role := range []struct {
		name        string
		server      bool
		recv, send  string
		peerFromSrv bool
	}{
		{"client", false, gridClientReceives, gridClientSends, true},
		{"server", true, gridServerReceives, gridServerSends, false},
	} {
		recv, send := parseGrid(t, role.recv), parseGrid(t, role.send)
		for s := stateInit; s <= stateEnd; s++ {
			for bt := pb.BatchNone; bt <= pb.BatchCLOSE; bt++ {
				t.Run(fmt.Sprintf("%s/receive/%s/%s", role.name, s, bt), func(t *testing.T) {
					in, _ := (&pb.Batch{Type: bt, FromServer: role.peerFromSrv}).Marshal()
					conn := &memConn{in: [][]byte{in}}
					ss := newSession(role.server, 1, conn, &Options{})
					ss.state = s
					b, err := ss.recv(context.Background())
					if want := recv[s][bt]; want >= 0 {
						if err != nil || b.Type != bt || ss.state != pbState(want) || len(conn.sent) != 0 {
							t.Fatalf("got %v %v, state %s, want state %s", b, err, ss.state, pbState(want))
						}
						return
					}
					var le *LocalError
					if !errors.As(err, &le) || le.Err.Code != pb.ErrUnexpectedBatchType {
						t.Fatalf("err = %v, want Unexpected Batch Type", err)
					}
					wantD := byte(0)
					if role.server {
						wantD = 0x80
					}
					want := []byte{2, wantD, 0, 6, 0, 0, 0, 0x20, 0x80, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0x18, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
					if len(conn.sent) != 1 || !bytes.Equal(conn.sent[0], want) || ss.state != stateEnd {
						t.Fatalf("sent %x, state %s", conn.sent, ss.state)
					}
				})
				t.Run(fmt.Sprintf("%s/send/%s/%s", role.name, s, bt), func(t *testing.T) {
					conn := &memConn{}
					ss := newSession(role.server, 1, conn, &Options{})
					ss.state = s
					err := ss.sendBatch(context.Background(), bt)
					if want := send[s][bt]; want >= 0 {
						if err != nil || ss.state != pbState(want) || len(conn.sent) != 1 {
							t.Fatalf("err %v, state %s, want %s", err, ss.state, pbState(want))
						}
						return
					}
					if err == nil || ss.state != s || len(conn.sent) != 0 {
						t.Fatalf("sending %s in %s: err %v, state %s", bt, s, err, ss.state)
					}
				})
			}
		}
	}
}

// TestBatchFilling: queued messages beyond the batch limit wait for the
// next batch, in order.
func TestBatchFilling(t *testing.T) {
	conn := &memConn{}
	ss := newSession(false, 1, conn, &Options{Limits: pb.Limits{MaxBatchSize: 8 + 3*40, MaxMessageSize: 16}})
	for i := 0; i < 5; i++ {
		if err := ss.sendPA(PAMessage{Vendor: 0, Subtype: 1, Collector: 1, Validator: 0xffff, Body: bytes.Repeat([]byte{byte(i)}, 16)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ss.sendPA(PAMessage{Subtype: 1, Body: make([]byte, 17)}); err == nil {
		t.Error("oversized PA message accepted")
	}
	if err := ss.sendPA(PAMessage{Vendor: 0xffffff, Subtype: 1}); err == nil {
		t.Error("reserved vendor accepted")
	}
	if err := ss.sendPA(PAMessage{Subtype: 0xffffffff}); err == nil {
		t.Error("reserved subtype accepted")
	}
	if err := ss.sendBatch(context.Background(), pb.BatchCDATA); err != nil {
		t.Fatal(err)
	}
	ss.state = stateClientWorking
	if err := ss.sendBatch(context.Background(), pb.BatchCDATA); err != nil {
		t.Fatal(err)
	}
	if len(conn.sent) != 2 || len(conn.sent[0]) != 8+3*40 || len(conn.sent[1]) != 8+2*40 || ss.queued() != 0 {
		t.Fatalf("sent %d batches of %d, %d bytes; %d left", len(conn.sent), len(conn.sent[0]), len(conn.sent[1]), ss.queued())
	}
	b, err := pb.ParseBatch(conn.sent[1], pb.ParseOptions{})
	if err != nil || b.Messages[0].(*pb.MsgPA).Body[0] != 3 {
		t.Fatalf("second batch %v %v", b, err)
	}
}
