package wasmstop

import "fmt"

// MaxCallDepth bounds how deep a module's calls may nest. wazero grows a
// call's native stack up to 400 MB before it reports a stack overflow: a
// module recursing without end took ~170 MB of the host's memory in as
// many milliseconds, beyond the memory limit the host sets. Past this
// depth (a few MB of native stack) the call traps instead.
const MaxCallDepth = 20000

// Every function body becomes
//
//	global.get $depth; i32.const 1; i32.add; global.set $depth
//	global.get $depth; i32.const MaxCallDepth; i32.gt_u
//	if; unreachable; end
//	block (result ...)        ;; the function's results
//	  ...the body, each return now br to this block...
//	end
//	global.get $depth; i32.const 1; i32.sub; global.set $depth
//	end
//
// A branch to the function's own label from inside the body now lands on
// the new block, whose end is followed only by the decrement: the same
// values leave the function by the same paths. A trap leaves the count
// raised, but the host closes an instance that trapped.

// depthPrologue is the increment and the test.
func depthPrologue(depth uint32) []byte {
	c := globalOp(0x23, depth)                   // global.get $depth
	c = append(c, 0x41, 0x01, 0x6a)              // i32.const 1; i32.add
	c = append(c, globalOp(0x24, depth)...)      // global.set $depth
	c = append(c, globalOp(0x23, depth)...)      // global.get $depth
	c = appendS32(append(c, 0x41), MaxCallDepth) // i32.const MaxCallDepth
	c = append(c, 0x4b, 0x04, 0x40, 0x00, 0x0b)  // i32.gt_u; if; unreachable; end
	return c
}

// depthEpilogue is the decrement.
func depthEpilogue(depth uint32) []byte {
	c := globalOp(0x23, depth)                 // global.get $depth
	c = append(c, 0x41, 0x01, 0x6b)            // i32.const 1; i32.sub
	return append(c, globalOp(0x24, depth)...) // global.set $depth
}

// funcType is a function type's parameter count and result types.
type funcType struct {
	params  uint32
	results []byte
}

// wrapperTypes returns, for each defined function, the block type of the
// block wrapped around its body (its results: none, one value type, or
// the index of a type [] -> results), and the types to add to the type
// section for results no type of the module has with no parameters.
func wrapperTypes(typeSec, funcSec *section) (blockTypes [][]byte, added []byte, nAdded uint32, err error) {
	var types []funcType
	if typeSec != nil {
		r := &reader{b: typeSec.body, base: typeSec.off}
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			r.byte() // 0x60, checked by checkTypes
			var t funcType
			t.params = r.u32()
			for j := uint32(0); j < t.params && r.err == nil; j++ {
				r.byte()
			}
			nr := r.u32()
			t.results = r.bytes(int(nr))
			types = append(types, t)
		}
		if r.err != nil {
			return nil, nil, 0, r.err
		}
	}
	if funcSec == nil {
		return nil, nil, 0, nil
	}
	byResults := map[string]uint32{} // results -> a type [] -> results
	for i := len(types) - 1; i >= 0; i-- {
		if types[i].params == 0 {
			byResults[string(types[i].results)] = uint32(i)
		}
	}
	r := &reader{b: funcSec.body, base: funcSec.off}
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		at, t := r.off, r.u32()
		if r.err != nil {
			break
		}
		// Refused here, as an imported function's is in countImports:
		// wazero's validator looks a called function's type up by this
		// index before it has checked it, and panics (FuzzInstrument: a
		// function calling one of type 48 of 3).
		if int(t) >= len(types) {
			return nil, nil, 0, &Error{funcSec.off + at, fmt.Sprintf("function %d has type %d of %d", i, t, len(types))}
		}
		res := types[t].results
		switch len(res) {
		case 0:
			blockTypes = append(blockTypes, []byte{0x40})
		case 1:
			blockTypes = append(blockTypes, []byte{res[0]})
		default:
			idx, ok := byResults[string(res)]
			if !ok {
				idx = uint32(len(types)) + nAdded
				byResults[string(res)] = idx
				added = append(added, 0x60, 0x00)
				added = appendU32(added, uint32(len(res)))
				added = append(added, res...)
				nAdded++
			}
			blockTypes = append(blockTypes, appendS32(nil, int32(idx)))
		}
	}
	return blockTypes, added, nAdded, r.err
}

// wrapBody copies one function body (after its locals and the entry
// check) into fn with the depth count around it: returns become branches
// to the wrapping block. It refuses a body whose blocks do not nest (an
// end closing the function before its last byte, or blocks left open),
// which wazero would refuse too, and which the wrapping must not mend.
func wrapBody(fn, body []byte, base int, start int, blockType, prologue, epilogue, check []byte) ([]byte, int, bool, error) {
	fn = append(fn, prologue...)
	fn = append(fn, 0x02)
	fn = append(fn, blockType...)
	fr := &reader{b: body, off: start, base: base}
	copied, depth, checks := start, 0, 0
	for fr.off < len(body) {
		at := fr.off
		op := body[at]
		loop, err := skipInstr(fr)
		if err != nil {
			return nil, 0, false, err
		}
		switch {
		case op == 0x02 || op == 0x03 || op == 0x04:
			depth++
		case op == 0x0b:
			if depth == 0 {
				if fr.off != len(body) {
					return nil, 0, false, &Error{base + at, "end of the function before its last byte"}
				}
				fn = append(fn, body[copied:at]...)
				fn = append(fn, 0x0b) // the wrapping block
				fn = append(fn, epilogue...)
				return append(fn, 0x0b), checks, fr.segRefs, nil
			}
			depth--
		case op == 0x0f: // return: to the wrapping block
			fn = append(fn, body[copied:at]...)
			fn = appendU32(append(fn, 0x0c), uint32(depth))
			copied = fr.off
		}
		if loop {
			fn = append(fn, body[copied:fr.off]...)
			fn = append(fn, check...)
			copied = fr.off
			checks++
		}
	}
	return nil, 0, false, &Error{base + len(body), "function body without its end"}
}
