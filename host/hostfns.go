package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/imchost/imchost/abi"
)

// dataFns are the host functions with the uniform signature
// fn(in_ptr, in_len, out_ptr, out_cap u32) -> i32.
var dataFns = []string{
	abi.FnSend, abi.FnSubscribe, abi.FnConfigGet, abi.FnOSRelease, abi.FnSystemFacts,
	abi.FnPackages, abi.FnReport, abi.FnTPMVersionInfo, abi.FnTPMBanks, abi.FnTPMAIK,
	abi.FnTPMQuote, abi.FnEventLog, abi.FnSymlinks, abi.FnDHCreate, abi.FnDHFinish,
	abi.FnHash, abi.FnRandom, abi.FnIMAEvents,
	abi.FnFileMeasure, abi.FnFileMetadata,
}

var (
	i32x1 = []api.ValueType{api.ValueTypeI32}
	i32x2 = []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}
	i32x3 = []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}
	i32x4 = []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}
)

// instantiateHostModule registers module "imchost" in rt. The functions
// find their instance (and Session) in the call's context, which every
// call into a module carries.
func instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.ImportModule)
	for _, fn := range dataFns {
		b.NewFunctionBuilder().
			WithGoModuleFunction(dataFunc(fn), i32x4, i32x1).
			WithParameterNames("in_ptr", "in_len", "out_ptr", "out_cap").
			WithResultNames("status").
			Export(fn)
	}
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(resultTake), i32x2, i32x1).
		WithParameterNames("out_ptr", "out_cap").WithResultNames("status").
		Export(abi.FnResultTake)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(logFn), i32x3, i32x1).
		WithParameterNames("level", "ptr", "len").WithResultNames("status").
		Export(abi.FnLog)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(logLevelFn), nil, i32x1).
		WithResultNames("level").
		Export(abi.FnLogLevel)
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("host: instantiating %s: %w", abi.ImportModule, err)
	}
	return nil
}

func negStatus(st abi.Status) uint64 { return api.EncodeI32(-int32(st)) }

func instanceOf(ctx context.Context) *instance {
	in, _ := ctx.Value(instKey{}).(*instance)
	return in
}

// dataFunc adapts Session.CallContext to guest memory: it reads the input
// (bounded), runs the function once, and writes the result if it fits,
// else stashes it for result_take and returns its length.
func dataFunc(fn string) api.GoModuleFunc {
	limit := uint32(abi.MaxInputLen)
	if fn == abi.FnSend {
		limit = abi.MessageHeaderLen + abi.MaxMessageLen
	}
	return func(ctx context.Context, m api.Module, stack []uint64) {
		in := instanceOf(ctx)
		if in == nil {
			stack[0] = negStatus(abi.StatusState)
			return
		}
		inPtr, inLen := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
		outPtr, outCap := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
		if inLen > limit {
			stack[0] = negStatus(abi.StatusTooLarge)
			return
		}
		input, ok := m.Memory().Read(inPtr, inLen) // a view: Session copies what it keeps
		if !ok {
			stack[0] = negStatus(abi.StatusFault)
			return
		}
		if in.callCtx != nil {
			ctx = in.callCtx // the caller's deadline and values, not wazero's
		}
		var (
			out []byte
			st  abi.Status
		)
		if touchesMachine(fn) {
			out, st = in.callBounded(ctx, fn, input)
		} else {
			out, st = in.sess.CallContext(ctx, fn, input)
		}
		switch {
		case st != abi.StatusOK:
			stack[0] = negStatus(st)
		case uint64(len(out)) > 1<<31-1:
			stack[0] = negStatus(abi.StatusTooLarge)
		case uint32(len(out)) > outCap:
			in.sess.setStash(out)
			stack[0] = api.EncodeI32(int32(len(out)))
		case len(out) > 0 && !m.Memory().Write(outPtr, out):
			stack[0] = negStatus(abi.StatusFault)
		default:
			stack[0] = api.EncodeI32(int32(len(out)))
		}
	}
}

// touchesMachine tells the host functions that wait on something outside
// the process — the TPM, a file, /proc — from those that only compute.
// ima_events is not among them: it keeps its pass over the IMA list open
// between calls, which an abandoned call would leave in use; it reads only
// a regular file, opened without waiting, a bounded page per call.
func touchesMachine(fn string) bool {
	switch fn {
	case abi.FnOSRelease, abi.FnSystemFacts, abi.FnPackages, abi.FnSymlinks,
		abi.FnTPMVersionInfo, abi.FnTPMBanks, abi.FnTPMAIK, abi.FnTPMQuote, abi.FnEventLog,
		abi.FnFileMeasure, abi.FnFileMetadata:
		return true
	}
	return false
}

// abandonGrace is how long callBounded waits past a host function's
// deadline for the function's own error (a TPM command ends at the same
// deadline and says why) before it gives up on it.
const abandonGrace = 100 * time.Millisecond

// callBounded runs a host function that touches the machine under a
// deadline of its own: the IMC's call_timeout of wall-clock time from now,
// ended early when the module call is interrupted or the caller's context
// ends. The TPM functions end their commands by it (tpmhost.TPM.WithContext);
// files are opened without waiting (tpmhost.OpenRegularFile). In case something
// still blocks — a read nothing interrupts, such as one from a hung network
// file system — the function runs on a goroutine of its own, abandoned at
// the deadline: the module gets StatusFailed and goes on, and the goroutine
// ends whenever the read does (it holds only a copy of the input).
func (in *instance) callBounded(ctx context.Context, fn string, input []byte) ([]byte, abi.Status) {
	ctx, cancel := context.WithTimeout(ctx, in.v.timeout)
	defer cancel()
	in.hmu.Lock()
	in.hostCancel = cancel
	in.hmu.Unlock()
	defer func() {
		in.hmu.Lock()
		in.hostCancel = nil
		in.hmu.Unlock()
	}()
	input = bytes.Clone(input)
	type result struct {
		out []byte
		st  abi.Status
	}
	done := make(chan result, 1)
	go func() {
		out, st := in.sess.CallContext(ctx, fn, input)
		done <- result{out, st}
	}()
	select {
	case r := <-done:
		return r.out, r.st
	case <-ctx.Done():
	}
	grace := time.NewTimer(abandonGrace)
	defer grace.Stop()
	select {
	case r := <-done:
		return r.out, r.st
	case <-grace.C:
	}
	why := fmt.Sprintf("gave no result within %s", in.v.timeout)
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		why = "was interrupted"
	}
	in.log.Warn(fmt.Sprintf("host function %s %s; abandoned", fn, why))
	return nil, abi.StatusFailed
}

// resultTake implements result_take(out_ptr, out_cap) -> i32.
func resultTake(ctx context.Context, m api.Module, stack []uint64) {
	in := instanceOf(ctx)
	if in == nil {
		stack[0] = negStatus(abi.StatusState)
		return
	}
	outPtr, outCap := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	out, n, st := in.sess.takeStash(outCap)
	switch {
	case st != abi.StatusOK:
		stack[0] = negStatus(st)
	case out != nil && !m.Memory().Write(outPtr, out):
		in.sess.setStash(out) // keep it: the guest may retry with a good pointer
		stack[0] = negStatus(abi.StatusFault)
	default:
		stack[0] = api.EncodeI32(int32(n))
	}
}

// logFn implements log(level, ptr, len) -> status.
func logFn(ctx context.Context, m api.Module, stack []uint64) {
	in := instanceOf(ctx)
	if in == nil {
		stack[0] = api.EncodeI32(int32(abi.StatusState))
		return
	}
	level, ptr, n := abi.LogLevel(api.DecodeI32(stack[0])), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	if n > maxLogLine {
		n = maxLogLine
	}
	msg, ok := m.Memory().Read(ptr, n)
	if !ok {
		stack[0] = api.EncodeI32(int32(abi.StatusFault))
		return
	}
	stack[0] = api.EncodeI32(int32(in.sess.Log(level, msg)))
}

// logLevelFn implements log_level() -> level.
func logLevelFn(ctx context.Context, _ api.Module, stack []uint64) {
	in := instanceOf(ctx)
	if in == nil {
		stack[0] = api.EncodeI32(int32(abi.LogError))
		return
	}
	stack[0] = api.EncodeI32(int32(in.sess.LogLevel()))
}
