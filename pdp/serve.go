package pdp

import (
	"context"
	"errors"
)

// Serve accepts PT-TLS clients until Close is called or ctx is done; each
// client runs in its own goroutine and a misbehaving one affects no other.
// It returns nil after Close.
func (s *Server) Serve(ctx context.Context) error {
	_ = ctx
	return errors.New("pdp: serving is not wired to tnccs yet")
}
