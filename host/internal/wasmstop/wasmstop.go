// Package wasmstop makes a WebAssembly module stoppable from outside
// without any per-call cost. It adds two mutable i32 globals, exported as
// StopGlobal and FuelGlobal, and at every function entry and loop header
// inserts
//
//	global.get $fuel
//	i32.const 1
//	i32.sub
//	global.set $fuel
//	global.get $fuel
//	i32.const 0
//	i32.le_s
//	if                        ;; every FuelPerExit checks:
//	  i32.const 0
//	  memory.grow             ;; an exit to Go: the runtime may preempt here
//	  drop
//	  global.get $stop
//	  if
//	    unreachable           ;; stopped: trap
//	  end
//	  i32.const FuelPerExit
//	  global.set $fuel
//	end
//
// The test is "at most 0", not "is 0": the host's store of 0 may land
// between the module's load and store of the fuel, and a fuel that went
// below 0 must not count down through the whole i32 range.
//
// A program cannot run for long without a call or a loop iteration, so
// setting the stop global to 1 and the fuel to 0 from another goroutine
// traps the running code promptly. The periodic exit matters as much: wazero
// runs compiled code where the Go runtime cannot preempt it, and a loop
// that never left it would hold up every stop-the-world pause of the whole
// process (the garbage collector's included), and with it the very timer
// that should stop the loop. memory.grow by 0 pages is such an exit with no
// effect; a module without a memory is given an empty one.
//
// This replaces wazero's WithCloseOnContextDone, which exits to Go at every
// check and starts a goroutine for every call into the module, the largest
// part of a host → module → host round trip.
//
// A start function would run during instantiation, before the host could
// reach the globals; Instrument removes the start section and exports that
// function as StartExport, for the host to call first, under a deadline.
//
// The decoder follows the WebAssembly 2.0 binary format (what wazero's
// CoreFeaturesV2 accepts: MVP, sign extension, non-trapping conversions,
// multi-value, bulk memory, reference types, SIMD). A module using anything
// else is refused with an error naming the byte; so is one whose bytes do
// not decode, or whose counts promise more than its bytes hold (see
// checkBounds: wazero would allocate for them first). DWARF custom sections
// are dropped: their code offsets would be wrong after the insertion.
//
// Each function also counts the depth of calls in a third global, exported
// as DepthGlobal, and traps past MaxCallDepth (see depth.go): wazero would
// otherwise let a recursion grow its native stack to 400 MB, outside the
// host's memory limit.
//
// Two changes are not about stopping. Every table gets a maximum, so that
// all of them together stay within MaxTableEntries (a module's memory is
// bounded by the host; its tables would not be). And the data segments Go's
// linker scatters (tens of thousands of a few bytes each) are joined where
// that leaves the instantiated memory the same (see mergeData), which takes
// milliseconds off every instantiation and megabytes off the decoded
// module.
package wasmstop

import (
	"bytes"
	"fmt"
	"strings"
)

// MaxLocals bounds the locals of one function (the limit browsers use).
// All of a module's functions together may declare MaxLocals plus one for
// every two bytes of its code section: wazero allocates for every declared
// local, so without that bound thousands of five-byte functions of 50,000
// locals each would cost gigabytes. (A Go module declares ~9,000 in 2 MB.)
const MaxLocals = 50000

// Version names the rewriting; it changes whenever the output for the same
// input would, so that a cache of rewritten modules can key on it.
const Version = "6"

// StopGlobal is the export name of the stop flag: 0 runs, 1 stops.
const StopGlobal = "imchost.stop"

// FuelGlobal is the export name of the checks left before the next exit;
// set it to 0 with the stop flag for the module to see the flag at once (or,
// if the store races with the module's own, within FuelPerExit checks).
const FuelGlobal = "imchost.fuel"

// FuelPerExit is how many checks pass between two exits to Go: a few
// microseconds of a tight loop, and the exit costs about as much as 100
// checks.
const FuelPerExit = 4096

// DepthGlobal is the export name of the current call depth (see
// MaxCallDepth): at MaxCallDepth or more after a trap, the trap was the
// depth's.
const DepthGlobal = "imchost.depth"

// StartExport is the export name under which a start function is kept.
const StartExport = "imchost.start"

// Result says what Instrument did beyond the checks.
type Result struct {
	HasStart bool // the module had a start function, now exported as StartExport
	Checks   int  // checks inserted: function entries plus loops
	// DataSegments is the data segment count before and after mergeData
	// (equal when the segments were left as they were).
	DataSegments [2]uint32
}

// Error says where and why a module could not be instrumented.
type Error struct {
	Offset int // byte offset in the input
	Msg    string
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("wasmstop: at byte %d: %s", e.Offset, e.Msg) }

var header = []byte("\x00asm\x01\x00\x00\x00")

// Section ids, and the order the known ones must appear in (custom
// sections, id 0, may appear anywhere).
const (
	secCustom    = 0
	secImport    = 2
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

var secRank = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

type section struct {
	id   byte
	off  int // offset of the contents in the input
	body []byte
}

// Instrument returns a copy of the module bin with the stop checks added.
// It never modifies bin.
func Instrument(bin []byte) ([]byte, Result, error) {
	var res Result
	if !bytes.HasPrefix(bin, header) {
		return nil, res, &Error{0, "not a WebAssembly 1 module (header)"}
	}
	var secs []section
	r := &reader{b: bin, off: len(header)}
	last := 0
	for r.off < len(bin) {
		start := r.off
		id := r.byte()
		size := r.u32()
		body := r.bytes(int(size))
		if r.err != nil {
			return nil, res, r.err
		}
		if id != secCustom {
			rank, ok := secRank[id]
			if !ok {
				return nil, res, &Error{start, fmt.Sprintf("unknown section id %d", id)}
			}
			if rank <= last {
				return nil, res, &Error{start, fmt.Sprintf("section %d out of order or repeated", id)}
			}
			last = rank
			if id == secTag {
				return nil, res, &Error{start, "the exception-handling proposal (tag section) is not supported"}
			}
		} else if name, ok := customName(body); !ok {
			return nil, res, &Error{start, "custom section without a name"}
		} else if strings.HasPrefix(name, ".debug_") {
			continue // DWARF: its code offsets would no longer hold
		}
		secs = append(secs, section{id: id, off: r.off - len(body), body: body})
	}

	if err := checkBounds(secs, len(bin)); err != nil {
		return nil, res, err
	}
	var importedGlobals, definedGlobals, memories uint32
	var exports []string
	startFunc, hasStart := uint32(0), false
	hasDataCount := false
	var typeSec, funcSec *section
	var types uint32
	for i, s := range secs {
		var err error
		switch s.id {
		case 1:
			typeSec = &secs[i]
			sr := &reader{b: s.body, base: s.off}
			types = sr.u32()
			err = sr.err
		case 3:
			funcSec = &secs[i]
		case secDataCount:
			hasDataCount = true
		case secData:
			sr := &reader{b: s.body, base: s.off}
			n := sr.u32()
			res.DataSegments = [2]uint32{n, n}
			err = sr.err
		case secImport:
			var mems uint32
			importedGlobals, mems, err = countImports(s, types)
			memories += mems
		case secMemory:
			sr := &reader{b: s.body, base: s.off}
			memories += sr.u32()
			err = sr.err
		case secGlobal:
			sr := &reader{b: s.body, base: s.off}
			definedGlobals = sr.u32()
			err = sr.err
		case secExport:
			exports, err = exportNames(s)
		case secStart:
			sr := &reader{b: s.body, base: s.off}
			startFunc, hasStart = sr.u32(), true
			if sr.err == nil && sr.off != len(s.body) {
				sr.fail("start section has trailing bytes")
			}
			err = sr.err
		}
		if err != nil {
			return nil, res, err
		}
	}
	for _, name := range exports {
		if name == StopGlobal || name == FuelGlobal || name == DepthGlobal || name == StartExport {
			return nil, res, &Error{0, fmt.Sprintf("the module already exports %q, a name the host reserves", name)}
		}
	}
	stopIdx := importedGlobals + definedGlobals
	fuelIdx, depthIdx := stopIdx+1, stopIdx+2
	if stopIdx < importedGlobals || depthIdx < stopIdx { // overflow: a count no module can have
		return nil, res, &Error{0, "too many globals"}
	}
	blockTypes, addedTypes, nAdded, err := wrapperTypes(typeSec, funcSec)
	if err != nil {
		return nil, res, err
	}
	res.HasStart = hasStart

	// The new globals, $stop, $fuel and $depth: i32, mutable, initialised
	// by i32.const 0 (no fuel: the first check exits and fills it).
	newGlobals := bytes.Repeat([]byte{0x7f, 0x01, 0x41, 0x00, 0x0b}, 3)
	newExports := appendName(nil, StopGlobal)
	newExports = append(newExports, 0x03)
	newExports = appendU32(newExports, stopIdx)
	newExports = appendName(newExports, FuelGlobal)
	newExports = append(newExports, 0x03)
	newExports = appendU32(newExports, fuelIdx)
	newExports = appendName(newExports, DepthGlobal)
	newExports = append(newExports, 0x03)
	newExports = appendU32(newExports, depthIdx)
	nExports := uint32(3)
	if hasStart {
		newExports = appendName(newExports, StartExport)
		newExports = append(newExports, 0x00)
		newExports = appendU32(newExports, startFunc)
		nExports++
	}
	check := checkCode(stopIdx, fuelIdx)

	out := make([]byte, 0, len(bin)+len(bin)/16+64)
	out = append(out, header...)
	haveMemory := memories > 0
	var haveGlobal, haveExport, namesSegments bool
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	// addMissing writes the global and export sections, where absent,
	// before the first known section that must follow them.
	addMissing := func(beforeRank int) {
		if !haveMemory && beforeRank > secRank[secMemory] {
			emit(secMemory, []byte{1, 0x00, 0x00}) // one memory of 0 pages, no maximum
			haveMemory = true
		}
		if !haveGlobal && beforeRank > secRank[secGlobal] {
			emit(secGlobal, append([]byte{3}, newGlobals...))
			haveGlobal = true
		}
		if !haveExport && beforeRank > secRank[secExport] {
			emit(secExport, append(appendU32(nil, nExports), newExports...))
			haveExport = true
		}
	}
	for _, s := range secs {
		if s.id != secCustom {
			addMissing(secRank[s.id])
		}
		switch s.id {
		case secGlobal:
			body, err := extendVector(s, definedGlobals, 3, newGlobals)
			if err != nil {
				return nil, res, err
			}
			emit(secGlobal, body)
			haveGlobal = true
		case secExport:
			body, err := extendVector(s, uint32(len(exports)), nExports, newExports)
			if err != nil {
				return nil, res, err
			}
			emit(secExport, body)
			haveExport = true
		case secMemory:
			if !haveMemory { // a memory section of zero memories
				body, err := extendVector(s, 0, 1, []byte{0x00, 0x00})
				if err != nil {
					return nil, res, err
				}
				s.body = body
				haveMemory = true
			}
			emit(secMemory, s.body)
		case secTable:
			body, err := boundTables(s)
			if err != nil {
				return nil, res, err
			}
			emit(secTable, body)
		case 1:
			if nAdded > 0 {
				body, err := extendVector(s, types, nAdded, addedTypes)
				if err != nil {
					return nil, res, err
				}
				s.body = body
			}
			emit(1, s.body)
		case secStart:
			// dropped: exported as StartExport instead
		case secCode:
			body, n, segRefs, err := instrumentCode(s, check, depthPrologue(depthIdx), depthEpilogue(depthIdx), blockTypes)
			if err != nil {
				return nil, res, err
			}
			res.Checks = n
			namesSegments = segRefs
			emit(secCode, body)
		case secData:
			if !hasDataCount && !namesSegments {
				if body, n, ok := mergeData(s); ok {
					res.DataSegments[1] = n
					emit(secData, body)
					continue
				}
			}
			emit(secData, s.body)
		default:
			emit(s.id, s.body)
		}
	}
	addMissing(len(secRank) + 1)
	return out, res, nil
}

// extendVector returns a vector section with n more entries (bytes add)
// after the existing count ones.
func extendVector(s section, count, n uint32, add []byte) ([]byte, error) {
	sr := &reader{b: s.body, base: s.off}
	if got := sr.u32(); sr.err != nil || got != count {
		return nil, &Error{s.off, "vector count changed while reading"}
	}
	if count+n < count {
		return nil, &Error{s.off, "vector too long"}
	}
	body := appendU32(make([]byte, 0, len(s.body)+len(add)+5), count+n)
	body = append(body, s.body[sr.off:]...)
	return append(body, add...), nil
}

func customName(body []byte) (string, bool) {
	r := &reader{b: body}
	name := r.name()
	return name, r.err == nil
}

// checkCode is the check inserted at function entries and loop headers
// (see the package comment).
func checkCode(stop, fuel uint32) []byte {
	var c []byte
	c = append(c, globalOp(0x23, fuel)...)      // global.get $fuel
	c = append(c, 0x41, 0x01, 0x6b)             // i32.const 1; i32.sub
	c = append(c, globalOp(0x24, fuel)...)      // global.set $fuel
	c = append(c, globalOp(0x23, fuel)...)      // global.get $fuel
	c = append(c, 0x41, 0x00, 0x4c, 0x04, 0x40) // i32.const 0; i32.le_s; if
	c = append(c, 0x41, 0x00, 0x40, 0x00, 0x1a) //   i32.const 0; memory.grow 0; drop
	c = append(c, globalOp(0x23, stop)...)      //   global.get $stop
	c = append(c, 0x04, 0x40, 0x00, 0x0b)       //   if; unreachable; end
	c = append(c, 0x41)                         //   i32.const FuelPerExit
	c = appendS32(c, FuelPerExit)               //
	c = append(c, globalOp(0x24, fuel)...)      //   global.set $fuel
	return append(c, 0x0b)                      // end
}

// countImports walks the import section and counts the globals and the
// memories. An imported function's type index must be below types (see
// wrapperTypes for why).
func countImports(s section, types uint32) (globals, memories uint32, err error) {
	r := &reader{b: s.body, base: s.off}
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case 0x00: // function: type index
			if at, t := r.off, r.u32(); r.err == nil && t >= types {
				return 0, 0, &Error{s.off + at, fmt.Sprintf("imported function %d has type %d of %d", i, t, types)}
			}
		case 0x01: // table: reference type, limits
			r.refType()
			r.limits()
		case 0x02: // memory: limits
			r.limits()
			memories++
		case 0x03: // global: value type, mutability
			r.valType()
			r.byte()
			globals++
		default:
			r.fail(fmt.Sprintf("import kind 0x%02x is not supported", kind))
		}
	}
	if r.err == nil && r.off != len(r.b) {
		r.fail("import section has trailing bytes")
	}
	return globals, memories, r.err
}

func exportNames(s section) ([]string, error) {
	r := &reader{b: s.body, base: s.off}
	n := r.u32()
	var names []string
	for i := uint32(0); i < n && r.err == nil; i++ {
		names = append(names, r.name())
		r.byte()
		r.u32()
	}
	if r.err == nil && r.off != len(r.b) {
		r.fail("export section has trailing bytes")
	}
	return names, r.err
}

// instrumentCode copies the code section, inserting check at each function
// entry and after each loop's block type. It returns the number inserted,
// and whether any instruction names a data segment (memory.init,
// data.drop).
func instrumentCode(s section, check, prologue, epilogue []byte, blockTypes [][]byte) ([]byte, int, bool, error) {
	r := &reader{b: s.body, base: s.off}
	n := r.u32()
	if r.err != nil {
		return nil, 0, false, r.err
	}
	segRefs := false
	out := appendU32(make([]byte, 0, len(s.body)+len(s.body)/8), n)
	var fn []byte
	checks := 0
	var allLocals uint64
	maxAll := uint64(MaxLocals) + uint64(len(s.body))/2
	if int64(n) != int64(len(blockTypes)) {
		return nil, 0, false, &Error{s.off, fmt.Sprintf("%d function bodies for %d functions", n, len(blockTypes))}
	}
	for i := uint32(0); i < n; i++ {
		size := r.u32()
		bodyOff := r.off
		body := r.bytes(int(size))
		if r.err != nil {
			return nil, 0, false, r.err
		}
		fr := &reader{b: body, base: s.off + bodyOff}
		// Locals: a vector of (count, value type). wazero allocates for
		// their sum before it reads the body: bound it (checkBounds).
		nl := fr.count()
		var locals uint64
		for j := uint32(0); j < nl && fr.err == nil; j++ {
			locals += uint64(fr.u32())
			fr.valType()
		}
		if fr.err == nil && locals > MaxLocals {
			fr.err = &Error{s.off + bodyOff, fmt.Sprintf("function %d declares %d locals (at most %d)", i, locals, MaxLocals)}
		}
		if allLocals += locals; fr.err == nil && allLocals > maxAll {
			fr.err = &Error{s.off + bodyOff, fmt.Sprintf("the functions up to %d declare %d locals, more than the %d a code section of %d bytes may", i, allLocals, maxAll, len(s.body))}
		}
		if fr.err != nil {
			return nil, 0, false, fr.err
		}
		fn = append(fn[:0], body[:fr.off]...)
		fn = append(fn, check...)
		checks++
		var loops int
		var refs bool
		var err error
		fn, loops, refs, err = wrapBody(fn, body, s.off+bodyOff, fr.off, blockTypes[i], prologue, epilogue, check)
		if err != nil {
			return nil, 0, false, err
		}
		checks += loops
		segRefs = segRefs || refs
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	if r.off != len(r.b) {
		return nil, 0, false, &Error{s.off + r.off, "code section has trailing bytes"}
	}
	return out, checks, segRefs, nil
}

// skipInstr reads one instruction and its immediates; loop reports a loop
// (after which the check goes).
func skipInstr(r *reader) (loop bool, err error) {
	at := r.off
	op := r.byte()
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
		r.blockType()
		loop = op == 0x03
	case op <= 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1:
		// unreachable, nop, else, end, return, drop, select, ref.is_null
	case op == 0x0c || op == 0x0d: // br, br_if
		r.u32()
	case op == 0x0e: // br_table
		n := r.u32()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			r.u32()
		}
	case op == 0x10: // call
		r.u32()
	case op == 0x11: // call_indirect: type, table
		r.u32()
		r.u32()
	case op == 0x1c: // select with types
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			r.valType()
		}
	case op >= 0x20 && op <= 0x26: // local.*, global.*, table.get/set
		r.u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x3f || op == 0x40: // memory.size, memory.grow
		r.zeroIndex()
	case op == 0x41:
		r.sleb(32)
	case op == 0x42:
		r.sleb(64)
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op >= 0x45 && op <= 0xc4: // numeric, sign extension
	case op == 0xd0: // ref.null
		r.refType()
	case op == 0xd2: // ref.func
		r.u32()
	case op == 0xfc:
		skipFC(r)
	case op == 0xfd:
		skipSIMD(r)
	default:
		if r.err == nil {
			return false, &Error{r.base + at, fmt.Sprintf("opcode 0x%02x is not supported", op)}
		}
	}
	return loop, r.err
}

func skipFC(r *reader) {
	at := r.off
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncation
	case sub == 8: // memory.init: data, memory
		r.u32()
		r.zeroIndex()
		r.segRefs = true
	case sub == 9: // data.drop
		r.u32()
		r.segRefs = true
	case sub == 13, sub >= 15 && sub <= 17: // elem.drop, table.grow/size/fill
		r.u32()
	case sub == 10: // memory.copy
		r.zeroIndex()
		r.zeroIndex()
	case sub == 11: // memory.fill
		r.zeroIndex()
	case sub == 12, sub == 14: // table.init, table.copy
		r.u32()
		r.u32()
	default:
		if r.err == nil {
			r.err = &Error{r.base + at, fmt.Sprintf("opcode 0xfc %d is not supported", sub)}
		}
	}
}

func skipSIMD(r *reader) {
	at := r.off
	switch sub := r.u32(); {
	case sub <= 11, sub == 92, sub == 93: // loads, store, load zero
		r.memarg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract/replace lane
		r.byte()
	case sub >= 84 && sub <= 91: // load/store lane
		r.memarg()
		r.byte()
	case sub <= 255: // everything else has no immediate
	default:
		if r.err == nil {
			r.err = &Error{r.base + at, fmt.Sprintf("opcode 0xfd %d is not supported", sub)}
		}
	}
}

// reader decodes the binary format; the first failure sticks in err and
// every later read returns zero values.
type reader struct {
	b    []byte
	off  int
	base int // offset of b in the module, for errors
	err  error
	// segRefs: an instruction read names a data segment (memory.init,
	// data.drop).
	segRefs bool
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = &Error{r.base + r.off, msg}
	}
}

func (r *reader) byte() byte {
	if r.off < len(r.b) && r.err == nil {
		r.off++
		return r.b[r.off-1]
	}
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.fail(fmt.Sprintf("%d bytes declared, %d left", n, len(r.b)-r.off))
		return nil
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out
}

// u32 reads an unsigned LEB128 of at most 5 bytes that fits 32 bits.
func (r *reader) u32() uint32 {
	if r.off < len(r.b) && r.b[r.off] < 0x80 && r.err == nil { // one byte: most indices
		r.off++
		return uint32(r.b[r.off-1])
	}
	var v uint32
	for i := 0; i < 5; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if i == 4 && c > 0x0f {
			r.fail("u32 out of range")
			return 0
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail("u32 longer than 5 bytes")
	return 0
}

// sleb skips a signed LEB128 of at most bits bits.
func (r *reader) sleb(bits int) {
	max := (bits + 6) / 7
	for i := 0; i < max; i++ {
		c := r.byte()
		if r.err != nil || c&0x80 == 0 {
			return
		}
	}
	r.fail(fmt.Sprintf("s%d longer than %d bytes", bits, max))
}

func (r *reader) name() string {
	n := r.u32()
	return string(r.bytes(int(n)))
}

func (r *reader) limits() {
	switch flag := r.byte(); flag {
	case 0x00:
		r.u32()
	case 0x01:
		r.u32()
		r.u32()
	default:
		r.fail(fmt.Sprintf("limits flag 0x%02x is not supported", flag))
	}
}

// blockType reads the empty type, a value type, or a type index (s33).
func (r *reader) blockType() {
	if r.err != nil || r.off >= len(r.b) {
		r.byte()
		return
	}
	switch c := r.b[r.off]; c {
	case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		r.off++
	default:
		if c&0x40 != 0 && c&0x80 == 0 {
			r.fail(fmt.Sprintf("block type 0x%02x is not supported", c))
			return
		}
		r.sleb(33)
	}
}

// memarg reads alignment and offset; multiple memories are not supported.
func (r *reader) memarg() {
	if align := r.u32(); align >= 0x40 && r.err == nil {
		r.fail("a memory index in memarg (multiple memories) is not supported")
	}
	r.u32()
}

// zeroIndex reads a memory index, which must be 0.
func (r *reader) zeroIndex() {
	if idx := r.u32(); idx != 0 && r.err == nil {
		r.fail("memory index other than 0")
	}
}

// globalOp is global.get (0x23) or global.set (0x24) of global idx.
func globalOp(op byte, idx uint32) []byte { return appendU32([]byte{op}, idx) }

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// appendS32 appends v as a signed LEB128.
func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}
