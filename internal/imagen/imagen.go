// Package imagen makes synthetic binary IMA measurement lists for tests and
// benchmarks: a boot_aggregate over given boot PCRs, then ima-ng and
// ima-sig entries of made-up files, in the kernel's binary layout with
// correct template digests.
package imagen

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/imchost/imchost/tpmhost"
)

// Options shape a generated list.
type Options struct {
	// Entries is the number of entries after boot_aggregate.
	Entries int
	// BootPCRs are PCR 0..9 of the sha256 bank the boot_aggregate covers
	// (nil: all zeros, "no TPM").
	BootPCRs [][]byte
	// Seed makes the file contents, and so the digests, reproducible.
	Seed uint64
	// SigEvery makes every n-th entry an ima-sig entry with a signature
	// (0: none).
	SigEvery int
	// ViolationEvery makes every n-th entry a violation (0: none).
	ViolationEvery int
	// Prefix starts every file name ("/usr/bin/f" by default).
	Prefix string
}

// FileDigest returns the sha256 "content" digest of entry i (1-based) of a
// list made with seed: what a reference store must hold for that file.
func FileDigest(seed uint64, i int) []byte {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(i))
	s := sha256.Sum256(b[:])
	return s[:]
}

// FileName returns the name of entry i (1-based).
func (o Options) FileName(i int) string {
	p := o.Prefix
	if p == "" {
		p = "/usr/bin/f"
	}
	return fmt.Sprintf("%s%07d", p, i)
}

// Entry returns entry i (0 = boot_aggregate) with its template digest
// (sha1, as in binary_runtime_measurements).
func (o Options) Entry(i int) *tpmhost.IMAEntry {
	var e *tpmhost.IMAEntry
	if i == 0 {
		h := sha256.New()
		for p := 0; p <= 9; p++ {
			if p < len(o.BootPCRs) {
				h.Write(o.BootPCRs[p])
			} else {
				h.Write(make([]byte, 32))
			}
		}
		d := h.Sum(nil)
		if o.BootPCRs == nil {
			d = make([]byte, 32)
		}
		e = &tpmhost.IMAEntry{Template: "ima-ng", Fields: [][]byte{dng(d), []byte("boot_aggregate\x00")}}
	} else {
		e = &tpmhost.IMAEntry{Template: "ima-ng",
			Fields: [][]byte{dng(FileDigest(o.Seed, i)), []byte(o.FileName(i) + "\x00")}}
		if o.SigEvery > 0 && i%o.SigEvery == 0 {
			r := rand.New(rand.NewPCG(o.Seed, uint64(i)))
			sig := make([]byte, 9+64)
			sig[0], sig[1] = 3, 2 // EVM_IMA_XATTR_DIGSIG, signature v2
			for j := 2; j < len(sig); j++ {
				sig[j] = byte(r.Uint32())
			}
			e.Template = "ima-sig"
			e.Fields = append(e.Fields, sig)
		}
	}
	e.PCR = tpmhost.IMAPCR
	e.Data = tpmhost.IMATemplateData(e.Template, e.Fields)
	if i > 0 && o.ViolationEvery > 0 && i%o.ViolationEvery == 0 {
		e.Digest = make([]byte, 20)
	} else {
		d := sha1.Sum(e.Data)
		e.Digest = d[:]
	}
	return e
}

func dng(d []byte) []byte { return append([]byte("sha256:\x00"), d...) }

// Write writes the list to w.
func Write(w io.Writer, o Options) error {
	var b []byte
	for i := 0; i <= o.Entries; i++ {
		b = tpmhost.AppendIMAEntry(b, o.Entry(i))
		if len(b) > 32<<10 || i == o.Entries {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	return nil
}

// WriteFile writes the list to a new file at path (mode 0644).
func WriteFile(path string, o Options) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := Write(f, o); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// BootPCRs are PCRs 0 to 9 of r, a sha256 replay of a boot event log: the
// Options.BootPCRs of a list whose boot_aggregate matches that log.
func BootPCRs(r *tpmhost.Replay) [][]byte {
	out := make([][]byte, 10)
	for i := range out {
		out[i] = r.Value(i)
	}
	return out
}
