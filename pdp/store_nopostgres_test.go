//go:build nopostgres

package pdp

import (
	"strings"
	"testing"
)

// TestOpenStoreNoPostgres: a build without the PostgreSQL engine (the
// demo's) refuses a postgres:// URL with an error that names the build
// tag and does not echo the password; SQLite still opens.
// make test runs it: go test -tags nopostgres -run TestOpenStoreNoPostgres ./pdp
func TestOpenStoreNoPostgres(t *testing.T) {
	_, err := OpenStore("postgres://imchost:secret@127.0.0.1:1/pdp?sslmode=disable")
	if err == nil {
		t.Fatal("OpenStore(postgres://...) succeeded in a build without PostgreSQL")
	}
	if !strings.Contains(err.Error(), "nopostgres") || strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q: want the build tag named and the password left out", err)
	}
	s, err := OpenStore(":memory:")
	if err != nil {
		t.Fatalf("SQLite in a build without PostgreSQL: %v", err)
	}
	s.Close()
}
