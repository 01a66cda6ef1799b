package pb

import (
	"bufio"
	"encoding/hex"
	"github.com/imchost/imchost/internal/testutil"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readHex reads a golden .hex file: hex digits and spaces, '#' comments.
func readHex(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var digits strings.Builder
	for _, line := range strings.Split(string(f), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// vector is one recorded batch from the repository's testdata/strongswan/batches.
type vector struct {
	name      string
	direction string // "client->server" or "server->client"
	batchType string
	length    int
	raw       []byte
}

func readVectors(t testing.TB) []vector {
	t.Helper()
	files, err := filepath.Glob(testutil.Data("strongswan", "batches", "[0-9]*_*.txt"))
	if err != nil || len(files) != 11 {
		t.Fatalf("want 11 vector files, got %d (%v)", len(files), err)
	}
	var out []vector
	for _, fn := range files {
		f, err := os.Open(fn)
		if err != nil {
			t.Fatal(err)
		}
		v := vector{name: filepath.Base(fn)}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			k, val, _ := strings.Cut(sc.Text(), ": ")
			switch k {
			case "direction":
				v.direction = val
			case "batch_type":
				v.batchType = val
			case "length":
				for _, c := range val {
					v.length = v.length*10 + int(c-'0')
				}
			case "hex":
				if v.raw, err = hex.DecodeString(val); err != nil {
					t.Fatalf("%s: %v", fn, err)
				}
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}
