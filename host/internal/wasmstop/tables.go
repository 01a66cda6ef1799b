package wasmstop

import "fmt"

// MaxTableEntries bounds the entries of all of a module's tables together,
// at their minimum and as far as table.grow may take them: 8 MiB of
// references in wazero. A module's memory is bounded by the host's memory
// limit; without this, a table could take up to 2^27 entries (1 GiB) at
// instantiation, each of a module's tables, and as many again by
// table.grow.
const MaxTableEntries = 1 << 20

// boundTables returns the table section with every table given a maximum,
// so that the tables' maximums add up to at most MaxTableEntries: each
// keeps its own maximum where that is lower, else gets its minimum plus an
// equal share of what the minimums leave. A module whose minimums alone
// exceed the budget is refused.
func boundTables(s section) ([]byte, error) {
	type table struct {
		ref      byte
		min, max uint32
		hasMax   bool
	}
	r := &reader{b: s.body, base: s.off}
	n := r.u32()
	tables := make([]table, 0, min(n, 1024))
	var sum uint64
	for i := uint32(0); i < n && r.err == nil; i++ {
		var t table
		t.ref = r.byte()
		switch flag := r.byte(); flag {
		case 0x00:
			t.min = r.u32()
		case 0x01:
			t.min, t.max, t.hasMax = r.u32(), r.u32(), true
		default:
			r.fail(fmt.Sprintf("table limits flag 0x%02x is not supported", flag))
		}
		sum += uint64(t.min)
		tables = append(tables, t)
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.off != len(r.b) {
		return nil, &Error{s.off + r.off, "table section has trailing bytes"}
	}
	if sum > MaxTableEntries {
		return nil, &Error{s.off, fmt.Sprintf("tables of %d entries at least (at most %d)", sum, MaxTableEntries)}
	}
	share := uint32(0)
	if len(tables) > 0 {
		share = uint32((MaxTableEntries - sum) / uint64(len(tables)))
	}
	out := appendU32(make([]byte, 0, len(s.body)+5*len(tables)), n)
	for _, t := range tables {
		max := t.min + share
		if t.hasMax && t.max < max {
			max = t.max // a maximum below its minimum stays, for wazero to refuse
		}
		out = append(out, t.ref, 0x01)
		out = appendU32(out, t.min)
		out = appendU32(out, max)
	}
	return out, nil
}
