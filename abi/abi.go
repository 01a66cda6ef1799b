// Package abi is the versioned contract between the imchost host and its
// WebAssembly IMC modules: export and import names, status codes, connection
// states, limits and the byte layouts of every value that crosses the
// boundary.
//
// It imports only the standard library and builds both natively and for
// GOOS=wasip1, so the host (host/) and the guest SDK (sdk/) share one
// definition. It has no mutable exported variables.
//
// See README.md in this directory for the complete description of the
// calling convention and of each layout.
package abi

// Version is the ABI version this package describes. A module declares the
// version it was built against by exporting the function named
// ExportMarker; the host refuses modules with an unknown marker.
const Version = 1

// ImportModule is the wasm import module name under which the host exposes
// its functions ("imchost").
const ImportModule = "imchost"

// Exports every IMC module provides (module → host).
const (
	// ExportMarker is a function of no parameters and no results whose mere
	// presence declares ABI version 1.
	ExportMarker = "imc_abi_v1"
	// ExportInitialize is the Go reactor's runtime initializer; the host calls
	// it once after instantiation, before anything else.
	ExportInitialize = "_initialize"
	// ExportAlloc is imc_alloc(size u32) -> ptr u32: the guest returns a
	// buffer of at least size bytes that stays valid until the next
	// lifecycle call returns. The host writes inbound data into it.
	ExportAlloc = "imc_alloc"
	// ExportInit is imc_initialize(imc_id u32) -> status i32. The module
	// subscribes to message types during this call.
	ExportInit = "imc_initialize"
	// ExportConnectionChange is imc_connection_change(conn u32, state u32) -> status i32.
	ExportConnectionChange = "imc_connection_change"
	// ExportBeginHandshake is imc_begin_handshake(conn u32) -> status i32.
	ExportBeginHandshake = "imc_begin_handshake"
	// ExportReceive is imc_receive(conn u32, ptr u32, len u32) -> status i32;
	// the bytes at ptr are a MessageHeader followed by the PA-TNC message.
	ExportReceive = "imc_receive"
	// ExportBatchEnding is imc_batch_ending(conn u32) -> status i32.
	ExportBatchEnding = "imc_batch_ending"
	// ExportTerminate is imc_terminate() -> status i32.
	ExportTerminate = "imc_terminate"
)

// Host function names (host → module imports). One function per capability,
// so that a module's grant is a list of these names.
const (
	FnSend           = "send"
	FnSubscribe      = "subscribe"
	FnLog            = "log"
	FnLogLevel       = "log_level"
	FnResultTake     = "result_take"
	FnConfigGet      = "config_get"
	FnOSRelease      = "os_release"
	FnSystemFacts    = "system_facts"
	FnReport         = "report"
	FnTPMVersionInfo = "tpm_version_info"
	FnTPMBanks       = "tpm_banks"
	FnTPMAIK         = "tpm_aik"
	FnTPMQuote       = "tpm_quote"
	FnEventLog       = "eventlog_events"
	FnSymlinks       = "symlinks"
	FnDHCreate       = "dh_create"
	FnDHFinish       = "dh_finish"
	FnHash           = "hash"
	FnRandom         = "random"
	FnPackages       = "packages"
)

// Status is the numeric result of every lifecycle export and host function.
// Zero is success; host functions that return data return a non-negative
// length instead and -Status on failure.
type Status int32

// Statuses. Only these cross the wasm boundary.
const (
	StatusOK           Status = 0
	StatusInvalid      Status = 1  // malformed input layout or argument
	StatusFault        Status = 2  // pointer/length outside guest memory
	StatusTooLarge     Status = 3  // a length exceeds the ABI limit
	StatusNotFound     Status = 4  // no such key, handle, bank or file
	StatusNotGranted   Status = 5  // reserved: imports are checked at load time
	StatusUnavailable  Status = 6  // the capability is not configured (no TPM, no log)
	StatusFailed       Status = 7  // the operation failed on the host side
	StatusState        Status = 8  // call not allowed now (e.g. subscribe after init)
	StatusNoResult     Status = 9  // result_take without a stashed result
	StatusUnsupported  Status = 10 // algorithm, group or type not supported
	StatusModuleFailed Status = 11 // returned by an IMC export on an internal error
	StatusDenied       Status = 12 // refused by the module's lane: a PA type it may not send, a report no IMV made
	StatusExhausted    Status = 13 // a budget of the connection is spent: PA bytes queued, log lines
)

// ConnState is a TNC connection state as in TNC IF-IMC.
type ConnState uint32

// Connection states delivered through imc_connection_change.
const (
	ConnCreate    ConnState = 0
	ConnHandshake ConnState = 1
	ConnAllowed   ConnState = 2
	ConnIsolated  ConnState = 3
	ConnNone      ConnState = 4
	ConnDelete    ConnState = 5
)

// LogLevel is the level argument of the log host function; it follows
// strongSwan's DBG levels.
type LogLevel int32

// Log levels, from quiet to chatty.
const (
	LogError LogLevel = 0 // errors
	LogInfo  LogLevel = 1 // DBG1: what an operator wants
	LogDebug LogLevel = 2 // DBG2: message and attribute types
	LogTrace LogLevel = 3 // DBG3: hex dumps
)

// Limits enforced by the host on every call.
const (
	// MaxMessageLen bounds a PA message body passed to send or imc_receive.
	MaxMessageLen = 4 << 20
	// MaxInputLen bounds the input of any other host function.
	MaxInputLen = 1 << 20
	// MaxSubscriptions bounds the message types one module may subscribe to.
	MaxSubscriptions = 64
	// MessageHeaderLen is the size of MessageHeader on the wire.
	MessageHeaderLen = 20
)

// Message flags (MessageHeader.Flags).
const (
	// FlagExclusive is the PB-PA EXCL bit: deliver only to the named IMC/IMV.
	FlagExclusive uint32 = 1 << 0
)

// Wildcards for MsgType subscription (as in TNC IF-IMC).
const (
	VendorAny  uint32 = 0xffffff
	SubtypeAny uint32 = 0xff
	// IDAny is the collector or validator ID meaning "any" (0xFFFF).
	IDAny uint32 = 0xffff
)

// MsgType is a PA message type: the PB-PA "PA Message Vendor ID" (24 bits)
// and "PA Subtype".
type MsgType struct {
	Vendor  uint32
	Subtype uint32
}

// MessageHeader precedes the PA-TNC message bytes in imc_receive and in the
// input of send. Layout (20 bytes, little-endian u32 each): vendor, subtype,
// collector (IMC ID), validator (IMV ID), flags.
type MessageHeader struct {
	Type      MsgType
	Collector uint32
	Validator uint32
	Flags     uint32
}

// TPM algorithm identifiers (TPM_ALG_ID) used in layouts.
const (
	AlgSHA1   uint16 = 0x0004
	AlgSHA256 uint16 = 0x000b
	AlgSHA384 uint16 = 0x000c
	AlgSHA512 uint16 = 0x000d
	AlgRSA    uint16 = 0x0001
	AlgECC    uint16 = 0x0023
	AlgRSASSA uint16 = 0x0014
	AlgECDSA  uint16 = 0x0018
)
