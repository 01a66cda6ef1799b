package wasmstop

import "fmt"

// checkBounds refuses a module whose counts promise more entries than its
// bytes can hold. wazero's decoder sizes its slices and maps from those
// counts before it reads the entries, so a module of a few bytes could
// otherwise make the host allocate gigabytes and die of it: every vector
// the decoder preallocates is checked here, against the bytes left. (A
// function's locals, which wazero allocates by their declared sum, are
// bounded by MaxLocals in instrumentCode, the pass that reads them.)
func checkBounds(secs []section, total int) error {
	for _, s := range secs {
		r := &reader{b: s.body, base: s.off}
		switch s.id {
		case 1, 2, 3, 4, 5, 6, 7, 9, 10, 11:
			// Every entry of a vector section takes at least one byte.
			r.count()
		case secDataCount:
			if n := r.u32(); r.err == nil && int64(n) > int64(total) {
				r.fail(fmt.Sprintf("data count %d exceeds the module's size", n))
			}
			if r.err != nil {
				return r.err
			}
			continue
		case secCustom:
			if name := r.name(); r.err == nil && name == "name" {
				checkNames(r)
			}
			if r.err != nil {
				return r.err
			}
			continue
		default:
			continue
		}
		if r.err != nil {
			return r.err
		}
		r.off = 0
		switch s.id {
		case 1:
			checkTypes(r)
		case 4:
			checkTables(r)
		case 6:
			checkGlobals(r)
		case 9:
			checkElements(r)
		case 11:
			checkData(r)
		}
		if r.err != nil {
			return r.err
		}
	}
	return nil
}

// count reads a vector's length and fails unless that many entries of at
// least one byte each fit in what is left.
func (r *reader) count() uint32 {
	at := r.off
	n := r.u32()
	if r.err == nil && int64(n) > int64(len(r.b)-r.off) {
		r.err = &Error{r.base + at, fmt.Sprintf("a vector of %d entries in %d bytes", n, len(r.b)-r.off)}
		return 0
	}
	return n
}

// skipBytes reads a vector of bytes.
func (r *reader) skipBytes() { r.bytes(int(r.count())) }

// valTypes reads a vector of value types.
func (r *reader) valTypes() {
	n := r.count()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.valType()
	}
}

// valType reads a WebAssembly 2.0 value type: one byte. wazero also reads
// the typed references of later proposals (0x63 and 0x64, followed by a
// heap type), which would put this reader and wazero's out of step: a count
// this reader never saw could then size one of wazero's allocations
// (found by FuzzInstrument: an element vector of 268 million expressions
// behind a 0x63).
func (r *reader) valType() {
	at := r.off
	switch t := r.byte(); t {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
	default:
		if r.err == nil {
			r.err = &Error{r.base + at, fmt.Sprintf("value type 0x%02x is not a WebAssembly 2.0 type", t)}
		}
	}
}

// refType reads a WebAssembly 2.0 reference type: funcref or externref.
func (r *reader) refType() {
	at := r.off
	if t := r.byte(); t != 0x70 && t != 0x6f && r.err == nil {
		r.err = &Error{r.base + at, fmt.Sprintf("reference type 0x%02x is not a WebAssembly 2.0 type", t)}
	}
}

func checkTypes(r *reader) {
	n := r.count()
	for i := uint32(0); i < n && r.err == nil; i++ {
		if form := r.byte(); form != 0x60 && r.err == nil {
			r.fail(fmt.Sprintf("type form 0x%02x is not a function type", form))
		}
		r.valTypes() // parameters
		r.valTypes() // results
	}
}

// checkTables reads the table section: reference types and limits (a
// table with an initialiser, 0x40, is a later proposal).
func checkTables(r *reader) {
	n := r.count()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.refType()
		r.limits()
	}
}

// checkGlobals reads the global section: types and constant expressions.
func checkGlobals(r *reader) {
	n := r.count()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.valType()
		if mut := r.byte(); mut > 1 && r.err == nil {
			r.fail(fmt.Sprintf("global mutability 0x%02x", mut))
		}
		r.constExpr()
	}
}

// constExpr skips a constant expression up to its end.
func (r *reader) constExpr() {
	for r.err == nil {
		if r.off < len(r.b) && r.b[r.off] == 0x0b {
			r.off++
			return
		}
		if _, err := skipInstr(r); err != nil {
			r.err = err
		}
	}
}

func checkData(r *reader) {
	n := r.count()
	for i := uint32(0); i < n && r.err == nil; i++ {
		switch flags := r.u32(); flags {
		case 0:
			r.constExpr()
		case 1:
		case 2:
			r.u32()
			r.constExpr()
		default:
			r.fail(fmt.Sprintf("data segment flags %d", flags))
		}
		r.skipBytes()
	}
}

func checkElements(r *reader) {
	n := r.count()
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		if flags > 7 {
			r.fail(fmt.Sprintf("element segment flags %d", flags))
			return
		}
		if flags&1 == 0 { // active: a table index (flag 2), then the offset
			if flags&2 != 0 {
				r.u32()
			}
			r.constExpr()
		}
		if flags&3 != 0 { // an element kind (0: funcref) or a reference type
			if flags&4 == 0 {
				if kind := r.byte(); kind != 0 && r.err == nil {
					r.fail(fmt.Sprintf("element kind 0x%02x", kind))
				}
			} else {
				r.refType()
			}
		}
		m := r.count()
		for j := uint32(0); j < m && r.err == nil; j++ {
			if flags&4 == 0 {
				r.u32() // function index
			} else {
				r.constExpr()
			}
		}
	}
}

// checkNames walks the name section's function (1) and local (2) names,
// which wazero reads into maps sized by their counts.
func checkNames(r *reader) {
	for r.err == nil && r.off < len(r.b) {
		id := r.byte()
		sub := r.bytes(int(r.u32()))
		if r.err != nil || (id != 1 && id != 2) {
			continue
		}
		sr := &reader{b: sub, base: r.base + r.off - len(sub)}
		n := sr.count()
		for i := uint32(0); i < n && sr.err == nil; i++ {
			sr.u32()
			if id == 1 {
				sr.name()
				continue
			}
			m := sr.count()
			for j := uint32(0); j < m && sr.err == nil; j++ {
				sr.u32()
				sr.name()
			}
		}
		if sr.err != nil {
			r.err = sr.err
		}
	}
}
