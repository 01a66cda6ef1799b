package capability

// Module measurements on the TPM (the host decides what to measure and when;
// the format of the log is abi's): extending a module version into the
// module PCR with its log line, and the module report that goes with a
// module's quote.

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/imchost/imchost/abi"
)

// ModuleMeasurer is what a Platform's TPM offers to measure modules: the
// TPM of NewTPMPlatform is one.
type ModuleMeasurer interface {
	// MeasureModule appends the event to the log at logPath and extends it
	// into pcr in every allocated bank, as one step.
	MeasureModule(pcr int, logPath string, event string) error
}

// MeasureModule appends the event to the log and extends it into pcr in
// every allocated bank, under an exclusive lock on the log. An extend that
// fails takes the line back out, so the log keeps matching the PCR.
func (p *tpmPlatform) MeasureModule(pcr int, logPath string, event string) error {
	banks, err := p.t.AllocatedBanks()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(logPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	sum := crypto.SHA256.New()
	sum.Write([]byte(event))
	if _, err := fmt.Fprintf(f, "%d %x %s\n", pcr, sum.Sum(nil), event); err != nil {
		_ = f.Truncate(end)
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Truncate(end)
		return err
	}
	for _, b := range banks {
		h := b.Hash()
		if h == 0 || !h.Available() {
			continue // a bank Go has no hash for stays as it is
		}
		d := h.New()
		d.Write([]byte(event))
		if err := p.t.ExtendPCR(b, pcr, d.Sum(nil)); err != nil {
			_ = f.Truncate(end)
			return err
		}
	}
	return nil
}

// ModuleReport returns the function that makes a session's module report
// (SessionConfig.ModuleReport) for the module PCR pcr and its log at
// logPath: it reads the log and quotes the PCR with the key, bank and nonce
// of the module's own quote, under a shared lock on the log, so that no
// other host extends in between.
func ModuleReport(t TPM, pcr int, logPath string) func(context.Context, abi.QuoteRequest) ([]byte, error) {
	return func(ctx context.Context, q abi.QuoteRequest) ([]byte, error) {
		f, err := os.Open(logPath)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
			return nil, err
		}
		log, err := io.ReadAll(io.LimitReader(f, abi.MaxModuleLogLen+1))
		if err != nil {
			return nil, err
		}
		if len(log) > abi.MaxModuleLogLen {
			return nil, fmt.Errorf("the module log '%s' is larger than %d bytes", logPath, abi.MaxModuleLogLen)
		}
		quote, err := t.Quote(ctx, abi.QuoteRequest{Handle: q.Handle, Bank: q.Bank, PCRs: 1 << pcr, Qualifying: q.Qualifying})
		if err != nil {
			return nil, err
		}
		return abi.AppendModuleReportAttr(nil, abi.ModuleReport{PCR: uint8(pcr), Bank: q.Bank,
			SigAlg: quote.SigAlg, HashAlg: quote.HashAlg, Log: log, Attest: quote.Attest, Signature: quote.Signature}), nil
	}
}
