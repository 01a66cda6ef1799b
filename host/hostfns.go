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
	"github.com/imchost/imchost/capability"
)

var (
	i32x1 = []api.ValueType{api.ValueTypeI32}
	i32x2 = []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}
	i32x3 = []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}
	i32x4 = []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}
)

// instantiateHostModule registers module "imchost" in rt: every function
// of capability.Funcs, by its kind. The functions find their instance (and
// Session) in the call's context, which every call into a module carries.
func instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.ImportModule)
	for _, f := range capability.Funcs() {
		fb := b.NewFunctionBuilder()
		switch f.Kind {
		case capability.Data:
			fb = fb.WithGoModuleFunction(dataFunc(f), i32x4, i32x1).
				WithParameterNames("in_ptr", "in_len", "out_ptr", "out_cap").
				WithResultNames("status")
		case capability.ResultTake:
			fb = fb.WithGoModuleFunction(api.GoModuleFunc(resultTake), i32x2, i32x1).
				WithParameterNames("out_ptr", "out_cap").WithResultNames("status")
		case capability.Log:
			fb = fb.WithGoModuleFunction(logFunc(f.MaxInput), i32x3, i32x1).
				WithParameterNames("level", "ptr", "len").WithResultNames("status")
		case capability.LogLevel:
			fb = fb.WithGoModuleFunction(api.GoModuleFunc(logLevelFn), nil, i32x1).
				WithResultNames("level")
		default:
			return fmt.Errorf("host: host function %s of unknown kind %d", f.Name, f.Kind)
		}
		fb.Export(f.Name)
	}
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

// dataFunc adapts a data function to guest memory: it reads the input
// (bounded by f.MaxInput), runs the function once, and writes the result if
// it fits, else stashes it for result_take and returns its length.
func dataFunc(f *capability.Func) api.GoModuleFunc {
	limit := f.MaxInput
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
		if f.Machine {
			out, st = in.callBounded(ctx, f, input)
		} else {
			out, st = f.Call(ctx, in.sess, input)
		}
		switch {
		case st != abi.StatusOK:
			stack[0] = negStatus(st)
		case uint64(len(out)) > 1<<31-1:
			stack[0] = negStatus(abi.StatusTooLarge)
		case uint32(len(out)) > outCap:
			in.sess.SetStash(out)
			stack[0] = api.EncodeI32(int32(len(out)))
		case len(out) > 0 && !m.Memory().Write(outPtr, out):
			stack[0] = negStatus(abi.StatusFault)
		default:
			stack[0] = api.EncodeI32(int32(len(out)))
		}
	}
}

// abandonGrace is how long callBounded waits past a host function's
// deadline for the function's own error (a TPM command ends at the same
// deadline and says why) before it gives up on it.
const abandonGrace = 100 * time.Millisecond

// callBounded runs a host function that touches the machine (Func.Machine) under a
// deadline of its own: the IMC's call_timeout of wall-clock time from now,
// ended early when the module call is interrupted or the caller's context
// ends. The TPM functions end their commands by it (tpmhost.TPM.WithContext);
// files are opened without waiting (tpmhost.OpenRegularFile). In case something
// still blocks — a read nothing interrupts, such as one from a hung network
// file system — the function runs on a goroutine of its own, abandoned at
// the deadline: the module gets StatusFailed and goes on, and the goroutine
// ends whenever the read does (it holds only a copy of the input).
func (in *instance) callBounded(ctx context.Context, f *capability.Func, input []byte) ([]byte, abi.Status) {
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
		out, st := f.Call(ctx, in.sess, input)
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
	in.log.Warn(fmt.Sprintf("host function %s %s; abandoned", f.Name, why))
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
	out, n, st := in.sess.TakeStash(outCap)
	switch {
	case st != abi.StatusOK:
		stack[0] = negStatus(st)
	case out != nil && !m.Memory().Write(outPtr, out):
		in.sess.SetStash(out) // keep it: the guest may retry with a good pointer
		stack[0] = negStatus(abi.StatusFault)
	default:
		stack[0] = api.EncodeI32(int32(n))
	}
}

// logFunc implements log(level, ptr, len) -> status; a line longer than
// maxLine is cut.
func logFunc(maxLine uint32) api.GoModuleFunc {
	return func(ctx context.Context, m api.Module, stack []uint64) { logFn(ctx, m, stack, maxLine) }
}

func logFn(ctx context.Context, m api.Module, stack []uint64, maxLine uint32) {
	in := instanceOf(ctx)
	if in == nil {
		stack[0] = api.EncodeI32(int32(abi.StatusState))
		return
	}
	level, ptr, n := abi.LogLevel(api.DecodeI32(stack[0])), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	if n > maxLine {
		n = maxLine
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
