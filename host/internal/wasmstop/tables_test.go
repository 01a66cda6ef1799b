package wasmstop

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// growModule has tables of the given limits (each a byte slice: flag, min
// [, max]) and exports "grow" (i32 n) -> i32: table.grow table 0 by n null
// references, returning the old size or -1.
func growModule(tables ...[]byte) []byte {
	var ts [][]byte
	for _, t := range tables {
		ts = append(ts, append([]byte{0x70}, t...))
	}
	return module(
		sec(1, vec([]byte{0x60, 1, i32, 1, i32})),
		sec(3, vec([]byte{0})),
		sec(4, vec(ts...)),
		sec(7, vec(bytes.Join([][]byte{name("grow"), {0x00, 0}}, nil))),
		sec(10, vec(code(0, 0xd0, 0x70, 0x20, 0, 0xfc, 15, 0, 0x0b))),
	)
}

// TestTablesBounded: table.grow stops at the budget after the rewrite (it
// would not before); maximums share what the minimums leave; a module
// whose minimums exceed the budget is refused.
func TestTablesBounded(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	grow := func(bin []byte, n uint32) int32 {
		t.Helper()
		m, err := rt.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithName("").WithStartFunctions())
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close(ctx)
		r, err := m.ExportedFunction("grow").Call(ctx, uint64(n))
		if err != nil {
			t.Fatal(err)
		}
		return int32(r[0])
	}
	in := growModule([]byte{0x00, 1}) // min 1, no maximum
	out, _, err := Instrument(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := grow(in, MaxTableEntries); got != 1 {
		t.Fatalf("before: grow = %d (the test needs a table that grows past the budget)", got)
	}
	if got := grow(out, MaxTableEntries); got != -1 {
		t.Errorf("after: grow past the budget = %d, want -1", got)
	}
	if got := grow(out, MaxTableEntries-1); got != 1 {
		t.Errorf("after: grow to the budget = %d, want 1", got)
	}

	for _, tc := range []struct {
		name   string
		tables [][]byte
		want   []byte // the rewritten section's contents
		err    string
	}{
		{"two tables share", [][]byte{{0x00, 10}, {0x00, 10}}, nil, ""},
		{"a lower maximum stays", [][]byte{{0x01, 1, 5}}, []byte{1, 0x70, 0x01, 1, 5}, ""},
		{"minimums over the budget", [][]byte{{0x00, 0x81, 0x80, 0x40}}, nil, "tables of 1048577 entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := Instrument(growModule(tc.tables...))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			body := sectionBody(out, 4)
			want := tc.want
			if want == nil { // 10 + (2^20 - 20) / 2 each
				m := appendU32(nil, 10+(MaxTableEntries-20)/2)
				one := append([]byte{0x70, 0x01, 10}, m...)
				want = append(append([]byte{2}, one...), one...)
			}
			if !bytes.Equal(body, want) {
				t.Fatalf("table section % x, want % x", body, want)
			}
		})
	}
}
