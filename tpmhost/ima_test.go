package tpmhost_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/imchost/imchost/internal/imagen"
	"github.com/imchost/imchost/tpmhost"
)

func imaFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.Data("ima", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll parses a whole list, returning copies of its entries.
func readAll(t testing.TB, data []byte, alg tpmhost.Alg) []tpmhost.IMAEntry {
	t.Helper()
	rd, err := tpmhost.NewIMAReader(bytes.NewReader(data), alg)
	if err != nil {
		t.Fatal(err)
	}
	var out []tpmhost.IMAEntry
	for {
		e, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		c := *e
		c.Digest, c.Data = bytes.Clone(e.Digest), bytes.Clone(e.Data)
		c.Fields = nil
		for _, f := range e.Fields {
			c.Fields = append(c.Fields, bytes.Clone(f))
		}
		out = append(out, c)
	}
}

var allBanks = []tpmhost.Alg{tpmhost.AlgSHA1, tpmhost.AlgSHA256, tpmhost.AlgSHA384, tpmhost.AlgSHA512}

// TestIMARecordedPCR10 replays IBM's logs against the PCR 10 values IBM
// recorded for them, in all four banks (the sha1 list) and from the
// per-bank sha256 list.
func TestIMARecordedPCR10(t *testing.T) {
	var want [][]byte
	for _, line := range strings.Split(strings.TrimSpace(string(imaFile(t, "ibmtss-imakvtpcr10.txt"))), "\n") {
		want = append(want, unhex(t, strings.TrimPrefix(strings.TrimSpace(line), "PCR 10:")))
	}
	if len(want) != 4 {
		t.Fatalf("%d recorded values", len(want))
	}
	reps, err := tpmhost.ReplayIMA(bytes.NewReader(imaFile(t, "ibmtss-sha1.log")), tpmhost.AlgSHA1, allBanks...)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reps {
		if r.Entries != 362 || !bytes.Equal(r.PCRs[10], want[i]) {
			t.Errorf("sha1 list, bank %s: %d entries, PCR 10 %x, IBM recorded %x", r.Bank, r.Entries, r.PCRs[10], want[i])
		}
	}
	reps, err = tpmhost.ReplayIMA(bytes.NewReader(imaFile(t, "ibmtss-sha256.log")), tpmhost.AlgSHA256, tpmhost.AlgSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(reps[0].PCRs[10], want[1]) {
		t.Errorf("sha256 list: PCR 10 %x, IBM recorded %x", reps[0].PCRs[10], want[1])
	}
}

// TestIMASecondOpinion replays the other real lists against the values of
// the test data's independent replay, including the pre-5.8 padded rule.
func TestIMASecondOpinion(t *testing.T) {
	for _, c := range []struct {
		file    string
		listAlg tpmhost.Alg
		entries int
		bank    tpmhost.Alg
		padded  bool
		want    string
	}{
		{"ibmtss-imatest.log", tpmhost.AlgSHA1, 17, tpmhost.AlgSHA1, false, "0ff68e1da514770e85581bffe693809776302a63"},
		{"ibmtss-imatest.log", tpmhost.AlgSHA1, 17, tpmhost.AlgSHA256, false, "af02ae09413721fddb71250ae26383de73cc78d5df37fbebadacedeaeacddb18"},
		{"ibmtss-imatest.log", tpmhost.AlgSHA1, 17, tpmhost.AlgSHA256, true, "5809f571b68f86f351ddd7abdc535f73f92fd63553efea48e3ce96252084979b"},
		{"charra-binary_runtime_measurements", tpmhost.AlgSHA1, 1650, tpmhost.AlgSHA1, false, "b9d6433e7b6f9d17ee6ae6bf42df902984df2dcd"},
		{"charra-binary_runtime_measurements", tpmhost.AlgSHA1, 1650, tpmhost.AlgSHA256, false, "9842c6f3a154484c12df027b9becd4e7fe9590b9a877936504b079a7b894af56"},
		{"charra-binary_runtime_measurements", tpmhost.AlgSHA1, 1650, tpmhost.AlgSHA256, true, "6d55eb78115141ab7f61b66977a2b487dcb152805dee12203a91681467ceba22"},
		{"gta-ima-sha256.bin", tpmhost.AlgSHA256, 2, tpmhost.AlgSHA256, false, "8c4fb94d4d15f6069aad176dace62a2ec0720ae864473d6419978da5b168ce11"},
	} {
		rd, err := tpmhost.NewIMAReader(bytes.NewReader(imaFile(t, c.file)), c.listAlg)
		if err != nil {
			t.Fatal(err)
		}
		p, err := tpmhost.NewIMAReplayer(c.listAlg, c.bank)
		if err != nil {
			t.Fatal(err)
		}
		p.LegacyPadding = c.padded
		for {
			e, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", c.file, err)
			}
			if err := p.Extend(e); err != nil {
				t.Fatal(err)
			}
		}
		r := p.Replays()[0]
		if got := hex.EncodeToString(r.PCRs[10]); r.Entries != c.entries || got != c.want {
			t.Errorf("%s bank %s padded=%v: %d entries, PCR 10 %s, want %d and %s", c.file, c.bank, c.padded, r.Entries, got, c.entries, c.want)
		}
	}
}

// TestIMATemplates checks IBM's composite list entry by entry: every
// template, the one violation, and that each non-violation digest is the
// SHA-1 of the template data as the parser rebuilt it.
func TestIMATemplates(t *testing.T) {
	entries := readAll(t, imaFile(t, "ibmtss-imatest.log"), tpmhost.AlgSHA1)
	var names []string
	violations := 0
	for i := range entries {
		e := &entries[i]
		names = append(names, e.Template)
		if e.Violation() {
			violations++
			if e.Template != "ima" {
				t.Errorf("violation in entry %d (%s), IBM's is the ima entry", i, e.Template)
			}
			continue
		}
		d, err := tpmhost.IMADigest(e, tpmhost.AlgSHA256, tpmhost.AlgSHA1) // force hashing the data
		if err != nil || !bytes.Equal(d, e.Digest) {
			t.Errorf("entry %d (%s): SHA-1 of the template data %x, logged %x", i, e.Template, d, e.Digest)
		}
		if fn := e.FieldNames(); fn != nil && len(fn) != len(e.Fields) {
			t.Errorf("entry %d: %d field names, %d fields", i, len(fn), len(e.Fields))
		}
	}
	for _, want := range []string{"ima", "ima-ng", "ima-sig", "ima-buf", "ima-modsig", "ima-sigv2", "ima-ngv2", "evm-sig", "d-ng|sig"} {
		if !strings.Contains(","+strings.Join(names, ",")+",", ","+want+",") {
			t.Errorf("template %s not among %v", want, names)
		}
	}
	if len(entries) != 17 || violations != 1 {
		t.Errorf("%d entries, %d violations; IBM's list has 17 and 1", len(entries), violations)
	}
	// ima-buf: the name and a DER key buffer.
	for i := range entries {
		e := &entries[i]
		if e.Template == "ima-buf" {
			if e.FileName() != ".builtin_trusted_keys" {
				t.Errorf("ima-buf name %q", e.FileName())
			}
			if b, _ := e.Field("buf"); len(b) == 0 || b[0] != 0x30 {
				t.Errorf("ima-buf buffer %x is not DER", b)
			}
		}
	}
}

// TestIMAASCIIParity: the binary charra list printed as the kernel's ASCII
// list equals the ascii_runtime_measurements captured with it, line for
// line over their common 1646 entries.
func TestIMAASCIIParity(t *testing.T) {
	ascii := strings.Split(strings.TrimRight(string(imaFile(t, "charra-ascii_runtime_measurements")), "\n"), "\n")
	rd, err := tpmhost.NewIMAReader(bytes.NewReader(imaFile(t, "charra-binary_runtime_measurements")), tpmhost.AlgSHA1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	for i := range ascii {
		e, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		tpmhost.WriteIMAEntry(w, e)
		w.Flush()
		if got := strings.TrimSuffix(buf.String(), "\n"); got != ascii[i] {
			t.Fatalf("line %d:\n got %q\nwant %q", i+1, got, ascii[i])
		}
		buf.Reset()
	}
}

func TestIMADetectListAlg(t *testing.T) {
	for file, want := range map[string]tpmhost.Alg{
		"ibmtss-sha1.log": tpmhost.AlgSHA1, "ibmtss-sha256.log": tpmhost.AlgSHA256,
		"charra-binary_runtime_measurements": tpmhost.AlgSHA1, "gta-ima-sha256.bin": tpmhost.AlgSHA256,
		"ibmtss-imatest.log": tpmhost.AlgSHA1,
	} {
		got, err := tpmhost.DetectIMAListAlg(imaFile(t, file)[:min(8192, len(imaFile(t, file)))])
		if err != nil || got != want {
			t.Errorf("%s: %s %v, want %s", file, got, err, want)
		}
	}
	if _, err := tpmhost.DetectIMAListAlg([]byte("not an IMA list at all, not at all")); err == nil {
		t.Error("garbage detected as an IMA list")
	}
}

// TestIMAGolden decodes one hand-assembled ima-ng record field by field and
// encodes it back to the same bytes.
func TestIMAGolden(t *testing.T) {
	// d-ng "sha1:\0" + 7 digest bytes (13), n-ng "/a\0" (3): 4+13 + 4+3 = 24.
	rec := unhex(t, "0a000000"+"0102030405060708090a0b0c0d0e0f1011121314"+"06000000"+"696d612d6e67"+
		"18000000"+"0d000000"+"736861313a00"+"aabbccddeeff00"+"03000000"+"2f6100")
	entries := readAll(t, rec, tpmhost.AlgSHA1)
	if len(entries) != 1 {
		t.Fatalf("%d entries", len(entries))
	}
	e := &entries[0]
	algo, d, _ := e.FileDigest()
	if e.PCR != 10 || e.Template != "ima-ng" || algo != "sha1" || hex.EncodeToString(d) != "aabbccddeeff00" || e.FileName() != "/a" ||
		len(e.Data) != 24 || e.Offset != 0 || e.Seq != 0 {
		t.Errorf("decoded %+v (algo %s digest %x name %q)", e, algo, d, e.FileName())
	}
	if got := tpmhost.AppendIMAEntry(nil, e); !bytes.Equal(got, rec) {
		t.Errorf("re-encoded\n%x\nwant\n%x", got, rec)
	}
	// The legacy template: d [20] | n length | n, hashed with n padded.
	leg := tpmhost.IMAEntry{PCR: 10, Digest: make([]byte, 20), Template: "ima",
		Fields: [][]byte{bytes.Repeat([]byte{7}, 20), []byte("/bin/sh")}}
	b := tpmhost.AppendIMAEntry(nil, &leg)
	if want := 4 + 20 + 4 + 3 + 20 + 4 + 7; len(b) != want {
		t.Fatalf("legacy record %d bytes, want %d", len(b), want)
	}
	got := readAll(t, b, tpmhost.AlgSHA1)[0]
	if len(got.Data) != 276 || got.FileName() != "/bin/sh" || !bytes.Equal(got.Data[20:27], []byte("/bin/sh")) {
		t.Errorf("legacy data %d bytes, name %q", len(got.Data), got.FileName())
	}
}

// TestIMAHostile: every truncation of a real list and a set of broken
// lengths are refused with an *IMALogError naming the field, never a panic
// or a huge allocation.
func TestIMAHostile(t *testing.T) {
	data := imaFile(t, "ibmtss-imatest.log")
	for n := 1; n < len(data); n++ {
		rd, _ := tpmhost.NewIMAReader(bytes.NewReader(data[:n]), tpmhost.AlgSHA1)
		var err error
		for err == nil {
			_, err = rd.Next()
		}
		var le *tpmhost.IMALogError
		if err == io.EOF {
			continue // cut on an entry boundary
		}
		if !errors.As(err, &le) || le.Offset > int64(n) {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
	head := unhex(t, "0a000000"+strings.Repeat("11", 20))
	for name, rec := range map[string][]byte{
		"template name length 0":    append(bytes.Clone(head), unhex(t, "00000000")...),
		"template name length huge": append(bytes.Clone(head), unhex(t, "ffffffff")...),
		"template data length huge": append(bytes.Clone(head), unhex(t, "06000000696d612d6e67ffffff7f")...),
		"field length beyond data":  append(bytes.Clone(head), unhex(t, "06000000696d612d6e6708000000ff00000000000000")...),
		"field count of ima-ng":     append(bytes.Clone(head), unhex(t, "06000000696d612d6e670400000000000000")...),
		"legacy name too long":      append(bytes.Clone(head), unhex(t, "03000000696d61"+strings.Repeat("00", 20)+"00010000")...),
		"big-endian PCR":            unhex(t, "0000000a"+strings.Repeat("11", 20)+"03000000"),
	} {
		rd, _ := tpmhost.NewIMAReader(bytes.NewReader(rec), tpmhost.AlgSHA1)
		_, err := rd.Next()
		var le *tpmhost.IMALogError
		if !errors.As(err, &le) {
			t.Errorf("%s: %v, want an *IMALogError", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// TestIMAOpenFIFO: a named pipe where the list should be is refused at once,
// not read forever.
func TestIMAOpenFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip(err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := tpmhost.OpenIMALog(p); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OpenIMALog blocked on a FIFO")
	}
}

// TestIMAGeneratedBootAggregate: a generated list whose boot_aggregate
// covers the bundled boot log's replayed PCR 0..9 passes the check against
// that replay; one PCR changed, it fails; a list made without a TPM is
// recognised as such. The generated list replays the same through
// OpenIMALog's detection.
func TestIMAGeneratedBootAggregate(t *testing.T) {
	l, err := tpmhost.ReadEventLog(testutil.Data("eventlogs", "ubuntu_2104_shielded_vm_no_secure_boot_eventlog"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := l.Replay(tpmhost.AlgSHA256)
	if err != nil {
		t.Fatal(err)
	}
	boot := imagen.BootPCRs(rep)
	o := imagen.Options{Entries: 500, BootPCRs: boot, Seed: 1, SigEvery: 7, ViolationEvery: 100}
	path := filepath.Join(t.TempDir(), "ima")
	if err := imagen.WriteFile(path, o); err != nil {
		t.Fatal(err)
	}
	file, rd, err := tpmhost.OpenIMALog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	first, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	pcr := func(b tpmhost.Alg, i int) []byte {
		if b != tpmhost.AlgSHA256 {
			return nil
		}
		return rep.Value(i)
	}
	ba, err := tpmhost.CheckBootAggregate(first, pcr)
	if err != nil || !ba.OK || ba.PCRMax != 9 {
		t.Fatalf("boot aggregate %+v %v", ba, err)
	}
	bad := func(b tpmhost.Alg, i int) []byte {
		v := bytes.Clone(pcr(b, i))
		if i == 4 {
			v[0] ^= 1
		}
		return v
	}
	if ba, err := tpmhost.CheckBootAggregate(first, bad); err != nil || ba.OK {
		t.Errorf("boot aggregate with PCR 4 changed: %+v %v", ba, err)
	}
	n, viol := 1, 0
	for {
		e, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Violation() {
			viol++
		}
		n++
	}
	if n != 501 || viol != 5 {
		t.Errorf("%d entries, %d violations", n, viol)
	}
	crd, _ := tpmhost.NewIMAReader(bytes.NewReader(imaFile(t, "charra-binary_runtime_measurements")), tpmhost.AlgSHA1)
	noTPM, err := crd.Next()
	if err != nil {
		t.Fatal(err)
	}
	if ba, err := tpmhost.CheckBootAggregate(noTPM, pcr); err != nil || !ba.NoTPM {
		t.Errorf("charra's boot_aggregate: %+v %v", ba, err)
	}
}

// FuzzIMALog: any input parses to entries or an *IMALogError; every entry
// parsed re-encodes to exactly the bytes it came from, prints, hashes and
// goes through the boot-aggregate check without a panic.
func FuzzIMALog(f *testing.F) {
	for _, name := range []string{"ibmtss-imatest.log", "ibmtss-sha256.log", "gta-ima-sha256.bin", "charra-binary_runtime_measurements"} {
		b := imaFile(f, name)
		f.Add(b[:min(len(b), 4096)], name == "ibmtss-sha256.log" || name == "gta-ima-sha256.bin")
	}
	f.Fuzz(func(t *testing.T, data []byte, sha256List bool) {
		alg := tpmhost.AlgSHA1
		if sha256List {
			alg = tpmhost.AlgSHA256
		}
		rd, _ := tpmhost.NewIMAReader(bytes.NewReader(data), alg)
		p, _ := tpmhost.NewIMAReplayer(alg, tpmhost.AlgSHA1, tpmhost.AlgSHA256)
		w := bufio.NewWriter(io.Discard)
		for {
			start := rd.Offset()
			e, err := rd.Next()
			if err == io.EOF {
				if start != int64(len(data)) {
					t.Fatalf("EOF at %d of %d", start, len(data))
				}
				return
			}
			if err != nil {
				var le *tpmhost.IMALogError
				if !errors.As(err, &le) {
					t.Fatalf("error %T %v", err, err)
				}
				return
			}
			if got := tpmhost.AppendIMAEntry(nil, e); !bytes.Equal(got, data[start:rd.Offset()]) {
				t.Fatalf("entry %d re-encodes to\n%x\nfrom\n%x", e.Seq, got, data[start:rd.Offset()])
			}
			if d := tpmhost.IMATemplateData(e.Template, e.Fields); !bytes.Equal(d, e.Data) {
				t.Fatalf("entry %d: template data rebuilt differently", e.Seq)
			}
			tpmhost.WriteIMAEntry(w, e)
			if err := p.Extend(e); err != nil {
				t.Fatal(err)
			}
			tpmhost.CheckBootAggregate(e, func(tpmhost.Alg, int) []byte { return make([]byte, 32) })
		}
	})
}
