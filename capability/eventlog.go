package capability

// The event log family: eventlog_events, the boot event log's events with
// their digests in one bank, through the Platform's TPM.

import (
	"context"

	"github.com/imchost/imchost/abi"
)

// DefaultEventLogPath is the boot event log read when neither the IMC's
// "eventlog" setting nor Platform.EventLogPath names one.
const DefaultEventLogPath = "/sys/kernel/security/tpm0/binary_bios_measurements"

// eventLogEvents parses the log once per connection and bank.
func (s *Session) eventLogEvents(ctx context.Context, in []byte) ([]byte, error) {
	t, err := s.tpm()
	if err != nil {
		return nil, err
	}
	bank, err := abi.ParseUint16(in)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	out, ok := s.eventLogs[bank]
	s.mu.Unlock()
	if ok {
		return out, nil
	}
	path := s.c.Settings["eventlog"]
	if path == "" {
		path = s.c.Platform.EventLogPath
	}
	if path == "" {
		path = DefaultEventLogPath
	}
	v, err := t.EventLog(ctx, path, bank)
	if err != nil {
		return nil, err
	}
	out = abi.AppendEventLog(nil, v)
	s.mu.Lock()
	s.eventLogs[bank] = out
	s.mu.Unlock()
	return out, nil
}
