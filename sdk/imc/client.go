package imc

import (
	"github.com/imchost/imchost/abi"
)

// Transport is the host as a native (non-wasm) Host sees it: one call per
// ABI data function with the encoded input and result, exactly the bytes a
// wasm module would exchange. sdk/imctest implements it with the real host
// capability code (capability.Session), so native tests run the same codecs and
// the same host logic as a module does.
type Transport interface {
	// Call runs the host function fn (an abi.Fn* name) with the encoded
	// input and returns the encoded result, or a non-OK status.
	Call(fn string, in []byte) ([]byte, abi.Status)
	// Log is the log host function.
	Log(level abi.LogLevel, msg []byte) abi.Status
	// LogLevel is the log_level host function.
	LogLevel() abi.LogLevel
}

// NewHost returns a Host that encodes every call for t and decodes its
// results with the abi codecs. Use it to run an IMC natively.
func NewHost(t Transport) Host { return &nativeHost{t: t} }

// rawCall is one data host function: encoded input in, encoded result out.
type rawCall func(in []byte) ([]byte, error)

type nativeHost struct{ t Transport }

func (h *nativeHost) call(fn string) rawCall {
	return func(in []byte) ([]byte, error) {
		out, st := h.t.Call(fn, in)
		if st != abi.StatusOK {
			return nil, &StatusError{Fn: fn, Status: st}
		}
		return out, nil
	}
}

func (h *nativeHost) Send(conn ConnID, msg Message) error { return send(h.call(abi.FnSend), conn, msg) }
func (h *nativeHost) Subscribe(types ...abi.MsgType) error {
	return subscribe(h.call(abi.FnSubscribe), types)
}
func (h *nativeHost) Log(level abi.LogLevel, msg string) { h.t.Log(level, []byte(msg)) }
func (h *nativeHost) LogLevel() abi.LogLevel             { return h.t.LogLevel() }
func (h *nativeHost) Config(key string) (string, bool) {
	return configGet(h.call(abi.FnConfigGet), key)
}
func (h *nativeHost) OSRelease() ([]byte, error) { return h.call(abi.FnOSRelease)(nil) }
func (h *nativeHost) SystemFacts() (abi.SystemFacts, error) {
	return systemFacts(h.call(abi.FnSystemFacts))
}
func (h *nativeHost) Packages() ([]abi.Package, error) { return packages(h.call(abi.FnPackages)) }
func (h *nativeHost) Report(r abi.Report) error        { return report(h.call(abi.FnReport), r) }
func (h *nativeHost) TPMVersionInfo() (abi.TPMVersionInfo, error) {
	return tpmVersionInfo(h.call(abi.FnTPMVersionInfo))
}
func (h *nativeHost) TPMBanks() ([]uint16, error) { return tpmBanks(h.call(abi.FnTPMBanks)) }
func (h *nativeHost) TPMAIK(handle uint32) (abi.AIK, error) {
	return tpmAIK(h.call(abi.FnTPMAIK), handle)
}
func (h *nativeHost) TPMQuote(req abi.QuoteRequest) (abi.Quote, error) {
	return tpmQuote(h.call(abi.FnTPMQuote), req)
}
func (h *nativeHost) EventLog(bank uint16) (abi.EventLog, error) {
	return eventLog(h.call(abi.FnEventLog), bank)
}
func (h *nativeHost) IMAEvents(req abi.IMARequest) (abi.IMAEvents, error) {
	return imaEvents(h.call(abi.FnIMAEvents), req)
}
func (h *nativeHost) SWInventory(req abi.SWRequest) (abi.SWInventory, error) {
	return swInventory(h.call(abi.FnSWInventory), req)
}
func (h *nativeHost) SWEvents(req abi.SWRequest) (abi.SWEvents, error) {
	return swEvents(h.call(abi.FnSWEvents), req)
}
func (h *nativeHost) FileMeasure(req abi.FileRequest) ([]abi.FileDigest, error) {
	return fileMeasure(h.call(abi.FnFileMeasure), req)
}
func (h *nativeHost) FileMetadata(req abi.FileRequest) ([]abi.FileMeta, error) {
	return fileMetadata(h.call(abi.FnFileMetadata), req)
}
func (h *nativeHost) Symlinks(dir string) ([]abi.Symlink, error) {
	return symlinks(h.call(abi.FnSymlinks), dir)
}
func (h *nativeHost) DHCreate(group uint16) (abi.DHCreateResult, error) {
	return dhCreate(h.call(abi.FnDHCreate), group)
}
func (h *nativeHost) DHFinish(req abi.DHFinishRequest) ([]byte, error) {
	return h.call(abi.FnDHFinish)(abi.AppendDHFinishRequest(nil, req))
}
func (h *nativeHost) Hash(alg uint16, data []byte) ([]byte, error) {
	return hash(h.call(abi.FnHash), alg, data)
}
func (h *nativeHost) Random(n int) ([]byte, error) { return random(h.call(abi.FnRandom), n) }

// The functions below encode one host call's input and decode its result;
// the native Host and the wasm Host share them, so both speak the same
// bytes. Each takes the raw call it should use, so that a wasm module only
// imports the host functions it really calls.

func decodeErr(fn string) error { return &StatusError{Fn: fn, Status: abi.StatusInvalid} }

func send(call rawCall, conn ConnID, msg Message) error {
	_ = conn // one instance serves one connection; the host knows which
	_, err := call(appendSendInput(make([]byte, 0, abi.MessageHeaderLen+len(msg.Body)), msg))
	return err
}

// appendSendInput appends send's input for msg: its header, then its body.
func appendSendInput(dst []byte, msg Message) []byte {
	h := abi.MessageHeader{Type: msg.Type, Collector: msg.Collector, Validator: msg.Validator}
	if msg.Exclusive {
		h.Flags |= abi.FlagExclusive
	}
	return append(abi.AppendMessageHeader(dst, h), msg.Body...)
}

func subscribe(call rawCall, types []abi.MsgType) error {
	_, err := call(abi.AppendMsgTypes(nil, types))
	return err
}

func configGet(call rawCall, key string) (string, bool) {
	out, err := call([]byte(key))
	if err != nil {
		return "", false
	}
	return string(out), true
}

func systemFacts(call rawCall) (abi.SystemFacts, error) {
	out, err := call(nil)
	if err != nil {
		return abi.SystemFacts{}, err
	}
	v, err := abi.ParseSystemFacts(out)
	if err != nil {
		return abi.SystemFacts{}, decodeErr(abi.FnSystemFacts)
	}
	return v, nil
}

func packages(call rawCall) ([]abi.Package, error) {
	out, err := call(nil)
	if err != nil {
		return nil, err
	}
	v, err := abi.ParsePackages(out)
	if err != nil {
		return nil, decodeErr(abi.FnPackages)
	}
	return v, nil
}

func report(call rawCall, r abi.Report) error {
	_, err := call(abi.AppendReport(nil, r))
	return err
}

func tpmVersionInfo(call rawCall) (abi.TPMVersionInfo, error) {
	out, err := call(nil)
	if err != nil {
		return abi.TPMVersionInfo{}, err
	}
	v, err := abi.ParseTPMVersionInfo(out)
	if err != nil {
		return abi.TPMVersionInfo{}, decodeErr(abi.FnTPMVersionInfo)
	}
	return v, nil
}

func tpmBanks(call rawCall) ([]uint16, error) {
	out, err := call(nil)
	if err != nil {
		return nil, err
	}
	v, err := abi.ParseBanks(out)
	if err != nil {
		return nil, decodeErr(abi.FnTPMBanks)
	}
	return v, nil
}

func tpmAIK(call rawCall, handle uint32) (abi.AIK, error) {
	out, err := call(abi.AppendUint32(nil, handle))
	if err != nil {
		return abi.AIK{}, err
	}
	v, err := abi.ParseAIK(out)
	if err != nil {
		return abi.AIK{}, decodeErr(abi.FnTPMAIK)
	}
	return v, nil
}

func tpmQuote(call rawCall, req abi.QuoteRequest) (abi.Quote, error) {
	out, err := call(abi.AppendQuoteRequest(nil, req))
	if err != nil {
		return abi.Quote{}, err
	}
	v, err := abi.ParseQuote(out)
	if err != nil {
		return abi.Quote{}, decodeErr(abi.FnTPMQuote)
	}
	return v, nil
}

func eventLog(call rawCall, bank uint16) (abi.EventLog, error) {
	out, err := call(abi.AppendUint16(nil, bank))
	if err != nil {
		return abi.EventLog{}, err
	}
	v, err := abi.ParseEventLog(out)
	if err != nil {
		return abi.EventLog{}, decodeErr(abi.FnEventLog)
	}
	return v, nil
}

func imaEvents(call rawCall, req abi.IMARequest) (abi.IMAEvents, error) {
	out, err := call(abi.AppendIMARequest(nil, req))
	if err != nil {
		return abi.IMAEvents{}, err
	}
	v, err := abi.ParseIMAEvents(out)
	if err != nil {
		return abi.IMAEvents{}, decodeErr(abi.FnIMAEvents)
	}
	return v, nil
}

func swInventory(call rawCall, req abi.SWRequest) (abi.SWInventory, error) {
	out, err := call(abi.AppendSWRequest(nil, req))
	if err != nil {
		return abi.SWInventory{}, err
	}
	v, err := abi.ParseSWInventory(out)
	if err != nil {
		return abi.SWInventory{}, decodeErr(abi.FnSWInventory)
	}
	return v, nil
}

func swEvents(call rawCall, req abi.SWRequest) (abi.SWEvents, error) {
	out, err := call(abi.AppendSWRequest(nil, req))
	if err != nil {
		return abi.SWEvents{}, err
	}
	v, err := abi.ParseSWEvents(out)
	if err != nil {
		return abi.SWEvents{}, decodeErr(abi.FnSWEvents)
	}
	return v, nil
}

func fileMeasure(call rawCall, req abi.FileRequest) ([]abi.FileDigest, error) {
	out, err := call(abi.AppendFileRequest(nil, req))
	if err != nil {
		return nil, err
	}
	v, err := abi.ParseFileDigests(out)
	if err != nil {
		return nil, decodeErr(abi.FnFileMeasure)
	}
	return v, nil
}

func fileMetadata(call rawCall, req abi.FileRequest) ([]abi.FileMeta, error) {
	out, err := call(abi.AppendFileRequest(nil, req))
	if err != nil {
		return nil, err
	}
	v, err := abi.ParseFileMetas(out)
	if err != nil {
		return nil, decodeErr(abi.FnFileMetadata)
	}
	return v, nil
}

func symlinks(call rawCall, dir string) ([]abi.Symlink, error) {
	out, err := call([]byte(dir))
	if err != nil {
		return nil, err
	}
	v, err := abi.ParseSymlinks(out)
	if err != nil {
		return nil, decodeErr(abi.FnSymlinks)
	}
	return v, nil
}

func dhCreate(call rawCall, group uint16) (abi.DHCreateResult, error) {
	out, err := call(abi.AppendDHCreateRequest(nil, abi.DHCreateRequest{Group: group}))
	if err != nil {
		return abi.DHCreateResult{}, err
	}
	v, err := abi.ParseDHCreateResult(out)
	if err != nil {
		return abi.DHCreateResult{}, decodeErr(abi.FnDHCreate)
	}
	return v, nil
}

func hash(call rawCall, alg uint16, data []byte) ([]byte, error) {
	return call(abi.AppendHashRequest(nil, abi.HashRequest{Alg: alg, Data: data}))
}

func random(call rawCall, n int) ([]byte, error) {
	if n < 0 || n > abi.MaxRandomLen {
		return nil, &StatusError{Fn: abi.FnRandom, Status: abi.StatusTooLarge}
	}
	return call(abi.AppendUint32(nil, uint32(n)))
}
