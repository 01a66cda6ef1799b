package host

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
)

// Module measurements. With [tpm] module_pcr set, the host extends every
// module version it puts in service (at load and at each reload) into that
// PCR, in every allocated bank, before any connection uses it, and appends
// the event to a measurement log (a file in /run by default, so it starts
// empty with the PCR at boot), IMA's way: a verifier replays the log and
// compares with the quoted PCR, so the set of modules that ran since boot
// is covered by the TPM's signature.
//
// The log is text, one event per line:
//
//	<pcr> <sha256 of the event, hex> <event>
//
// and an event is
//
//	imchost-module v1 imc=<id> name=<Go-quoted name> sha256=<file sha256> signer=<key ID or -> abi=<n> grants=<a,b,...>
//
// The PCR is extended with the event's hash in each bank's algorithm.
// Several hosts on one machine share the PCR and the log; an exclusive lock
// on the log file makes each append and its extend one step.

// ModuleMeasurement is one module version measured into the module PCR
// (the log format is abi's: ParseModuleLog, ReplayModuleLog).
type ModuleMeasurement = abi.ModuleMeasurement

// measure extends a version about to serve into the module PCR, when one
// is configured. Without a TPM that can do it, the version is refused: a
// verifier would otherwise see modules that are not in the PCR.
func (h *Host) measure(ctx context.Context, v *version) error {
	pcr := v.full.ModulePCR
	if pcr == 0 {
		return nil
	}
	mm, ok := h.opts.Platform.TPM.(capability.ModuleMeasurer)
	if !ok {
		return fmt.Errorf("[tpm] module_pcr %d is set, but there is no TPM to measure the module into", pcr)
	}
	m := ModuleMeasurement{PCR: pcr, IMCID: v.m.id, Name: v.m.name, SHA256: v.sha, Signer: v.signer,
		ABI: abi.Version, Grants: slices.Sorted(slices.Values(v.cfg.Grants))}
	if err := mm.MeasureModule(pcr, v.full.moduleLog(), m.Event()); err != nil {
		return fmt.Errorf("measuring the module into PCR %d: %w", pcr, err)
	}
	h.wlog.Info(fmt.Sprintf("IMC %d \"%s\" measured into PCR %d (sha256 %s)", v.m.id, v.m.name, pcr, v.sha[:16]))
	return nil
}

// ModuleLog reads the module measurement log of the configuration ([tpm]
// module_log), for `imchost imc list` and tests.
func (h *Host) ModuleLog() ([]ModuleMeasurement, error) {
	f, err := os.Open(h.cfg.Load().moduleLog())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return abi.ParseModuleLog(f)
}

// moduleLog is the module measurement log's path.
func (c *Config) moduleLog() string {
	if c.ModuleLog != "" {
		return c.ModuleLog
	}
	return DefaultModuleLog
}

// checkModulePCR says what is wrong with a [tpm] module_pcr value.
func checkModulePCR(pcr int) error {
	switch {
	case pcr == 0:
		return nil
	case pcr < 8 || pcr > 22:
		return fmt.Errorf("[tpm] module_pcr %d: want 8 to 22 (0 to 7 are the firmware's, 23 anyone may reset)", pcr)
	case pcr == 10:
		return fmt.Errorf("[tpm] module_pcr 10 is IMA's")
	case pcr == 16:
		return fmt.Errorf("[tpm] module_pcr 16 is the debug PCR, which anyone may reset")
	}
	return nil
}

// moduleReport returns the ModuleReport function of a version's sessions
// (capability.ModuleReport): nil without a module PCR or a TPM.
func (h *Host) moduleReport(v *version) func(context.Context, abi.QuoteRequest) ([]byte, error) {
	pcr := v.full.ModulePCR
	t := h.opts.Platform.TPM
	if pcr == 0 || t == nil {
		return nil
	}
	logPath := v.full.moduleLog()
	return capability.ModuleReport(t, pcr, logPath)
}
