package capability

// The IMA family: ima_events, the Linux IMA measurement list page by page
// with its PCR 10 replay.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/tpmhost"
)

// SettingIMALog is the IMC setting naming the IMA measurement list
// (default: Platform.IMALogPath, else tpmhost.DefaultIMALogPath).
const SettingIMALog = "ima_log"

// imaCursor is one open pass over the IMA list for a session: the file, the
// streaming reader and the PCR 10 replay of the requested bank up to Next.
// Memory does not grow with the list: one entry is held at a time.
type imaCursor struct {
	path   string
	f      *os.File
	rd     *tpmhost.IMAReader
	rep    *tpmhost.IMAReplayer
	bank   tpmhost.Alg
	next   uint32
	ctime  int64
	end    bool
	quoted bool // the quote binding matched: the pass is over
}

func (c *imaCursor) close() {
	if c != nil && c.f != nil {
		c.f.Close()
		c.f = nil
	}
}

// imaPath is the list this session reads.
func (s *Session) imaPath() string {
	if p := s.c.Settings[SettingIMALog]; p != "" {
		return p
	}
	if s.c.Platform.IMALogPath != "" {
		return s.c.Platform.IMALogPath
	}
	return tpmhost.DefaultIMALogPath
}

// imaEvents implements ima_events: a page of the list from req.Start,
// continuing the session's open pass, or a new pass from entry 0.
func (s *Session) imaEvents(_ context.Context, in []byte) ([]byte, error) {
	req, err := abi.ParseIMARequest(in)
	if err != nil {
		return nil, err
	}
	bank := tpmhost.Alg(req.Bank)
	switch {
	case req.Max == 0 || req.Max > abi.MaxIMAPage:
		return nil, fail(abi.FnIMAEvents, abi.StatusInvalid, fmt.Errorf("page of %d entries (want 1..%d)", req.Max, abi.MaxIMAPage))
	case bank.Hash() == 0:
		return nil, fmt.Errorf("%w: bank 0x%04x", ErrUnsupported, req.Bank)
	case len(req.Before) > abi.MaxIMAComposite || len(req.After) > abi.MaxIMAComposite || len(req.QuoteDigest) > 64:
		return nil, fail(abi.FnIMAEvents, abi.StatusTooLarge, errors.New("quote binding too long"))
	}
	var quoteHash tpmhost.Alg
	if len(req.QuoteDigest) > 0 {
		quoteHash = tpmhost.Alg(req.QuoteHash)
		if h := quoteHash.Hash(); h == 0 || h.Size() != len(req.QuoteDigest) {
			return nil, fail(abi.FnIMAEvents, abi.StatusInvalid, fmt.Errorf("quote digest of %d bytes for hash 0x%04x", len(req.QuoteDigest), req.QuoteHash))
		}
	}

	s.mu.Lock()
	c := s.ima
	s.mu.Unlock()
	if req.Start == 0 {
		c.close()
		if c, err = s.openIMA(bank); err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.ima = c
		s.mu.Unlock()
	} else if c == nil || c.next != req.Start || c.bank != bank {
		return nil, fail(abi.FnIMAEvents, abi.StatusState,
			fmt.Errorf("page from entry %d: the open pass is elsewhere (start again from 0)", req.Start))
	}

	out := abi.IMAEvents{Path: c.path, CTime: c.ctime, ListAlg: uint16(c.rd.DigestAlg())}
	size := 0
	for !c.end && !c.quoted && uint32(len(out.Events)) < req.Max && size < abi.MaxIMAPageBytes {
		e, err := c.rd.Next()
		if err == io.EOF {
			c.end = true
			break
		}
		if err != nil {
			c.close()
			s.mu.Lock()
			s.ima = nil
			s.mu.Unlock()
			return nil, fail(abi.FnIMAEvents, abi.StatusFailed, err)
		}
		m := bytes.Clone(c.rep.Measurement(0, e))
		c.rep.ExtendDigest(0, e.PCR, m)
		ev := abi.IMAEvent{Seq: uint32(e.Seq), PCR: e.PCR, Measurement: m,
			Template: e.Template, Name: e.FileName(), Signature: bytes.Clone(e.Signature())}
		if algo, d, ok := e.FileDigest(); ok {
			ev.Algo, ev.FileDigest = algo, bytes.Clone(d)
		}
		out.Events = append(out.Events, ev)
		size += 64 + len(ev.Measurement) + len(ev.Template) + len(ev.Algo) + len(ev.FileDigest) + len(ev.Name) + len(ev.Signature)
		c.next++
		if quoteHash != 0 && e.PCR == tpmhost.IMAPCR && s.quoteMatches(quoteHash, req, c.rep.PCR10(0)) {
			c.quoted, out.Matched = true, true
		}
	}
	if !c.end && !c.quoted {
		// Look ahead one byte so that End is exact at the last page.
		if more, _ := c.rd.Peek(); !more {
			c.end = true
		}
	}
	out.Next, out.End = c.next, c.end || c.quoted
	out.PCR10 = c.rep.PCR10(0)
	if out.End {
		c.close()
	}
	return abi.AppendIMAEvents(nil, out), nil
}

func (s *Session) quoteMatches(h tpmhost.Alg, req abi.IMARequest, pcr10 []byte) bool {
	d := h.Hash().New()
	d.Write(req.Before)
	d.Write(pcr10)
	d.Write(req.After)
	return bytes.Equal(d.Sum(nil), req.QuoteDigest)
}

func (s *Session) openIMA(bank tpmhost.Alg) (*imaCursor, error) {
	path := s.imaPath()
	f, rd, err := tpmhost.OpenIMALog(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		return nil, fail(abi.FnIMAEvents, abi.StatusFailed, err)
	}
	c := &imaCursor{path: path, f: f, rd: rd, bank: bank}
	if st, err := f.Stat(); err == nil {
		c.ctime = st.ModTime().Unix()
		if _, ct, ok := FileTimes(st); ok {
			c.ctime = ct.Unix()
		}
	}
	if c.rep, err = tpmhost.NewIMAReplayer(rd.DigestAlg(), bank); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	return c, nil
}
