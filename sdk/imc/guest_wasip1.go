//go:build wasip1

package imc

import (
	"runtime"
	"unsafe"

	"github.com/imchost/imchost/abi"
)

// Imports: one stub per host function of module "imchost". A stub that no
// code path reaches is dropped by the linker, so a module imports (and needs
// a grant for) only what its IMC calls.

//go:wasmimport imchost send
func hostSend(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost subscribe
func hostSubscribe(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost log
func hostLog(level int32, ptr, n uint32) int32

//go:wasmimport imchost log_level
func hostLogLevel() int32

//go:wasmimport imchost result_take
func hostResultTake(outPtr, outCap uint32) int32

//go:wasmimport imchost config_get
func hostConfigGet(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost os_release
func hostOSRelease(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost system_facts
func hostSystemFacts(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost packages
func hostPackages(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost report
func hostReport(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost tpm_version_info
func hostTPMVersionInfo(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost tpm_banks
func hostTPMBanks(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost tpm_aik
func hostTPMAIK(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost tpm_quote
func hostTPMQuote(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost eventlog_events
func hostEventLog(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost ima_events
func hostIMAEvents(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost sw_inventory
func hostSWInventory(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost sw_events
func hostSWEvents(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost file_measure
func hostFileMeasure(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost file_metadata
func hostFileMetadata(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost symlinks
func hostSymlinks(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost dh_create
func hostDHCreate(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost dh_finish
func hostDHFinish(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost hash
func hostHash(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport imchost random
func hostRandom(inPtr, inLen, outPtr, outCap uint32) int32

//go:wasmimport wasi_snapshot_preview1 fd_write
func fdWrite(fd int32, iovs, iovsLen, nwritten uint32) int32

// writeStderr writes to the module's stderr (which the host logs) straight
// through WASI, so the SDK does not link package os.
func writeStderr(s string) {
	b := []byte(s)
	iov := [2]uint32{ptrOf(b), uint32(len(b))}
	var n uint32
	fdWrite(2, uint32(uintptr(unsafe.Pointer(&iov))), 1, uint32(uintptr(unsafe.Pointer(&n))))
	runtime.KeepAlive(b)
	runtime.KeepAlive(&iov)
	runtime.KeepAlive(&n)
}

// outBuf receives host results; it grows to the largest result seen.
var outBuf = make([]byte, 4096)

func ptrOf(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// wasmImport is one data import: call copies the result out of outBuf;
// when it does not fit, outBuf grows and result_take fetches the stashed
// result, so the host function itself runs once. Each Host method passes
// the method value wasmImport{...}.call to the shared encoder, which only
// calls it: the value stays on the stack, a host call allocates nothing
// for it (a function returning a closure would allocate one per call).
type wasmImport struct {
	fn   string
	stub func(inPtr, inLen, outPtr, outCap uint32) int32
}

func (w wasmImport) call(in []byte) ([]byte, error) {
	n := w.stub(ptrOf(in), uint32(len(in)), ptrOf(outBuf), uint32(len(outBuf)))
	runtime.KeepAlive(in)
	if n < 0 {
		return nil, &StatusError{Fn: w.fn, Status: abi.Status(-n)}
	}
	if int(n) > len(outBuf) {
		outBuf = make([]byte, n)
		m := hostResultTake(ptrOf(outBuf), uint32(len(outBuf)))
		if m < 0 {
			return nil, &StatusError{Fn: abi.FnResultTake, Status: abi.Status(-m)}
		}
		if int(m) > len(outBuf) { // the host broke the contract
			return nil, &StatusError{Fn: abi.FnResultTake, Status: abi.StatusInvalid}
		}
		n = m
	}
	if n == 0 {
		return nil, nil
	}
	return append([]byte(nil), outBuf[:n]...), nil
}

// sendBuf holds the input of send (header and body) during the call: the
// host reads it there and copies what it keeps, so one buffer serves every
// message (a module runs on one thread, and nothing else runs while it is
// in a host function). It is dropped after a message larger than
// maxSendBuf, so that one big message does not stay resident.
var sendBuf []byte

const maxSendBuf = 64 << 10

// wasmHost is the Host of a module: each method calls its own import.
type wasmHost struct{}

func (wasmHost) Send(conn ConnID, msg Message) error {
	_ = conn // one instance serves one connection; the host knows which
	sendBuf = appendSendInput(sendBuf[:0], msg)
	_, err := wasmImport{abi.FnSend, hostSend}.call(sendBuf)
	if cap(sendBuf) > maxSendBuf {
		sendBuf = nil
	}
	return err
}
func (wasmHost) Subscribe(types ...abi.MsgType) error {
	return subscribe(wasmImport{abi.FnSubscribe, hostSubscribe}.call, types)
}
func (wasmHost) Log(level abi.LogLevel, msg string) {
	b := []byte(msg)
	hostLog(int32(level), ptrOf(b), uint32(len(b)))
	runtime.KeepAlive(b)
}
func (wasmHost) LogLevel() abi.LogLevel { return abi.LogLevel(hostLogLevel()) }
func (wasmHost) Config(key string) (string, bool) {
	return configGet(wasmImport{abi.FnConfigGet, hostConfigGet}.call, key)
}
func (wasmHost) OSRelease() ([]byte, error) {
	return wasmImport{abi.FnOSRelease, hostOSRelease}.call(nil)
}
func (wasmHost) SystemFacts() (abi.SystemFacts, error) {
	return systemFacts(wasmImport{abi.FnSystemFacts, hostSystemFacts}.call)
}
func (wasmHost) Packages() ([]abi.Package, error) {
	return packages(wasmImport{abi.FnPackages, hostPackages}.call)
}
func (wasmHost) Report(r abi.Report) error {
	return report(wasmImport{abi.FnReport, hostReport}.call, r)
}
func (wasmHost) TPMVersionInfo() (abi.TPMVersionInfo, error) {
	return tpmVersionInfo(wasmImport{abi.FnTPMVersionInfo, hostTPMVersionInfo}.call)
}
func (wasmHost) TPMBanks() ([]uint16, error) {
	return tpmBanks(wasmImport{abi.FnTPMBanks, hostTPMBanks}.call)
}
func (wasmHost) TPMAIK(handle uint32) (abi.AIK, error) {
	return tpmAIK(wasmImport{abi.FnTPMAIK, hostTPMAIK}.call, handle)
}
func (wasmHost) TPMQuote(req abi.QuoteRequest) (abi.Quote, error) {
	return tpmQuote(wasmImport{abi.FnTPMQuote, hostTPMQuote}.call, req)
}
func (wasmHost) EventLog(bank uint16) (abi.EventLog, error) {
	return eventLog(wasmImport{abi.FnEventLog, hostEventLog}.call, bank)
}
func (wasmHost) IMAEvents(req abi.IMARequest) (abi.IMAEvents, error) {
	return imaEvents(wasmImport{abi.FnIMAEvents, hostIMAEvents}.call, req)
}
func (wasmHost) SWInventory(req abi.SWRequest) (abi.SWInventory, error) {
	return swInventory(wasmImport{abi.FnSWInventory, hostSWInventory}.call, req)
}
func (wasmHost) SWEvents(req abi.SWRequest) (abi.SWEvents, error) {
	return swEvents(wasmImport{abi.FnSWEvents, hostSWEvents}.call, req)
}
func (wasmHost) FileMeasure(req abi.FileRequest) ([]abi.FileDigest, error) {
	return fileMeasure(wasmImport{abi.FnFileMeasure, hostFileMeasure}.call, req)
}
func (wasmHost) FileMetadata(req abi.FileRequest) ([]abi.FileMeta, error) {
	return fileMetadata(wasmImport{abi.FnFileMetadata, hostFileMetadata}.call, req)
}
func (wasmHost) Symlinks(dir string) ([]abi.Symlink, error) {
	return symlinks(wasmImport{abi.FnSymlinks, hostSymlinks}.call, dir)
}
func (wasmHost) DHCreate(group uint16) (abi.DHCreateResult, error) {
	return dhCreate(wasmImport{abi.FnDHCreate, hostDHCreate}.call, group)
}
func (wasmHost) DHFinish(req abi.DHFinishRequest) ([]byte, error) {
	return wasmImport{abi.FnDHFinish, hostDHFinish}.call(abi.AppendDHFinishRequest(nil, req))
}
func (wasmHost) Hash(alg uint16, data []byte) ([]byte, error) {
	return hash(wasmImport{abi.FnHash, hostHash}.call, alg, data)
}
func (wasmHost) Random(n int) ([]byte, error) {
	return random(wasmImport{abi.FnRandom, hostRandom}.call, n)
}

// Exports.

// inbox is the buffer imc_alloc hands out; it stays valid until the next
// imc_alloc (the host writes into it, then makes one lifecycle call).
var inbox []byte

//go:wasmexport imc_abi_v1
func exportMarker() {}

//go:wasmexport imc_alloc
func exportAlloc(size uint32) uint32 {
	if size > abi.MessageHeaderLen+abi.MaxMessageLen {
		return 0
	}
	if uint32(cap(inbox)) < size || size == 0 {
		inbox = make([]byte, size, max(size, 64))
	}
	inbox = inbox[:size]
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(inbox[:cap(inbox)]))))
}

//go:wasmexport imc_initialize
func exportInitialize(id uint32) int32 {
	return lifecycle("Initialize", func(m IMC) error { return m.Initialize(wasmHost{}, id) })
}

//go:wasmexport imc_connection_change
func exportConnectionChange(conn, state uint32) int32 {
	return lifecycle("ConnectionChange", func(m IMC) error {
		return m.ConnectionChange(ConnID(conn), abi.ConnState(state))
	})
}

//go:wasmexport imc_begin_handshake
func exportBeginHandshake(conn uint32) int32 {
	return lifecycle("BeginHandshake", func(m IMC) error { return m.BeginHandshake(ConnID(conn)) })
}

//go:wasmexport imc_receive
func exportReceive(conn, ptr, n uint32) int32 {
	if ptr == 0 || uint32(cap(inbox)) < n ||
		ptr != uint32(uintptr(unsafe.Pointer(unsafe.SliceData(inbox[:cap(inbox)])))) {
		return int32(abi.StatusFault)
	}
	msg, st := decodeReceive(inbox[:n])
	if st != abi.StatusOK {
		return int32(st)
	}
	return lifecycle("Receive", func(m IMC) error { return m.Receive(ConnID(conn), msg) })
}

//go:wasmexport imc_batch_ending
func exportBatchEnding(conn uint32) int32 {
	return lifecycle("BatchEnding", func(m IMC) error { return m.BatchEnding(ConnID(conn)) })
}

//go:wasmexport imc_terminate
func exportTerminate() int32 {
	return lifecycle("Terminate", func(m IMC) error { return m.Terminate() })
}

//go:wasmimport wasi_snapshot_preview1 clock_time_get
func clockTimeGet(id uint32, precision uint64, out uint32) int32

// UnixNow returns the wall clock in Unix seconds: WASI's realtime clock,
// the one time.Now reads, without linking package time (about 270 KB of a
// module). It returns 0 if the host gives no clock.
func UnixNow() int64 {
	var ns uint64
	if clockTimeGet(0, 1, uint32(uintptr(unsafe.Pointer(&ns)))) != 0 {
		return 0
	}
	runtime.KeepAlive(&ns)
	return int64(ns / 1e9)
}
