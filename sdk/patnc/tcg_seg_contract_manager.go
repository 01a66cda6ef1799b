package patnc

import (
	"encoding/binary"
	"errors"

	"github.com/imchost/imchost/sdk/fmtlite"
)

// SegOverhead is what a PA-TNC message around one segment adds: message
// header (8) + envelope attribute header (12) + envelope header (4). A peer
// offers max segment size = its maximum PA-TNC message size - SegOverhead
// (65490 - 24 = 65466; 32722 - 24 = 32698; 2097104 - 24 = 2097080).
const SegOverhead = MsgHeaderLen + AttrHeaderLen + 4

// Default reassembly limits of a Contract.
const (
	DefaultMaxReassembled = 4 << 20 // bytes of one reassembled attribute
	DefaultMaxPending     = 16      // attributes being reassembled at once
)

// Contract is one IF-M segmentation contract, kept per (PA message type,
// peer) as strongSwan does (TCG IF-M Segmentation §5). It is pure logic: it
// builds and consumes attributes, the caller sends and receives them.
//
// IMV (issuer):
//
//	c, req := patnc.NewContractRequest(maxPAMsgLen) // send req in the first round
//	...on the Segmentation Contract Response: c.Accept(resp)
//
// IMC (responder), on a received Segmentation Contract Request:
//
//	c, resp := patnc.RespondToContract(req, maxPAMsgLen) // send resp first, in the reply
//
// Both sides then
//   - pack outgoing attributes with c.Split(attrs, maxPAMsgLen): one []Attr per
//     PA-TNC message, oversized attributes replaced by their first envelope;
//   - answer every received NextSegment with c.NextSegment(req);
//   - pass every received SegEnvelope to c.Reassemble(env), which returns
//     the NextSegment to send while more segments are due and the decoded
//     base attribute when the last segment arrived.
//
// A Contract is not safe for concurrent use (an IMC instance serves one
// connection at a time).
type Contract struct {
	MaxMsgSize uint32 // NoLimit: no message size limit
	MaxSegSize uint32 // NoLimit: no segmentation

	// MaxReassembled bounds one reassembled attribute (header included);
	// 0 means DefaultMaxReassembled.
	MaxReassembled int
	// MaxPending bounds the attributes being reassembled at once; 0 means
	// DefaultMaxPending.
	MaxPending int

	lastID uint32
	out    map[uint32][]byte  // base message ID -> value bytes not yet sent
	in     map[uint32]*inAttr // base message ID -> partial attribute
}

type inAttr struct {
	buf  []byte // header and value bytes so far
	want int    // total attribute length announced in the first segment
}

// maxSegFor returns a PA-TNC message limit minus SegOverhead, saturating.
func maxSegFor(maxPAMsgLen uint32) uint32 {
	if maxPAMsgLen == 0 || maxPAMsgLen == NoLimit {
		return NoLimit
	}
	if maxPAMsgLen <= SegOverhead {
		return 0
	}
	return maxPAMsgLen - SegOverhead
}

// NewContractRequest starts a contract as issuer (what strongSwan's IMVs do
// in the first round): no message size limit and a maximum segment size of
// maxPAMsgLen - 24 (0 or NoLimit: no segmentation).
func NewContractRequest(maxPAMsgLen uint32) (*Contract, *SegContractRequest) {
	c := &Contract{MaxMsgSize: NoLimit, MaxSegSize: maxSegFor(maxPAMsgLen)}
	return c, &SegContractRequest{MaxMsgSize: c.MaxMsgSize, MaxSegSize: c.MaxSegSize}
}

// RespondToContract answers a received request as responder (strongSwan's
// IMC): the maximum message size is echoed, the segment size is the
// requested one lowered to maxPAMsgLen - 24 if that is smaller ("lowered
// maximum segment size"). A request for no segmentation stays so.
func RespondToContract(req *SegContractRequest, maxPAMsgLen uint32) (*Contract, *SegContractResponse) {
	seg := req.MaxSegSize
	if own := maxSegFor(maxPAMsgLen); seg != NoLimit && seg > own {
		seg = own
	}
	c := &Contract{MaxMsgSize: req.MaxMsgSize, MaxSegSize: seg}
	return c, &SegContractResponse{MaxMsgSize: c.MaxMsgSize, MaxSegSize: c.MaxSegSize}
}

// Accept applies the peer's response to a contract this side requested.
func (c *Contract) Accept(resp *SegContractResponse) {
	c.MaxMsgSize, c.MaxSegSize = resp.MaxMsgSize, resp.MaxSegSize
}

// IsNull reports a null contract (no size limit and no segmentation).
func (c *Contract) IsNull() bool { return c.MaxMsgSize == NoLimit && c.MaxSegSize == NoLimit }

// String describes the contract in strongSwan's words, e.g. "no message
// size limit, maximum segment size of 65466 bytes".
func (c *Contract) String() string {
	if c.IsNull() {
		return "null contract"
	}
	s := "no message size limit, "
	if c.MaxMsgSize != NoLimit {
		s = fmtlite.Sprintf("maximum message size of %d bytes, with ", c.MaxMsgSize)
	}
	if c.MaxSegSize == NoLimit {
		return s + "no segmentation"
	}
	return s + fmtlite.Sprintf("maximum segment size of %d bytes", c.MaxSegSize)
}

// shouldSegment is strongSwan's check_size: the attribute is not oversized
// (fits MaxMsgSize), segmentation is on and the value exceeds max segment + 4.
func (c *Contract) shouldSegment(encLen int) bool {
	if c == nil || c.IsNull() || int64(encLen) > int64(c.MaxMsgSize) || c.MaxSegSize == NoLimit {
		return false
	}
	return int64(encLen-AttrHeaderLen) > int64(c.MaxSegSize)+4
}

// Split packs attrs, in order, into PA-TNC messages of at most maxPAMsgLen
// bytes each (0 or NoLimit: unlimited), the way strongSwan's imc_msg/imv_msg
// send does. With a non-null contract an attribute whose value exceeds the
// maximum segment size + 4 is replaced by its first Segmentation Envelope
// (of min(max segment, space left - 16) bytes, base message IDs counting
// from 1); the rest is kept for NextSegment. An attribute that fits no
// message is dropped and returned in dropped ("PA-TNC attribute too large
// to send"). c may be nil (no contract).
func (c *Contract) Split(attrs []Attr, maxPAMsgLen uint32) (msgs [][]Attr, dropped []Attr, err error) {
	limit := int64(maxPAMsgLen)
	if maxPAMsgLen == 0 || maxPAMsgLen == NoLimit {
		limit = 1 << 62
	}
	const minSegAttr = AttrHeaderLen + 4 + AttrHeaderLen
	var cur []Attr
	used := int64(MsgHeaderLen)
	for i := 0; i < len(attrs); {
		a := attrs[i]
		enc, err := MarshalAttr(a)
		if err != nil {
			return nil, nil, err
		}
		space := limit - used
		if c.shouldSegment(len(enc)) {
			if space < minSegAttr && len(cur) > 0 {
				// segment it at the start of the next message
				msgs, cur, used = append(msgs, cur), nil, MsgHeaderLen
				continue
			}
			if space >= minSegAttr {
				if env := c.firstSegment(enc, space); env != nil {
					a, enc = env, nil
				}
			}
		}
		n := int64(AttrHeaderLen)
		if enc != nil {
			n = int64(len(enc))
		} else {
			n += 4 + int64(len(a.(*SegEnvelope).Segment))
		}
		switch {
		case n <= space:
			cur, used = append(cur, a), used+n
			i++
		case len(cur) > 0:
			msgs, cur, used = append(msgs, cur), nil, MsgHeaderLen
		default:
			dropped = append(dropped, attrs[i])
			i++
		}
	}
	if len(cur) > 0 {
		msgs = append(msgs, cur)
	}
	return msgs, dropped, nil
}

// firstSegment creates the first envelope of an encoded attribute, or nil
// if it cannot be segmented (max segment < 12 or >= the whole attribute).
func (c *Contract) firstSegment(enc []byte, space int64) *SegEnvelope {
	seg := int64(c.MaxSegSize)
	if seg < AttrHeaderLen || seg >= int64(len(enc)) {
		return nil
	}
	if s := space - AttrHeaderLen - 4; s < seg {
		seg = s
	}
	if c.out == nil {
		c.out = make(map[uint32][]byte)
	}
	c.lastID = (c.lastID + 1) & 0xffffff
	c.out[c.lastID] = enc[seg:]
	return &SegEnvelope{More: true, Start: true, BaseMsgID: c.lastID, Segment: enc[:seg:seg]}
}

// ErrUnknownSegment is returned for a Next Segment or envelope whose base
// message ID has no segmentation in progress.
var ErrUnknownSegment = errors.New("patnc: base message ID not found")

// NextSegment answers a received Next Segment request with the next
// envelope of at most MaxSegSize value bytes (M set unless it is the last).
// A cancel request drops the remaining segments and returns nil, nil.
func (c *Contract) NextSegment(req *NextSegment) (*SegEnvelope, error) {
	rest, ok := c.out[req.BaseMsgID]
	if !ok {
		return nil, fmtlite.Errorf("%w: %d", ErrUnknownSegment, req.BaseMsgID)
	}
	if req.Cancel {
		delete(c.out, req.BaseMsgID)
		return nil, nil
	}
	n := len(rest)
	if int64(n) > int64(c.MaxSegSize) {
		n = int(c.MaxSegSize)
	}
	env := &SegEnvelope{More: n < len(rest), BaseMsgID: req.BaseMsgID, Segment: rest[:n:n]}
	if env.More {
		c.out[req.BaseMsgID] = rest[n:]
	} else {
		delete(c.out, req.BaseMsgID)
	}
	return env, nil
}

// Pending reports how many outgoing segmented attributes still have
// segments to send.
func (c *Contract) Pending() int { return len(c.out) }

// Reassemble consumes a received Segmentation Envelope. While more
// segments are due it returns the Next Segment request to send; after the
// last one it returns the decoded base attribute. Errors are *Error (with
// the message header ff ff ff ff | base message ID that strongSwan puts into
// the PA-TNC Error for segment faults, and the offset within the base
// attribute) or ErrUnknownSegment for a continuation without a start. A
// failed reassembly is discarded.
func (c *Contract) Reassemble(env *SegEnvelope) (Attr, *NextSegment, error) {
	id := env.BaseMsgID
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:], 0xffffffff)
	binary.BigEndian.PutUint32(hdr[4:], id)
	fail := func(off int, reason string) (Attr, *NextSegment, error) {
		delete(c.in, id)
		return nil, nil, &Error{Code: ErrInvalidParameter, Offset: uint32(off), Header: hdr, Reason: reason}
	}
	p := c.in[id]
	if env.Start {
		if p != nil {
			return nil, nil, fmtlite.Errorf("patnc: base message ID %d is already in use", id)
		}
		maxPending, maxLen := c.MaxPending, c.MaxReassembled
		if maxPending <= 0 {
			maxPending = DefaultMaxPending
		}
		if maxLen <= 0 {
			maxLen = DefaultMaxReassembled
		}
		if len(c.in) >= maxPending {
			return nil, nil, fmtlite.Errorf("patnc: more than %d segmented attributes pending", maxPending)
		}
		if len(env.Segment) < AttrHeaderLen {
			return fail(0, "first segment shorter than an attribute header")
		}
		want := int64(binary.BigEndian.Uint32(env.Segment[8:]))
		if want < AttrHeaderLen || want > int64(maxLen) || int64(len(env.Segment)) > want {
			return fail(8, fmtlite.Sprintf("segmented attribute length %d", want))
		}
		p = &inAttr{want: int(want), buf: make([]byte, 0, want)}
		if c.in == nil {
			c.in = make(map[uint32]*inAttr)
		}
		c.in[id] = p
	} else if p == nil {
		return nil, nil, fmtlite.Errorf("%w: %d", ErrUnknownSegment, id)
	}
	if len(p.buf)+len(env.Segment) > p.want {
		return fail(len(p.buf), "segments longer than the announced attribute")
	}
	p.buf = append(p.buf, env.Segment...)
	if env.More {
		if len(p.buf) == p.want {
			return fail(len(p.buf), "more segments announced after the complete attribute")
		}
		return nil, &NextSegment{BaseMsgID: id}, nil
	}
	delete(c.in, id)
	if len(p.buf) < p.want {
		return fail(len(p.buf), "insufficient bytes for PA-TNC attribute value")
	}
	a, _, err := parseAttrAt(p.buf, 0)
	if err != nil {
		err.Header = hdr
		return nil, nil, err
	}
	return a, nil, nil
}
