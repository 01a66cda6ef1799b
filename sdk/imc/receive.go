package imc

import "github.com/imchost/imchost/abi"

// decodeReceive turns the bytes of imc_receive into a Message; the body is
// copied, so the IMC owns it.
func decodeReceive(in []byte) (Message, abi.Status) {
	h, body, err := abi.ParseMessage(in)
	if err != nil {
		return Message{}, abi.StatusInvalid
	}
	return Message{
		Type:      h.Type,
		Collector: h.Collector,
		Validator: h.Validator,
		Exclusive: h.Flags&abi.FlagExclusive != 0,
		Body:      append([]byte(nil), body...),
	}, abi.StatusOK
}
