package main

import (
	"encoding/binary"
	"errors"

	"github.com/imchost/imchost/sdk/imc"
	"github.com/imchost/imchost/sdk/patnc"
)

// outbox sends the IMC's replies on one connection under the IF-M
// segmentation contract agreed with each IMV (TCG IF-M Segmentation §5): attributes are
// packed into PA-TNC messages of at most max_message_size bytes and
// attributes larger than the contract's segment size go out as
// Segmentation Envelopes, the rest on Next Segment requests.
type outbox struct {
	h         imc.Host
	cfg       settings
	log       logger
	conn      imc.ConnID
	id        uint32                     // the IMC's ID, for messages
	contracts map[uint32]*patnc.Contract // per IMV ID (one PA message type)
	msgID     uint32                     // fallback message identifier counter
}

func newOutbox(h imc.Host, cfg settings, log logger, c imc.ConnID, id uint32) *outbox {
	return &outbox{h: h, cfg: cfg, log: log, conn: c, id: id, contracts: map[uint32]*patnc.Contract{}}
}

// batch collects the replies to one received PA-TNC message.
type batch struct {
	o     *outbox
	imv   uint32
	attrs []patnc.Attr
}

// begin starts the replies to a message from IMV imv.
func (o *outbox) begin(imv uint32) *batch { return &batch{o: o, imv: imv} }

// add queues one reply attribute.
func (b *batch) add(a patnc.Attr) {
	b.attrs = append(b.attrs, a)
}

// contractResponse answers a Segmentation Contract Request and keeps the
// contract for this IMV.
func (b *batch) contractResponse(req *patnc.SegContractRequest) patnc.Attr {
	o := b.o
	c, resp := patnc.RespondToContract(req, o.cfg.maxMessageSize)
	asked := patnc.Contract{MaxMsgSize: req.MaxMsgSize, MaxSegSize: req.MaxSegSize}
	o.log.info("IMC %d received a segmentation contract request from IMV %d for PA message type 'TCG/PTS' 0x005597/0x00000001", o.id, b.imv)
	o.log.info("  %s", asked.String())
	if resp.MaxSegSize != req.MaxSegSize {
		o.log.info("  lowered maximum segment size to %d bytes", resp.MaxSegSize)
	}
	o.contracts[b.imv] = c
	return resp
}

// contract returns the contract with this IMV, creating a null one (no
// segmentation of our own attributes, reassembly of the IMV's) if none was
// requested.
func (b *batch) contract() *patnc.Contract {
	c, ok := b.o.contracts[b.imv]
	if !ok {
		c = &patnc.Contract{MaxMsgSize: patnc.NoLimit, MaxSegSize: patnc.NoLimit}
		b.o.contracts[b.imv] = c
	}
	return c
}

// nextSegment answers a Next Segment request with the next envelope (nil
// after a cancel or for an unknown base message ID).
func (b *batch) nextSegment(r *patnc.NextSegment) patnc.Attr {
	env, err := b.contract().NextSegment(r)
	if err != nil {
		b.o.log.err("next segment request: %v", err)
		return nil
	}
	if env == nil {
		b.o.log.info("segmentation of base message ID %d cancelled", r.BaseMsgID)
		return nil
	}
	if env.More {
		b.o.log.debug("creating next segment for base message ID %d (%d bytes)", r.BaseMsgID, len(env.Segment))
	} else {
		b.o.log.debug("creating last segment for base message ID %d (%d bytes)", r.BaseMsgID, len(env.Segment))
	}
	return env
}

// envelope consumes a received Segmentation Envelope: it queues the Next
// Segment request while more are due and returns the reassembled attribute
// after the last one.
func (b *batch) envelope(env *patnc.SegEnvelope) patnc.Attr {
	attr, next, err := b.contract().Reassemble(env)
	switch {
	case err != nil:
		b.o.log.err("reassembling base message ID %d: %v", env.BaseMsgID, err)
		var perr *patnc.Error
		if errors.As(err, &perr) {
			b.add(perr.ErrorAttr())
		}
		return nil
	case next != nil:
		b.add(next)
		return nil
	}
	return attr
}

// flush packs the queued attributes into PA-TNC messages and sends each in
// its own PB-PA message, EXCL, addressed to the IMV.
func (b *batch) flush() {
	if len(b.attrs) == 0 {
		return
	}
	o := b.o
	msgs, dropped, err := o.contracts[b.imv].Split(b.attrs, o.cfg.maxMessageSize)
	b.attrs = nil
	if err != nil {
		o.log.err("building the PA-TNC message failed: %v", err)
		return
	}
	for _, d := range dropped {
		o.log.err("PA-TNC attribute '%s' too large to send, ignored", d.Type().FullName())
	}
	for _, attrs := range msgs {
		for _, a := range attrs {
			if env, ok := a.(*patnc.SegEnvelope); ok && env.Start {
				o.log.debug("creating first segment for base message ID %d (%d bytes)", env.BaseMsgID, len(env.Segment))
			}
		}
		m := patnc.Message{ID: o.newMsgID(), Attrs: attrs}
		body, err := m.Marshal()
		if err != nil {
			o.log.err("building the PA-TNC message failed: %v", err)
			continue
		}
		// strongSwan's order and levels: the message (DBG1), then its
		// attributes (DBG2), under [TNC].
		o.log.info("[TNC] creating PA-TNC message with ID 0x%08x", m.ID)
		for _, a := range attrs {
			o.log.debug("[TNC] creating PA-TNC attribute type %s", a.Type())
		}
		if err := o.h.Send(o.conn, replyMessage(b.imv, body)); err != nil {
			o.log.err("sending the PA-TNC message failed: %v", err)
		}
	}
}

// newMsgID returns a random PA-TNC message identifier, as strongSwan uses.
func (o *outbox) newMsgID() uint32 {
	if r, err := o.h.Random(4); err == nil && len(r) == 4 {
		return binary.BigEndian.Uint32(r)
	}
	o.msgID++
	return o.msgID
}
