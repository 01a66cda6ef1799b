// Package imc is what an IMC author programs against: the lifecycle an IMC
// implements (IMC), the host capabilities it may call (Host), and Run, which
// binds an IMC to the ABI exports when built for GOOS=wasip1.
//
// One module instance serves exactly one TNC connection, so an IMC may keep
// per-connection state in its own fields.
package imc

import "github.com/imchost/imchost/abi"

// ConnID identifies a TNC connection.
type ConnID uint32

// Message is a PA message as delivered to, or sent by, an IMC.
type Message struct {
	Type      abi.MsgType
	Collector uint32 // IMC ID; filled in by the host on send
	Validator uint32 // IMV ID; abi.IDAny for an unsolicited message
	Exclusive bool   // PB-PA EXCL
	Body      []byte // the PA-TNC message (RFC 5792), header included
}

// IMC is the lifecycle an IMC implements, after TNC IF-IMC. Every method
// returning an error makes the host log it; the connection goes on.
type IMC interface {
	// Initialize is called once, before anything else. The IMC keeps h and
	// declares its message types with h.Subscribe here.
	Initialize(h Host, id uint32) error
	// ConnectionChange reports a connection state change.
	ConnectionChange(conn ConnID, state abi.ConnState) error
	// BeginHandshake asks the IMC to send its first messages.
	BeginHandshake(conn ConnID) error
	// Receive delivers a PA message of a subscribed type.
	Receive(conn ConnID, msg Message) error
	// BatchEnding tells the IMC that the current server batch is done.
	BatchEnding(conn ConnID) error
	// Terminate is called before the instance is closed.
	Terminate() error
}

// Host is what the host offers an IMC. Each method maps to one host function
// of the ABI; a method whose function was not granted to the module makes the
// module fail to load, so call only what config.toml grants.
type Host interface {
	// Send queues a PA message for the current connection.
	Send(conn ConnID, msg Message) error
	// Subscribe declares the message types the IMC receives (during Initialize).
	Subscribe(types ...abi.MsgType) error
	// Log writes one line at the given level into the IMC's logger.
	Log(level abi.LogLevel, msg string)
	// LogLevel is the most detailed level the host currently prints.
	LogLevel() abi.LogLevel
	// Config returns a per-IMC setting from config.toml.
	Config(key string) (string, bool)
	// OSRelease returns the contents of /etc/os-release (or /usr/lib/os-release).
	OSRelease() ([]byte, error)
	// SystemFacts returns boot time, forwarding flags, machine-id and arch.
	SystemFacts() (abi.SystemFacts, error)
	// Packages returns the installed packages (dpkg or apk database).
	Packages() ([]abi.Package, error)
	// Report hands an assessment or remediation to the host for the user.
	Report(r abi.Report) error
	// TPMVersionInfo returns the TPM's version information and startup locality.
	TPMVersionInfo() (abi.TPMVersionInfo, error)
	// TPMBanks returns the PCR banks with PCRs allocated (TPM_ALG_IDs).
	TPMBanks() ([]uint16, error)
	// TPMAIK returns the Attestation Key at handle (0: the configured aik_handle).
	TPMAIK(handle uint32) (abi.AIK, error)
	// TPMQuote quotes PCRs with the AK.
	TPMQuote(req abi.QuoteRequest) (abi.Quote, error)
	// EventLog returns the boot event log's events for one PCR bank.
	EventLog(bank uint16) (abi.EventLog, error)
	// IMAEvents returns one page of the IMA measurement list (ima_events).
	IMAEvents(req abi.IMARequest) (abi.IMAEvents, error)
	// SWInventory returns one page of the installed software (sw_inventory).
	SWInventory(req abi.SWRequest) (abi.SWInventory, error)
	// SWEvents returns one page of the recorded software changes (sw_events).
	SWEvents(req abi.SWRequest) (abi.SWEvents, error)
	// FileMeasure hashes a file, or a directory's files, in the IMC's
	// allowlist (file_measure).
	FileMeasure(req abi.FileRequest) ([]abi.FileDigest, error)
	// FileMetadata stats a file, or a directory's entries, in the IMC's
	// allowlist (file_metadata).
	FileMetadata(req abi.FileRequest) ([]abi.FileMeta, error)
	// Symlinks lists the symbolic links to directories in dir.
	Symlinks(dir string) ([]abi.Symlink, error)
	// DHCreate makes a DH key pair in the host for a PTS DH group.
	DHCreate(group uint16) (abi.DHCreateResult, error)
	// DHFinish derives the PTS secret assessment value.
	DHFinish(req abi.DHFinishRequest) ([]byte, error)
	// Hash hashes data with a TPM_ALG_ID hash.
	Hash(alg uint16, data []byte) ([]byte, error)
	// Random returns n random bytes from the host.
	Random(n int) ([]byte, error)
}
