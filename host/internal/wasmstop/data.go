package wasmstop

import (
	"slices"
)

// MaxDataGap is the widest run of zeros mergeData fills to join two data
// segments.
const MaxDataGap = 1024

var zeros [MaxDataGap]byte

// dataSegment is an active data segment of memory 0 at a constant offset.
type dataSegment struct {
	off  uint32
	init []byte
}

// mergeData returns the data section s with neighbouring active segments
// joined, the zeros between them written out, and the new segment count.
// Go's linker splits a module's data at every run of zeros: ~40,000
// segments of a few bytes each for a 3.5 MB module, which wazero decodes
// into as many allocations and copies one by one into every new instance.
// Joined, they are a handful.
//
// The result is the same memory after instantiation: segments are joined
// only when every segment is active on memory 0 at an i32.const offset, no
// two segments overlap anywhere (so no zeros written into a gap cover
// another segment's bytes, whatever the order), and the two are neighbours
// in address order as well as in the section; a joined segment spans
// exactly its parts, so it is out of bounds exactly when one of them was.
// Segment indices change, so the caller merges only modules without a data
// count section and without memory.init or data.drop, the instructions
// that name segments. The zeros written out may at most double the
// section (Go's add about half). ok is false when nothing was changed.
func mergeData(s section) (body []byte, count uint32, ok bool) {
	r := &reader{b: s.body, base: s.off}
	n := r.u32()
	if r.err != nil || n < 2 {
		return nil, 0, false
	}
	segs := make([]dataSegment, 0, n)
	for i := uint32(0); i < n; i++ {
		if flags := r.u32(); flags != 0 || r.err != nil {
			return nil, 0, false // passive, or an explicit memory index
		}
		if r.byte() != 0x41 {
			return nil, 0, false // an offset from a global
		}
		off := uint32(r.s32())
		if r.byte() != 0x0b {
			return nil, 0, false
		}
		size := r.u32()
		init := r.bytes(int(size))
		if r.err != nil {
			return nil, 0, false
		}
		segs = append(segs, dataSegment{off, init})
	}
	if r.off != len(r.b) {
		return nil, 0, false
	}
	// rank[i]: segment i's place in address order.
	order := make([]int, len(segs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if segs[a].off != segs[b].off {
			return int(int64(segs[a].off) - int64(segs[b].off))
		}
		return len(segs[a].init) - len(segs[b].init)
	})
	rank := make([]int, len(segs))
	for k, i := range order {
		rank[i] = k
		if k > 0 {
			p := segs[order[k-1]]
			if uint64(p.off)+uint64(len(p.init)) > uint64(segs[i].off) {
				return nil, 0, false // overlapping segments
			}
		}
	}

	size := 0
	for i := range segs {
		size += len(segs[i].init)
	}
	body = make([]byte, 0, size+size/2+16)
	body = append(body, 0, 0, 0, 0, 0) // the count, patched below
	var runs uint32
	emit := func(off uint32, b []byte) {
		body = append(body, 0x00, 0x41)
		body = appendS32(body, int32(off))
		body = append(body, 0x0b)
		body = appendU32(body, uint32(len(b)))
		body = append(body, b...)
		runs++
	}
	var run []byte
	start := segs[0].off
	run = append(run, segs[0].init...)
	filled := 0 // zeros written out so far
	for i := 1; i < len(segs); i++ {
		end := uint64(start) + uint64(len(run))
		gap := uint64(segs[i].off) - end // no overlap: segs[i].off >= end when ranked next
		if rank[i] == rank[i-1]+1 && uint64(segs[i].off) >= end && gap <= MaxDataGap {
			// The zeros may at most double the section: tiny segments
			// a gap apart would otherwise grow a module a
			// thousandfold.
			if filled += int(gap); filled > len(s.body) {
				return nil, 0, false
			}
			run = append(run, zeros[:gap]...)
			run = append(run, segs[i].init...)
			continue
		}
		emit(start, run)
		start, run = segs[i].off, append(run[:0], segs[i].init...)
	}
	emit(start, run)
	// The count as a 5-byte LEB128, then drop the padding it does not need.
	c := appendU32(nil, runs)
	copy(body[5-len(c):], c)
	return body[5-len(c):], runs, true
}

// s32 reads a signed LEB128 of at most 32 bits.
func (r *reader) s32() int32 {
	var v int64
	var shift uint
	for i := 0; i < 5; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			if v < -1<<31 || v > 1<<31-1 {
				r.fail("s32 out of range")
				return 0
			}
			return int32(v)
		}
	}
	r.fail("s32 longer than 5 bytes")
	return 0
}
