package main

import (
	"encoding/binary"
	"errors"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
	"github.com/imchost/imchost/sdk/patnc"
)

// receive processes one PA-TNC message of the Attestation IMV: every
// attribute in order, the replies collected into one outgoing batch of
// PA-TNC messages addressed (EXCL) to the sender.
func (a *attestation) receive(st *conn, msg imc.Message) error {
	imv := msg.Validator
	out := st.out.begin(imv)
	defer out.flush()

	m, err := patnc.ParseMessage(msg.Body)
	if err != nil {
		var perr *patnc.Error
		if !errors.As(err, &perr) {
			a.log.err("processing PA-TNC message failed: %v", err)
			return nil
		}
		a.log.err("%v", perr)
		out.add(perr.ErrorAttr())
		return nil
	}
	// As strongSwan: the message (DBG1) and all its attributes (DBG2) under
	// [TNC] first, then what handling them says.
	a.log.info("[TNC] processing PA-TNC message with ID 0x%08x", m.ID)
	for _, attr := range m.Attrs {
		a.log.debug("[TNC] processing PA-TNC attribute type %s", attr.Type())
	}
	var hdr [8]byte
	copy(hdr[:], msg.Body)
	offsets := attrOffsets(msg.Body)
	for i, attr := range m.Attrs {
		off := uint32(0)
		if i < len(offsets) {
			off = offsets[i]
		}
		a.handle(st, out, attr, hdr, off)
	}
	return nil
}

// attrOffsets returns the offset of each attribute in a PA-TNC message that
// parsed (so every length is sane).
func attrOffsets(b []byte) []uint32 {
	var offs []uint32
	for off := patnc.MsgHeaderLen; len(b)-off >= patnc.AttrHeaderLen; {
		l := int(binary.BigEndian.Uint32(b[off+8:]))
		if l < patnc.AttrHeaderLen || l > len(b)-off {
			break
		}
		offs = append(offs, uint32(off))
		off += l
	}
	return offs
}

// handle processes one attribute (also one reassembled from segments).
// hdr and off locate it for an Invalid Parameter error.
func (a *attestation) handle(st *conn, out *batch, attr patnc.Attr, hdr [8]byte, off uint32) {
	s := st.pts
	var err error
	switch r := attr.(type) {
	case *patnc.SegContractRequest:
		out.add(out.contractResponse(r))
	case *patnc.NextSegment:
		if env := out.nextSegment(r); env != nil {
			out.add(env)
		}
	case *patnc.SegEnvelope:
		whole := out.envelope(r)
		switch whole.(type) {
		case nil:
		case *patnc.SegEnvelope, *patnc.NextSegment, *patnc.SegContractRequest, *patnc.SegContractResponse:
			// An envelope must not carry segmentation attributes (no nesting).
			a.log.err("segmented attribute '%s' is not allowed", whole.Type().FullName())
			err = errInvalid
		default:
			a.handle(st, out, whole, hdr, off)
		}
	case *patnc.ReqProtoCaps:
		out.add(&patnc.ProtoCaps{Caps: patnc.Caps(s.protoCaps(uint16(r.Caps)))})
	case *patnc.MeasAlgoRequest:
		var sel uint16
		if sel, err = s.selectMeasAlgo(uint16(r.Algs)); err == nil {
			out.add(&patnc.MeasAlgoSelection{Alg: patnc.HashAlgs(sel)})
		}
	case *patnc.DHNonceParamsReq:
		var p *dhParams
		if p, err = s.dhParameters(r.MinNonceLen, uint16(r.Groups)); err == nil {
			out.add(&patnc.DHNonceParamsResp{Group: patnc.DHGroups(p.Group), HashAlgs: patnc.HashAlgs(p.HashSet),
				Nonce: p.Nonce, Public: p.Public})
		}
	case *patnc.DHNonceFinish:
		err = s.dhFinish(uint16(r.HashAlg), r.Public, r.Nonce)
	case *patnc.GetTPMVersionInfo:
		var v []byte
		if v, err = s.tpmVersionInfo(attrValue(r)); err == nil {
			out.add(&patnc.TPMVersionInfo{Info: v})
		}
	case *patnc.GetAIK:
		naked, blob, aerr := s.aik()
		if aerr == nil { // strongSwan sends nothing without an AIK
			out.add(&patnc.AIK{Naked: naked, DER: blob})
		}
	case *patnc.ITAGetSymlinks:
		links, lerr := s.symlinks(r.Dir)
		if lerr == nil {
			sl := &patnc.ITASymlinks{Links: make([]patnc.Symlink, 0, len(links))}
			for _, l := range links {
				sl.Links = append(sl.Links, patnc.Symlink{Path: l.Path, Target: l.Target})
			}
			out.add(sl)
		}
	case *patnc.ReqFuncCompEvid:
		err = s.componentEvidence(r.Requests, attrValue(r))
	case *patnc.GenAttestEvid:
		var ev []evidence
		var sef *patnc.SimpleEvidFinal
		if ev, sef, err = s.generate(); err == nil {
			t := evidenceTime(s.logCTime)
			for _, e := range ev {
				out.add(&patnc.SimpleCompEvid{
					Name: patnc.BIOSComponent, MeasType: patnc.MeasTypeHash, PCR: e.PCR,
					HashAlg: patnc.HashAlgs(s.measAlgo), Transform: patnc.TransformMatch, Time: t,
					Measurement: e.Digest,
				})
			}
			if s.ima != nil {
				s.sendIMA(out)
			}
			if qc := s.pendingQuote; qc != nil {
				s.pendingQuote = nil
				s.logQuoteOver(qc.q, qc.sef, qc.extra, qc.pcrs)
			}
			out.add(sef)
		}
	case *patnc.ReqFileMeas:
		var fm *patnc.FileMeas
		if fm, err = s.fileMeasurement(r, attrValue(r)); err == nil {
			out.add(patnc.WithNoSkip(fm))
		}
	case *patnc.ReqFileMeta:
		var um *patnc.UnixFileMeta
		if um, err = s.fileMetadata(r, attrValue(r)); err == nil {
			out.add(patnc.WithNoSkip(um))
		}
	case *patnc.AssessmentResult:
		// As strongSwan's IMC: framed in the log, and reported to the host
		// for the user's summary.
		a.log.info("***** assessment of IMC %d \"Attestation\" from IMV %d *****", a.id, out.imv)
		a.log.info("assessment result is '%s'", r.Result)
		a.log.info("***** end of assessment *****")
		if err := a.h.Report(abi.Report{Validator: out.imv, Result: uint32(r.Result)}); err != nil {
			a.log.debug("report not delivered: %v", err)
		}
	case *patnc.PATNCError:
		a.log.err("received PA-TNC error from IMV: %s", r.String())
	case *patnc.Unknown:
		a.log.debug("skipping unknown attribute '%s'", attr.Type().FullName())
	default:
		a.log.info("received unsupported attribute '%s'", attr.Type().FullName())
	}
	if err == nil {
		return
	}
	var terr *tcgError
	switch {
	case errors.As(err, &terr):
		out.add(patnc.NewTCGError(patnc.TCGErrorCode(terr.Code), terr.Info))
	case errors.Is(err, errOutOfOrder), errors.Is(err, errInvalid):
		out.add(&patnc.PATNCError{Vendor: abi.PENIETF, Code: uint32(patnc.ErrInvalidParameter),
			MsgHeader: hdr, Offset: off})
	default:
		a.log.err("%s: %v", attr.Type().FullName(), err)
	}
}

// attrValue re-encodes an attribute's value (for errors whose information is
// a copy of the request value).
func attrValue(a patnc.Attr) []byte {
	b, err := patnc.MarshalAttr(a)
	if err != nil || len(b) < patnc.AttrHeaderLen {
		return nil
	}
	return b[patnc.AttrHeaderLen:]
}

// msgTypeOf is the PB-PA message type of every reply.
func replyMessage(validator uint32, body []byte) imc.Message {
	return imc.Message{Type: msgTypePTS, Validator: validator, Exclusive: true, Body: body}
}
