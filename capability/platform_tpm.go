package capability

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/tpmhost"
)

// TPMPlatformOptions configure NewTPMPlatform.
type TPMPlatformOptions struct {
	// Root is the file-system root of the System part ("" = "/").
	Root string
	// EventLogPath is the default boot event log ([tpm] eventlog); it also
	// serves to detect the TPM's startup locality.
	EventLogPath string
	Logger       hclog.Logger
}

// NewTPMPlatform returns the production Platform: the System read from
// Root and the TPM of tpmhost (t may be nil: no TPM, the tpm_*
// functions answer StatusUnavailable).
func NewTPMPlatform(t *tpmhost.TPM, o TPMPlatformOptions) Platform {
	log := o.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	p := Platform{System: NewSystem(o.Root), EventLogPath: o.EventLogPath} // DH nil: StdDH, tpmhost's
	if t != nil {
		p.TPM = &tpmPlatform{t: t, defaultLog: o.EventLogPath, log: log, aks: map[uint32]*tpmhost.AK{}}
	}
	return p
}

// tpmPlatform implements TPM on tpmhost.
type tpmPlatform struct {
	t          *tpmhost.TPM
	defaultLog string
	log        hclog.Logger

	mu       sync.Mutex
	aks      map[uint32]*tpmhost.AK
	locality *uint8
}

// Every method sends its commands under ctx (tpmhost.TPM.WithContext): a TPM
// that does not answer by the host function's deadline fails the call with
// tpmhost.ErrTransport, and later calls at once.

func (p *tpmPlatform) VersionInfo(ctx context.Context) (abi.TPMVersionInfo, error) {
	t := p.t.WithContext(ctx)
	v, err := t.VersionInfo()
	if err != nil {
		return abi.TPMVersionInfo{}, err
	}
	return abi.TPMVersionInfo{
		Family:          2,
		Manufacturer:    v.ManufacturerID,
		VendorString:    v.VendorString,
		FirmwareVersion: v.FirmwareVersion,
		SpecYear:        uint16(v.Year),
		SpecRevision:    uint16(v.Revision),
		SpecLevel:       uint8(v.Level),
		Locality:        p.startupLocality(t, v.Manufacturer),
	}, nil
}

// startupLocality is detected once: the seed whose replay of the event log
// reproduces PCR 0 (PFP §10.4.5.3); without a readable log, strongSwan's
// guess (0 for "INTC", else 3).
func (p *tpmPlatform) startupLocality(t *tpmhost.TPM, manufacturer string) uint8 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.locality != nil {
		return *p.locality
	}
	loc := uint8(3)
	if manufacturer == "INTC" {
		loc = 0
	}
	if l, err := tpmhost.ReadEventLog(p.defaultLog); err != nil {
		p.log.Debug(fmt.Sprintf("no event log to detect the startup locality (%v), assuming %d", err, loc))
	} else {
		bank := tpmhost.Alg(abi.AlgSHA256)
		if !slices.Contains(l.Banks, bank) && len(l.Banks) > 0 {
			bank = l.Banks[0]
		}
		if got, _, err := t.StartupLocality(l, bank); err == nil {
			loc = got
		}
	}
	p.locality = &loc
	return loc
}

func (p *tpmPlatform) Banks(ctx context.Context) ([]uint16, error) {
	banks, err := p.t.WithContext(ctx).AllocatedBanks()
	if err != nil {
		return nil, err
	}
	out := make([]uint16, len(banks))
	for i, b := range banks {
		out[i] = uint16(b)
	}
	return out, nil
}

// ak returns the AK at handle, read once. Only a handle the TPM says is
// empty is "not found"; a TPM that does not answer is reported as such.
func (p *tpmPlatform) ak(ctx context.Context, handle uint32) (*tpmhost.AK, error) {
	p.mu.Lock()
	ak, ok := p.aks[handle]
	p.mu.Unlock()
	if ok {
		return ak, nil
	}
	ak, err := p.t.WithContext(ctx).LoadAK(handle)
	if errors.Is(err, tpmhost.ErrUnknownHandle) {
		return nil, fmt.Errorf("%w: AK 0x%08x: %v", ErrNotFound, handle, err)
	}
	if err != nil {
		return nil, fmt.Errorf("AK 0x%08x: %w", handle, err)
	}
	p.mu.Lock()
	p.aks[handle] = ak
	p.mu.Unlock()
	return ak, nil
}

func (p *tpmPlatform) AIK(ctx context.Context, handle uint32) (abi.AIK, error) {
	ak, err := p.ak(ctx, handle)
	if err != nil {
		return abi.AIK{}, err
	}
	return abi.AIK{Handle: ak.Handle, PublicDER: ak.SPKI, KeyID: ak.KeyID,
		SigAlg: uint16(ak.SigAlg), HashAlg: uint16(ak.HashAlg)}, nil
}

func (p *tpmPlatform) Quote(ctx context.Context, req abi.QuoteRequest) (abi.Quote, error) {
	ak, err := p.ak(ctx, req.Handle)
	if err != nil {
		return abi.Quote{}, err
	}
	var pcrs []int
	for i := 0; i < 24; i++ {
		if req.PCRs&(1<<i) != 0 {
			pcrs = append(pcrs, i)
		}
	}
	if len(pcrs) == 0 {
		return abi.Quote{}, fmt.Errorf("%w: no PCR selected", ErrInvalid)
	}
	q, err := p.t.WithContext(ctx).Quote(ak, tpmhost.Alg(req.Bank), pcrs, req.Qualifying)
	if err != nil {
		return abi.Quote{}, err
	}
	return abi.Quote{Attest: q.Attest, SigAlg: uint16(q.SigAlg), HashAlg: uint16(q.HashAlg), Signature: q.Signature}, nil
}

func (p *tpmPlatform) EventLog(ctx context.Context, path string, bank uint16) (abi.EventLog, error) {
	return ReadEventLog(path, bank)
}

// ReadEventLog parses the boot event log at path with tpmhost and returns
// its events with their digests in bank (empty for an event without one).
// Every event is listed, the Spec ID event included; the IMC filters.
func ReadEventLog(path string, bank uint16) (abi.EventLog, error) {
	st, err := os.Stat(path)
	if err != nil {
		return abi.EventLog{}, err
	}
	l, err := tpmhost.ReadEventLog(path)
	if err != nil {
		return abi.EventLog{}, err
	}
	if !slices.Contains(l.Banks, tpmhost.Alg(bank)) {
		return abi.EventLog{}, fmt.Errorf("%w: the event log has no digests for bank 0x%04x", ErrUnsupported, bank)
	}
	out := abi.EventLog{Path: path, CTime: st.ModTime().Unix(), SpecIDLog: l.SpecID != nil,
		Events: make([]abi.Event, 0, len(l.Events))}
	if _, ct, ok := FileTimes(st); ok {
		out.CTime = ct.Unix()
	}
	for _, e := range l.Events {
		d, _ := e.Digest(tpmhost.Alg(bank))
		out.Events = append(out.Events, abi.Event{Seq: uint32(e.Seq), PCR: e.PCR, Type: uint32(e.Type), Digest: d})
	}
	return out, nil
}
