// Package capability is what an IMC may ask of the machine: the host
// functions of the ABI (abi/README.md, section 3) on plain Go values, with
// no WebAssembly in it. A Session holds one IMC instance's state (its
// subscriptions, send budget, open IMA pass, DH keys, stashed result); the
// Platform behind it reads the machine (os-release, /proc, the package
// database, the TPM through tpmhost).
//
// The wasm runtime (package host) reads a call's input out of guest memory,
// runs the Func and writes the result back; sdk/imctest calls the same
// Funcs natively, so a vendor's IMC meets the same code in its tests as in
// production without pulling in the wasm runtime.
//
// Funcs is the one list of host function names: the grant check, the wasm
// glue, the native harness and abi/README.md (checked by a test) all follow
// it. Each family of functions lives in a file of its own: send.go (send,
// subscribe, report), log.go (log, log_level, config_get), system.go
// (os_release, system_facts, packages, symlinks), tpm.go (tpm_*),
// eventlog.go, ima.go, files.go and crypto.go (dh_*, hash, random).
package capability

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/imchost/imchost/abi"
)

// Kind is the shape of a host function's wasm signature (all i32).
type Kind uint8

const (
	// Data: fn(in_ptr, in_len, out_ptr, out_cap) -> i32, an encoded input
	// and an encoded result (its length, or a negated status).
	Data Kind = iota
	// Log: log(level, ptr, len) -> status.
	Log
	// LogLevel: log_level() -> level.
	LogLevel
	// ResultTake: result_take(out_ptr, out_cap) -> i32.
	ResultTake
)

// Signature returns the number of i32 parameters and results of the kind.
func (k Kind) Signature() (params, results int) {
	switch k {
	case Log:
		return 3, 1
	case LogLevel:
		return 0, 1
	case ResultTake:
		return 2, 1
	}
	return 4, 1
}

// Func is one host function.
type Func struct {
	// Name is the import name in module abi.ImportModule.
	Name string
	// Kind is its signature.
	Kind Kind
	// MaxInput bounds the input the wasm glue reads: a longer data input is
	// refused with StatusTooLarge, a longer log line is cut.
	MaxInput uint32
	// Machine marks a function that waits on something outside the process
	// (the TPM, a file, /proc): the runtime runs it under a deadline of its
	// own and abandons it if it blocks past that. ima_events is not one: it
	// keeps its pass over the IMA list open between calls, which an
	// abandoned call would leave in use; it reads only a regular file,
	// opened without waiting, a bounded page per call.
	Machine bool
	// Ungranted is set for result_take alone: every module may import it,
	// and no grant names it.
	Ungranted bool

	run func(s *Session, ctx context.Context, in []byte) ([]byte, error)
}

// funcs is the table, in the order of abi/README.md.
var funcs = []*Func{
	data(abi.FnSend, (*Session).send, abi.MessageHeaderLen+abi.MaxMessageLen, false),
	data(abi.FnSubscribe, (*Session).subscribe, abi.MaxInputLen, false),
	data(abi.FnConfigGet, (*Session).configGet, abi.MaxInputLen, false),
	data(abi.FnOSRelease, (*Session).osRelease, abi.MaxInputLen, true),
	data(abi.FnSystemFacts, (*Session).systemFacts, abi.MaxInputLen, true),
	data(abi.FnPackages, (*Session).packages, abi.MaxInputLen, true),
	data(abi.FnSWInventory, (*Session).swInventory, abi.MaxInputLen, false),
	data(abi.FnSWEvents, (*Session).swEvents, abi.MaxInputLen, false),
	data(abi.FnReport, (*Session).report, abi.MaxInputLen, false),
	data(abi.FnTPMVersionInfo, (*Session).tpmVersionInfo, abi.MaxInputLen, true),
	data(abi.FnTPMBanks, (*Session).tpmBanks, abi.MaxInputLen, true),
	data(abi.FnTPMAIK, (*Session).tpmAIK, abi.MaxInputLen, true),
	data(abi.FnTPMQuote, (*Session).tpmQuote, abi.MaxInputLen, true),
	data(abi.FnEventLog, (*Session).eventLogEvents, abi.MaxInputLen, true),
	data(abi.FnIMAEvents, (*Session).imaEvents, abi.MaxInputLen, false),
	data(abi.FnFileMeasure, (*Session).fileMeasure, abi.MaxInputLen, true),
	data(abi.FnFileMetadata, (*Session).fileMetadata, abi.MaxInputLen, true),
	data(abi.FnSymlinks, (*Session).symlinks, abi.MaxInputLen, true),
	data(abi.FnDHCreate, (*Session).dhCreate, abi.MaxInputLen, false),
	data(abi.FnDHFinish, (*Session).dhFinish, abi.MaxInputLen, false),
	data(abi.FnHash, (*Session).hash, abi.MaxInputLen, false),
	data(abi.FnRandom, (*Session).random, abi.MaxInputLen, false),
	{Name: abi.FnResultTake, Kind: ResultTake, Ungranted: true},
	{Name: abi.FnLog, Kind: Log, MaxInput: maxLogLine},
	{Name: abi.FnLogLevel, Kind: LogLevel},
}

func data(name string, run func(*Session, context.Context, []byte) ([]byte, error), maxInput uint32, machine bool) *Func {
	return &Func{Name: name, Kind: Data, MaxInput: maxInput, Machine: machine, run: run}
}

// names resolves a host function's name to its entry: a perfect hash of
// the table's names, found when the package is initialized, then one
// string comparison. It replaces a map, whose hashing of the name was most
// of what a native call (Session.Call) added to a small function's own
// work (issue 21).
var names = newNameIndex(funcs)

// nameSlots is the size of the perfect hash table (a power of two: about
// five slots a name, so that a multiplier without collisions comes within
// a few dozen tries).
const nameSlots = 128

// nameIndex is a perfect hash of the names of a table of functions: slot
// maps a name to its only possible slot.
type nameIndex struct {
	mul   uint32 // 0: no perfect hash found; lookups scan the table
	slots [nameSlots]*Func
	all   []*Func
}

// nameKey packs the length of a name and its first and last bytes; the
// table's names differ in it.
func nameKey(name string) uint32 {
	n := len(name)
	if n == 0 {
		return 0
	}
	return uint32(n&0xff) | uint32(name[0])<<8 | uint32(name[n-1])<<16
}

func (x *nameIndex) slot(name string) uint32 {
	return (nameKey(name) * x.mul) >> (32 - 7) // 7 = log2(nameSlots)
}

// newNameIndex searches odd multipliers for one that puts every name of fs
// in a slot of its own.
func newNameIndex(fs []*Func) nameIndex {
	x := nameIndex{all: fs}
	for mul := uint32(0x9E3779B1); mul != 0x9E3779B1+2<<16; mul += 2 {
		x.mul = mul
		clear(x.slots[:])
		ok := true
		for _, f := range fs {
			i := x.slot(f.Name)
			if x.slots[i] != nil {
				ok = false
				break
			}
			x.slots[i] = f
		}
		if ok {
			return x
		}
	}
	x.mul = 0
	clear(x.slots[:])
	return x
}

// lookup returns the function called name, or nil.
func (x *nameIndex) lookup(name string) *Func {
	if x.mul != 0 {
		if f := x.slots[x.slot(name)]; f != nil && f.Name == name {
			return f
		}
		return nil
	}
	for _, f := range x.all {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Funcs returns every host function, in the order of abi/README.md.
func Funcs() []*Func { return slices.Clone(funcs) }

// Lookup returns the host function called name, or nil. A caller that
// calls a function often resolves its name once and keeps the *Func.
func Lookup(name string) *Func { return names.lookup(name) }

// Grantable reports whether a grant may name the function: every host
// function but result_take.
func Grantable(name string) bool {
	f := names.lookup(name)
	return f != nil && !f.Ungranted
}

// GrantNames returns, sorted, every name a grant may list.
func GrantNames() []string {
	var out []string
	for _, f := range funcs {
		if !f.Ungranted {
			out = append(out, f.Name)
		}
	}
	slices.Sort(out)
	return out
}

// errUnknown answers a call of a name that is not a data function.
var errUnknown = errors.New("unknown host function")

// Call runs the data function f for s on an encoded input under ctx (the
// deadline of the module call) and returns the encoded result or the
// status the module sees; a failure is logged at the level its status
// deserves.
func (f *Func) Call(ctx context.Context, s *Session, in []byte) ([]byte, abi.Status) {
	if f.run == nil {
		return nil, s.failed(f.Name, fail(f.Name, abi.StatusInvalid, errUnknown))
	}
	out, err := f.run(s, ctx, in)
	if err != nil {
		return nil, s.failed(f.Name, err)
	}
	return out, abi.StatusOK
}

// Call runs the data host function fn on an encoded input and returns the
// encoded result (natively, without a stash).
func (s *Session) Call(fn string, in []byte) ([]byte, abi.Status) {
	return s.CallContext(context.Background(), fn, in)
}

// CallContext is Call under ctx (the deadline of the module call).
func (s *Session) CallContext(ctx context.Context, fn string, in []byte) ([]byte, abi.Status) {
	if f := names.lookup(fn); f != nil {
		return f.Call(ctx, s, in)
	}
	return nil, s.failed(fn, fail(fn, abi.StatusInvalid, errUnknown))
}

// failed logs a host function's failure and returns the status the module
// sees.
func (s *Session) failed(fn string, err error) abi.Status {
	st := statusOf(err)
	var ce *CallError
	if errors.As(err, &ce) {
		st = ce.Status
	}
	switch st {
	case abi.StatusFailed:
		s.log.Warn(fmt.Sprintf("host function %s failed", fn), "error", err)
	case abi.StatusUnsupported:
		// An answer, not a failure: a bank the boot log does not have.
		s.log.Trace(fmt.Sprintf("host function %s: %v", fn, err))
	case abi.StatusNotFound:
		if fn == abi.FnConfigGet {
			// An optional setting left out: no line an operator acts on.
			s.log.Trace(fmt.Sprintf("host function %s: %v", fn, err))
			break
		}
		// A file, key or handle the configuration names is missing
		// (the event log, the AK): the operator has to hear of it.
		s.log.Warn(fmt.Sprintf("host function %s failed", fn), "error", err)
	default:
		s.log.Debug(fmt.Sprintf("host function %s", fn), "status", st, "error", err)
	}
	return st
}
