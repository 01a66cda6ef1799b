package main

import (
	"errors"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
)

// segmentation handles the TCG segmentation attributes of a received
// message (strongSwan's imc_msg receive, TCG IF-M Segmentation §5): it answers a
// Contract Request with a Contract Response, a Next Segment request with the
// next envelope, and collects envelopes from the IMV, asking for the next
// segment while more follow. It returns the message's other attributes with
// any attribute reassembled from envelopes; replies are appended to *out.
func (o *OSIMC) segmentation(imv uint32, in []patnc.Attr, out *[]patnc.Attr) []patnc.Attr {
	attrs := make([]patnc.Attr, 0, len(in))
	for _, a := range in {
		switch a := a.(type) {
		case *patnc.SegContractRequest:
			c, resp := patnc.RespondToContract(a, o.cfg.maxMsgLen)
			o.contracts[imv] = c
			o.logf(abi.LogDebug, "%s", c)
			if resp.MaxSegSize != a.MaxSegSize {
				o.logf(abi.LogDebug, "  lowered maximum segment size to %d bytes", resp.MaxSegSize)
			}
			*out = append(*out, resp)
		case *patnc.SegContractResponse:
			// The OS IMC never requests a contract.
			o.logf(abi.LogInfo, "no contract for this PA message type found")
		case *patnc.NextSegment:
			c := o.contracts[imv]
			if c == nil {
				o.logf(abi.LogInfo, "no contract for received next segment request with base attribute ID %d", a.BaseMsgID)
				continue
			}
			env, err := c.NextSegment(a)
			switch {
			case err != nil:
				o.logf(abi.LogInfo, "no more segments found for base attribute ID %d", a.BaseMsgID)
			case env == nil:
				o.logf(abi.LogDebug, "segments of base attribute ID %d cancelled", a.BaseMsgID)
			default:
				if env.More {
					o.logf(abi.LogDebug, "creating next segment for base attribute ID %d (%d bytes)", env.BaseMsgID, len(env.Segment))
				} else {
					o.logf(abi.LogDebug, "creating last segment for base attribute ID %d (%d bytes)", env.BaseMsgID, len(env.Segment))
				}
				*out = append(*out, env)
			}
		case *patnc.SegEnvelope:
			c := o.contracts[imv]
			if c == nil {
				o.logf(abi.LogDebug, "no contract for received attribute segment with base attribute ID %d", a.BaseMsgID)
				continue
			}
			whole, next, err := c.Reassemble(a)
			if err != nil {
				o.logf(abi.LogInfo, "%v", err)
				var perr *patnc.Error
				if errors.As(err, &perr) {
					*out = append(*out, perr.ErrorAttr())
				}
				continue
			}
			if next != nil {
				*out = append(*out, next)
			}
			if whole != nil {
				o.logf(abi.LogDebug, "[TNC] processing PA-TNC attribute type %s", whole.Type())
				attrs = append(attrs, whole)
			}
		default:
			attrs = append(attrs, a)
		}
	}
	return attrs
}

// split packs attrs into PA-TNC messages of at most max_message_size bytes
// for imv (strongSwan's imc_msg send): with a contract for imv, attributes
// larger than its segment size go out as a first envelope, the rest on
// Next Segment requests; an attribute too large for an empty message is
// dropped.
func (o *OSIMC) split(imv uint32, attrs []patnc.Attr) ([][]patnc.Attr, error) {
	var c *patnc.Contract
	if imv != abi.IDAny {
		c = o.contracts[imv]
	}
	msgs, dropped, err := c.Split(attrs, o.cfg.maxMsgLen)
	if err != nil {
		return nil, err
	}
	for range dropped {
		o.logf(abi.LogInfo, "PA-TNC attribute too large to send, deleted")
	}
	for _, m := range msgs {
		for _, a := range m {
			if env, ok := a.(*patnc.SegEnvelope); ok && env.Start {
				o.logf(abi.LogDebug, "creating first segment for base attribute ID %d (%d bytes)", env.BaseMsgID, len(env.Segment))
			}
		}
	}
	return msgs, nil
}
