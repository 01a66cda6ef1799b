package pb

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Side names an end of the PB-TNC conversation.
type Side uint8

// Sides. SideAny disables the checks that depend on the sender.
const (
	SideAny Side = iota
	SideClient
	SideServer
)

// ParseOptions configures ParseBatch.
type ParseOptions struct {
	Limits
	// Receiver is who parses: SideClient requires the D bit (the batch
	// comes from a server), SideServer requires it clear and refuses the
	// server-only messages. SideAny checks neither.
	Receiver Side
}

// Batch is a PB-TNC batch: header plus messages in wire order.
//
// RFC 5793 Section 4.1:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Version    |D|                 Reserved            | B-Type|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Batch Length                            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The Batch Length counts the header.
type Batch struct {
	Type       BatchType
	FromServer bool // the D bit
	Messages   []Message
}

// ParseBatch decodes one batch, which must be exactly in. Any problem is a
// *Error with the PB-TNC code and the offset into in; parsing stops at the
// first one, and no part of a faulty batch is returned. Unknown messages
// without NOSKIP are kept as *MsgUnknown.
func ParseBatch(in []byte, opt ParseOptions) (*Batch, error) {
	b, err := parseBatch(in, opt)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func parseBatch(in []byte, opt ParseOptions) (*Batch, *Error) {
	s := cryptobyte.String(in)
	var ver, flags, rsvd, bt uint8
	var n uint32
	if !s.ReadUint8(&ver) || !s.ReadUint8(&flags) || !s.ReadUint8(&rsvd) ||
		!s.ReadUint8(&bt) || !s.ReadUint32(&n) {
		return nil, invalidParam(0)
	}
	if ver != Version {
		return nil, &Error{Code: ErrVersionNotSupported, BadVersion: ver}
	}
	fromServer := flags&flagD != 0
	if (opt.Receiver == SideClient && !fromServer) || (opt.Receiver == SideServer && fromServer) {
		return nil, invalidParam(1)
	}
	bt &= 0x0f // the high nibble is reserved
	if bt > uint8(BatchCLOSE) {
		return nil, invalidParam(3)
	}
	if int64(n) != int64(len(in)) || len(in) > opt.Limits.Batch() {
		return nil, invalidParam(4)
	}
	b := &Batch{Type: BatchType(bt), FromServer: fromServer}
	if err := b.parseMsgs(&s, BatchHeaderLen, opt); err != nil {
		return nil, err
	}
	return b, nil
}

// Message header, RFC 5793 Section 4.2:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Flags     |               PB-TNC Vendor ID                |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       PB-TNC Message Type                     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      PB-TNC Message Length                    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|               PB-TNC Message Value (Variable Length)          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Flags bit 0 (0x80) is NOSKIP. The length counts the header.
func (b *Batch) parseMsgs(s *cryptobyte.String, off int, opt ParseOptions) *Error {
	for !s.Empty() {
		var flags uint8
		var vendor, typ, length uint32
		if !s.ReadUint8(&flags) || !s.ReadUint24(&vendor) || !s.ReadUint32(&typ) || !s.ReadUint32(&length) {
			return invalidParam(off)
		}
		switch {
		case vendor == reservedVendorID:
			return invalidParam(off + 1)
		case typ == reservedMsgType:
			return invalidParam(off + 4)
		case length < MsgHeaderLen, int64(length)-MsgHeaderLen > int64(len(*s)):
			return invalidParam(off + 8)
		}
		var val []byte
		s.ReadBytes(&val, int(length)-MsgHeaderLen) // checked above
		t := MsgType{Vendor: vendor, Type: typ}
		noskip := flags&flagNoSkip != 0
		in, known := msgInfos[t]
		if !known {
			if noskip {
				return &Error{Code: ErrUnsupportedMandatoryMessage, Offset: uint32(off)}
			}
			b.Messages = append(b.Messages, &MsgUnknown{MsgType: t, Value: append([]byte{}, val...)})
			off += int(length)
			continue
		}
		if err := in.check(t, noskip, int(length), off); err != nil {
			return err
		}
		if opt.Receiver == SideServer && !in.FromClient {
			return invalidParam(off)
		}
		m := in.newMsg()
		if err := m.parseValue(val, opt.Limits); err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				pe = invalidParam(0)
			}
			pe.Offset += uint32(off + MsgHeaderLen)
			return pe
		}
		b.Messages = append(b.Messages, m)
		off += int(length)
	}
	return nil
}

// Marshal encodes the batch. Known messages get the NOSKIP flag their rule
// requires; the D bit is FromServer.
func (b *Batch) Marshal() ([]byte, error) {
	body := cryptobyte.NewBuilder(nil)
	for i, m := range b.Messages {
		if m == nil {
			return nil, fmt.Errorf("pb: message %d of the batch is nil", i)
		}
		appendMsg(body, m)
	}
	msgs, err := body.Bytes()
	if err != nil {
		return nil, fmt.Errorf("pb: encoding batch: %w", err)
	}
	total := uint64(BatchHeaderLen) + uint64(len(msgs))
	if total > 0xffffffff {
		return nil, errors.New("pb: batch longer than 4 GiB")
	}
	var flags uint8
	if b.FromServer {
		flags = flagD
	}
	out := make([]byte, 0, total)
	out = append(out, Version, flags, 0, uint8(b.Type)&0x0f,
		byte(total>>24), byte(total>>16), byte(total>>8), byte(total))
	return append(out, msgs...), nil
}

// EncodedLen is the number of bytes m takes in a batch, header included.
func EncodedLen(m Message) int {
	b := cryptobyte.NewBuilder(nil)
	appendMsg(b, m)
	out, err := b.Bytes()
	if err != nil {
		return 0
	}
	return len(out)
}

func appendMsg(b *cryptobyte.Builder, m Message) {
	v := cryptobyte.NewBuilder(nil)
	m.marshalValue(v)
	val, err := v.Bytes()
	if err != nil {
		b.SetError(err)
		return
	}
	t := m.Type()
	var flags uint8
	if m.NoSkip() {
		flags = flagNoSkip
	}
	b.AddUint8(flags)
	b.AddUint24(t.Vendor)
	b.AddUint32(t.Type)
	b.AddUint32(uint32(MsgHeaderLen + len(val)))
	b.AddBytes(val)
}

// Message is one PB-TNC message. The concrete types are the Msg* structs
// of this package; unknown types arrive as *MsgUnknown.
type Message interface {
	// Type is the message's vendor and type.
	Type() MsgType
	// NoSkip reports the NOSKIP flag the message is sent with.
	NoSkip() bool
	marshalValue(b *cryptobyte.Builder)
	// parseValue decodes the message value; a *Error's offset is relative
	// to the start of the value.
	parseValue(v []byte, lim Limits) error
}
