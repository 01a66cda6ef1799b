package pttls

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"
)

// TestThrottleSASLGuessing: wrong passwords from one address are answered
// without delay for the first Free failures, then only after a doubling
// delay, before the password is even checked; a correct password for
// another user from another address is not slowed. (Without the throttle
// every guess is answered at once: the delays below are lower bounds the
// old code does not meet.)
func TestThrottleSASLGuessing(t *testing.T) {
	p := newPKI(t)
	th := &Throttle{Free: 2, Base: 100 * time.Millisecond, Max: time.Second}
	cfg := ServerConfig{Certificates: []tls.Certificate{p.server}, Throttle: th,
		VerifyPlain: func(u, pw string) bool { return u == "alice" && pw == "right" }}
	try := func(user, pass string) (time.Duration, error) {
		cn, sn := tlsPair(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv := make(chan error, 1)
		go func() {
			c, err := Server(ctx, sn, cfg)
			if c != nil {
				c.Close()
			}
			srv <- err
		}()
		start := time.Now()
		c, err := Client(ctx, cn, ClientConfig{ServerName: "pdp.test", RootCAs: p.pool, Username: user, Password: pass})
		took := time.Since(start)
		if c != nil {
			c.Close()
		}
		<-srv
		return took, err
	}
	var total time.Duration
	for i := range 5 {
		took, err := try("mallory", "guess")
		if !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("guess %d: %v", i+1, err)
		}
		total += took
		t.Logf("guess %d answered after %s", i+1, took)
	}
	// Guesses 3, 4, 5 wait 100, 200, 400 ms.
	if total < 700*time.Millisecond {
		t.Fatalf("5 wrong passwords answered within %s; the last three should wait ≥ 700 ms together", total)
	}
	if d := th.Delay("127.0.0.1", "anyone"); d != 800*time.Millisecond {
		t.Fatalf("the source's next attempt waits %s, want 800ms", d)
	}
	if d := th.Delay("192.0.2.1", "mallory"); d != 800*time.Millisecond {
		t.Fatalf("the user's next attempt from elsewhere waits %s, want 800ms", d)
	}
	if d := th.Delay("192.0.2.1", "alice"); d != 0 {
		t.Fatalf("an unrelated user and address wait %s", d)
	}
	// The delay is capped; a success clears the user, not the source.
	for range 10 {
		th.Failed("192.0.2.9", "bob")
	}
	if d := th.Delay("192.0.2.9", "x"); d != time.Second {
		t.Fatalf("capped delay %s, want 1s", d)
	}
	th.Succeeded("bob")
	if th.Delay("198.51.100.1", "bob") != 0 || th.Delay("192.0.2.9", "x") != time.Second {
		t.Fatal("success should clear the user's failures only")
	}
	// Bounded memory.
	small := &Throttle{MaxEntries: 4}
	for i := range 10 {
		small.Failed(string(rune('a'+i)), "u")
	}
	if len(small.entries) > 4 {
		t.Fatalf("%d entries kept, limit 4", len(small.entries))
	}
}
