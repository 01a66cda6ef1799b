package capability

// The TPM family: tpm_version_info, tpm_banks, tpm_aik and tpm_quote,
// through the Platform's TPM, and the module report that follows a quote.

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"strconv"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/tpmhost"
)

// tpm returns the platform's TPM, or ErrUnavailable.
func (s *Session) tpm() (TPM, error) {
	if s.c.Platform.TPM == nil {
		return nil, ErrUnavailable
	}
	return s.c.Platform.TPM, nil
}

func (s *Session) tpmVersionInfo(ctx context.Context, _ []byte) ([]byte, error) {
	t, err := s.tpm()
	if err != nil {
		return nil, err
	}
	v, err := t.VersionInfo(ctx)
	if err != nil {
		return nil, err
	}
	return abi.AppendTPMVersionInfo(nil, v), nil
}

func (s *Session) tpmBanks(ctx context.Context, _ []byte) ([]byte, error) {
	t, err := s.tpm()
	if err != nil {
		return nil, err
	}
	v, err := t.Banks(ctx)
	if err != nil {
		return nil, err
	}
	return abi.AppendBanks(nil, v), nil
}

func (s *Session) tpmAIK(ctx context.Context, in []byte) ([]byte, error) {
	t, err := s.tpm()
	if err != nil {
		return nil, err
	}
	h, err := abi.ParseUint32(in)
	if err != nil {
		return nil, err
	}
	configured := h == 0
	if configured {
		if h, err = s.handleSetting("aik_handle"); err != nil {
			return nil, err
		}
	}
	v, err := t.AIK(ctx, h)
	if err != nil {
		return nil, err
	}
	if path := s.c.Settings["aik_cert"]; configured && path != "" {
		der, err := readCert(path)
		if err != nil {
			return nil, fail(abi.FnTPMAIK, abi.StatusFailed, err)
		}
		v.CertDER = der
	}
	return abi.AppendAIK(nil, v), nil
}

func (s *Session) tpmQuote(ctx context.Context, in []byte) ([]byte, error) {
	t, err := s.tpm()
	if err != nil {
		return nil, err
	}
	req, err := abi.ParseQuoteRequest(in)
	if err != nil {
		return nil, err
	}
	if req.Handle == 0 {
		if req.Handle, err = s.handleSetting("aik_handle"); err != nil {
			return nil, err
		}
	}
	v, err := t.Quote(ctx, req)
	if err != nil {
		return nil, err
	}
	s.prepareModuleReport(ctx, req)
	return abi.AppendQuote(nil, v), nil
}

// handleSetting parses a handle setting such as aik_handle = "0x81010003".
func (s *Session) handleSetting(key string) (uint32, error) {
	v, ok := s.c.Settings[key]
	if !ok || v == "" {
		return 0, fmt.Errorf("%w: no %s setting", ErrNotFound, key)
	}
	h, err := strconv.ParseUint(v, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: setting %s = %q is not a handle", ErrInvalid, key, v)
	}
	return uint32(h), nil
}

// maxCertFile bounds the aik_cert file.
const maxCertFile = 1 << 20

// readCert reads an X.509 certificate, PEM or DER, from the host's config.
func readCert(path string) ([]byte, error) {
	f, err := tpmhost.OpenRegularFile(path) // a named pipe would block
	if err != nil {
		return nil, fmt.Errorf("host: aik_cert: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCertFile+1))
	if err == nil && len(b) > maxCertFile {
		err = fmt.Errorf("larger than %d bytes", maxCertFile)
	}
	if err != nil {
		return nil, fmt.Errorf("host: aik_cert %s: %w", path, err)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("host: aik_cert %s: PEM block %q is not a CERTIFICATE", path, blk.Type)
		}
		return blk.Bytes, nil
	}
	return b, nil
}

// prepareModuleReport makes the module report after a module's quote, to
// go with its next TCG/PTS message; a failure is logged, and the PDP then
// sees no report.
func (s *Session) prepareModuleReport(ctx context.Context, q abi.QuoteRequest) {
	if s.c.ModuleReport == nil || s.c.Conn == 0 {
		return
	}
	attr, err := s.c.ModuleReport(ctx, q)
	if err != nil {
		s.log.Warn(fmt.Sprintf("no module report for Connection ID %d: %v", s.c.Conn, err))
		return
	}
	s.mu.Lock()
	s.moduleAttr = attr
	s.mu.Unlock()
}

// withModuleReport appends a waiting module report to a TCG/PTS message
// (a PA-TNC message is its header and attributes, so an attribute appends),
// if it fits the message size limit.
func (s *Session) withModuleReport(t abi.MsgType, body []byte) []byte {
	if t.Vendor != abi.PENTCG || t.Subtype != 1 {
		return body
	}
	s.mu.Lock()
	attr := s.moduleAttr
	s.moduleAttr = nil
	s.mu.Unlock()
	if attr == nil || len(body) < 8 {
		return body
	}
	max := s.c.MaxMessageSize
	if max == 0 {
		max = abi.MaxMessageLen
	}
	if uint64(len(body))+uint64(len(attr)) > uint64(max) {
		s.log.Warn(fmt.Sprintf("the module report (%d bytes) does not fit the PA message on Connection ID %d; not sent", len(attr), s.c.Conn))
		return body
	}
	s.log.Debug(fmt.Sprintf("module report (%d bytes) appended to the TCG/PTS message on Connection ID %d", len(attr), s.c.Conn))
	return append(append(make([]byte, 0, len(body)+len(attr)), body...), attr...)
}
