package tests

// No lockout: hostile sockets from one address — silent TCP connections,
// half-sent ClientHellos, finished TLS handshakes that never negotiate
// PT-TLS, and negotiated PT-TLS sessions that never send a batch — while
// legitimate endpoints (internal/loadgen: their own AK, boot log and quote,
// the real PT-TLS/PB-TNC/PA-TNC path) keep attesting from another address.
// Before admission control the first 64 hostile sockets filled --max-conns
// and every legitimate client failed after 30 s ("peer stalled").

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/internal/loadgen"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pttls"
)

const (
	hostileSockets = 200
	goodEndpoints  = 8
	goodRounds     = 3
	// goodBound is a generous bound for one legitimate attestation on a
	// busy machine (a few hundred ms normally; 30 s and failure when
	// locked out).
	goodBound = 20 * time.Second
)

func TestLockoutHostileSockets(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  pdp.Config
		// want is the refusal reason that must have happened.
		want string
	}{
		// Defaults: 16 sockets per address, the rest refused at accept.
		{"defaults", pdp.Config{}, tnccs.RefusedPerSource},
		// No per-address limit and deadlines far beyond the test: only
		// admission (idle sockets closed for new ones) keeps the PDP open.
		{"admission only", pdp.Config{MaxConnsPerSource: -1, HandshakeTimeout: time.Minute,
			IdleTimeout: time.Minute}, tnccs.RefusedEvicted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			refused := map[string]int{}
			cfg := tc.cfg
			cfg.Policy = pdp.DefaultPolicy()
			cfg.Policy.AllowMissingAttestation = false
			cfg.Logger = hclog.NewNullLogger()
			cfg.OnRefused = func(remote, reason string) {
				mu.Lock()
				refused[reason]++
				mu.Unlock()
			}
			p := startPDP(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			hostile := startHostileSockets(ctx, t, p, hostileSockets)
			defer hostile.closeAll()
			// Let the hostile sockets arrive first and occupy the PDP.
			hostile.waitDialled(t, 10*time.Second)

			var wg sync.WaitGroup
			var ok atomic.Int32
			errs := make(chan error, goodEndpoints*goodRounds)
			for i := range goodEndpoints {
				e, err := loadgen.NewEndpoint(i, 40)
				if err != nil {
					t.Fatal(err)
				}
				cc := tnccs.ClientConfig{Addr: p.addr, PTTLS: pttls.ClientConfig{ServerName: pdpName,
					RootCAs: p.pool, Timeout: goodBound}}
				c := tnccs.NewClient(cc, e)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for r := range goodRounds {
						actx, acancel := context.WithTimeout(ctx, goodBound)
						res, err := c.Assess(actx)
						acancel()
						switch {
						case err != nil:
							errs <- fmt.Errorf("endpoint %d round %d: %w", i, r, err)
						case !res.Decided || res.Recommendation != 1:
							errs <- fmt.Errorf("endpoint %d round %d: %+v", i, r, res)
						default:
							ok.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := ok.Load(); n != goodEndpoints*goodRounds {
				t.Fatalf("%d of %d legitimate attestations succeeded next to %d hostile sockets",
					n, goodEndpoints*goodRounds, hostileSockets)
			}
			mu.Lock()
			t.Logf("refused: %v; hostile sockets dialled %d", refused, hostile.dialled.Load())
			if refused[tc.want] == 0 {
				t.Errorf("no connection refused for %q: %v", tc.want, refused)
			}
			mu.Unlock()
		})
	}
}

// hostileSet is the hostile sockets of one test, from 127.0.0.2.
type hostileSet struct {
	mu      sync.Mutex
	conns   []net.Conn
	dialled atomic.Int32
	done    chan struct{}
}

// startHostileSockets opens n sockets from 127.0.0.2 in four kinds: silent,
// half a ClientHello, TLS done then silent, PT-TLS negotiated then silent.
func startHostileSockets(ctx context.Context, t *testing.T, p *pdpEnv, n int) *hostileSet {
	h := &hostileSet{done: make(chan struct{})}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := d.DialContext(ctx, "tcp", p.addr)
			h.dialled.Add(1)
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, nc)
			h.mu.Unlock()
			switch i % 4 {
			case 0: // silent
			case 1: // the first bytes of a ClientHello, then nothing
				nc.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 1, 2, 3, 4})
			case 2: // TLS, then nothing
				tc := tls.Client(nc, &tls.Config{RootCAs: p.pool, ServerName: pdpName})
				hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				tc.HandshakeContext(hctx)
				cancel()
			case 3: // PT-TLS negotiated (anonymous), then no batch
				hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				pttls.Client(hctx, nc, pttls.ClientConfig{ServerName: pdpName, RootCAs: p.pool})
				cancel()
			}
		}()
	}
	go func() { wg.Wait(); close(h.done) }()
	return h
}

// waitDialled waits until every socket was dialled (not necessarily
// accepted: some wait in the listen backlog).
func (h *hostileSet) waitDialled(t *testing.T, bound time.Duration) {
	deadline := time.Now().Add(bound)
	for h.dialled.Load() < hostileSockets && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *hostileSet) closeAll() {
	h.mu.Lock()
	for _, c := range h.conns {
		c.Close()
	}
	h.mu.Unlock()
}
