// Package hosttest starts the real wasm host (package host) for the tests
// of other packages: a host.Host for a configuration, its IMCs loaded,
// closed when the test ends.
//
//	h := hosttest.Start(t, &host.Config{IMCs: imcs}, host.Options{Platform: p})
//
// It is not part of internal/testutil because host's own tests import
// testutil, and a testutil that imported host would be an import cycle.
package hosttest

import (
	"context"
	"testing"

	"github.com/imchost/imchost/host"
)

// Load returns a host for cfg with opts, closed when t ends, after
// LoadIMCs, and LoadIMCs' error (the IMCs it refused; the others are
// loaded). An invalid cfg fails the test.
func Load(t testing.TB, cfg *host.Config, opts host.Options) (*host.Host, error) {
	t.Helper()
	h, err := host.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h, h.LoadIMCs(context.Background())
}

// Start is Load for a configuration whose every IMC must load: a refusal
// fails the test.
func Start(t testing.TB, cfg *host.Config, opts host.Options) *host.Host {
	t.Helper()
	h, err := Load(t, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
