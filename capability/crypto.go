package capability

// The crypto family: hash, random, dh_create and dh_finish. The DH private
// values stay here, in the session; a module holds only handles.

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"

	"github.com/imchost/imchost/abi"
)

// maxDHKeys bounds the key pairs one session may hold.
const maxDHKeys = 8

func (s *Session) hash(_ context.Context, in []byte) ([]byte, error) {
	req, err := abi.ParseHashRequest(in)
	if err != nil {
		return nil, err
	}
	h, err := newHash(req.Alg)
	if err != nil {
		return nil, err
	}
	h.Write(req.Data)
	return h.Sum(nil), nil
}

func (s *Session) random(_ context.Context, in []byte) ([]byte, error) {
	n, err := abi.ParseUint32(in)
	if err != nil {
		return nil, err
	}
	if n > abi.MaxRandomLen {
		return nil, fail(abi.FnRandom, abi.StatusTooLarge, fmt.Errorf("%d random bytes asked", n))
	}
	out := make([]byte, n)
	rand.Read(out)
	return out, nil
}

func newHash(alg uint16) (hash.Hash, error) {
	switch alg {
	case abi.AlgSHA1:
		return sha1.New(), nil
	case abi.AlgSHA256:
		return sha256.New(), nil
	case abi.AlgSHA384:
		return sha512.New384(), nil
	case abi.AlgSHA512:
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("%w: hash algorithm 0x%04x", ErrUnsupported, alg)
}

func (s *Session) dhCreate(_ context.Context, in []byte) ([]byte, error) {
	req, err := abi.ParseDHCreateRequest(in)
	if err != nil {
		return nil, err
	}
	dh := s.c.Platform.DH
	if dh == nil {
		dh = StdDH{}
	}
	s.mu.Lock()
	n := len(s.dh)
	s.mu.Unlock()
	if n >= maxDHKeys {
		return nil, fail(abi.FnDHCreate, abi.StatusTooLarge, errors.New("too many open DH keys"))
	}
	k, err := dh.NewKey(req.Group)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.nextDH++
	h := s.nextDH
	s.dh[h] = k
	s.mu.Unlock()
	return abi.AppendDHCreateResult(nil, abi.DHCreateResult{Handle: h, Public: k.Public()}), nil
}

// dhFinish returns H('1' || initiator nonce || responder nonce || secret),
// the PTS secret assessment value; the key is used once.
func (s *Session) dhFinish(_ context.Context, in []byte) ([]byte, error) {
	req, err := abi.ParseDHFinishRequest(in)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	k, ok := s.dh[req.Handle]
	delete(s.dh, req.Handle)
	s.mu.Unlock()
	if !ok {
		return nil, fail(abi.FnDHFinish, abi.StatusNotFound, fmt.Errorf("no DH key %d", req.Handle))
	}
	h, err := newHash(req.HashAlg)
	if err != nil {
		return nil, err
	}
	secret, err := k.Shared(req.PeerPublic)
	if err != nil {
		return nil, fail(abi.FnDHFinish, abi.StatusInvalid, err)
	}
	h.Write([]byte{'1'})
	h.Write(req.InitiatorNonce)
	h.Write(req.ResponderNonce)
	h.Write(secret)
	clear(secret)
	return h.Sum(nil), nil
}
