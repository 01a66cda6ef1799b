package pb

import "golang.org/x/crypto/cryptobyte"

// MsgAssessmentResult is PB-Assessment-Result, RFC 5793 Section 4.6, sent
// by the server in a RESULT batch, with NOSKIP.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Assessment Result                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type MsgAssessmentResult struct {
	Result AssessmentResult // 0..4
}

// Type implements Message.
func (*MsgAssessmentResult) Type() MsgType { return TypeAssessmentResult }

// NoSkip implements Message.
func (*MsgAssessmentResult) NoSkip() bool { return true }

func (m *MsgAssessmentResult) marshalValue(b *cryptobyte.Builder) { b.AddUint32(uint32(m.Result)) }

func (m *MsgAssessmentResult) parseValue(v []byte, _ Limits) error {
	s := cryptobyte.String(v)
	var r uint32
	if !s.ReadUint32(&r) || !s.Empty() || r > uint32(maxAssessmentResultValue) {
		return invalidParam(0)
	}
	m.Result = AssessmentResult(r)
	return nil
}
