package pb

import "golang.org/x/crypto/cryptobyte"

// MsgAccessRecommendation is PB-Access-Recommendation, RFC 5793 Section
// 4.7, sent by the server in a RESULT batch, without NOSKIP.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Reserved             |   Access Recommendation Type  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type MsgAccessRecommendation struct {
	Recommendation Recommendation // 1..3
}

// Type implements Message.
func (*MsgAccessRecommendation) Type() MsgType { return TypeAccessRecommendation }

// NoSkip implements Message.
func (*MsgAccessRecommendation) NoSkip() bool { return false }

func (m *MsgAccessRecommendation) marshalValue(b *cryptobyte.Builder) {
	b.AddUint16(0)
	b.AddUint16(uint16(m.Recommendation))
}

func (m *MsgAccessRecommendation) parseValue(v []byte, _ Limits) error {
	s := cryptobyte.String(v)
	var rsvd, r uint16
	if !s.ReadUint16(&rsvd) || !s.ReadUint16(&r) || !s.Empty() {
		return invalidParam(0)
	}
	if r < uint16(RecommendationAllowed) || r > uint16(RecommendationQuarantined) {
		return invalidParam(2)
	}
	m.Recommendation = Recommendation(r)
	return nil
}
