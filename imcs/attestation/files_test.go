//go:build !wasip1

package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/imchost/imchost/sdk/imctest"
)

// TestFileRequests: Request File Measurement and Request File Metadata
// answered as strongSwan's IMC does (PTS IF-M Binding §3.17, §3.19: the layouts of
// the 6.0.6 probes), through the host's allowlist: a file, a directory (its regular,
// non-hidden files in directory order), metadata; a path outside the
// allowlist, a symbolic link leading out of it and a FIFO inside it are
// File Not Found with the request as information; a bad delimiter is
// Invalid Delimiter; a relative path Invalid Path.
func TestFileRequests(t *testing.T) {
	root := t.TempDir()
	allowed := filepath.Join(root, "allowed")
	os.MkdirAll(filepath.Join(allowed, "sub"), 0o755)
	content := []byte("file contents\n")
	fm := filepath.Join(allowed, "fm.txt")
	os.WriteFile(fm, content, 0o644)
	os.WriteFile(filepath.Join(allowed, "b.txt"), []byte("b"), 0o644)
	os.WriteFile(filepath.Join(allowed, ".hidden"), []byte("h"), 0o644)
	secret := filepath.Join(root, "secret")
	os.WriteFile(secret, []byte("not for the IMC"), 0o600)
	os.Symlink(secret, filepath.Join(allowed, "escape"))
	if err := syscall.Mkfifo(filepath.Join(allowed, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := imctest.New(t, newAttestation(), imctest.Options{ID: imcID, Name: "Attestation", Logger: testLogger(t),
		Files: []string{allowed}})
	h.Start()

	req := func(typ uint32, value []byte) string {
		attr := binary.BigEndian.AppendUint32([]byte{0x80, 0, 0x55, 0x97}, typ)
		attr = binary.BigEndian.AppendUint32(attr, uint32(12+len(value)))
		return "01000000 a1b2c3d4 " + hex.EncodeToString(append(attr, value...))
	}
	measReq := func(dir bool, id uint16, delim uint32, path string) []byte {
		v := []byte{0, 0}
		if dir {
			v[0] = 0x80
		}
		v = binary.BigEndian.AppendUint16(v, id)
		v = binary.BigEndian.AppendUint32(v, delim)
		return append(v, path...)
	}
	one := func(in string) string {
		t.Helper()
		got := replyBodies(t, h, rawMessage(t, in))
		if len(got) != 1 {
			t.Fatalf("%d replies", len(got))
		}
		return attrsAfterHeader(t, got[0])
	}
	tcgErr := func(code uint32, info []byte) string {
		return fmt.Sprintf("00000000 00000008 %08x 00005597 %08x %x", 12+8+len(info), code, info)
	}
	sum := sha256.Sum256(content)

	// A file: count 1, request ID 7, measurement length 32, digest, name.
	want := fmt.Sprintf("80005597 00d00000 %08x 0000000000000001 0007 0020 %x 0006 %x", 12+8+4+32+2+6, sum, "fm.txt")
	if got := one(req(0x00c00000, measReq(false, 7, '/', fm))); got != strings.ReplaceAll(want, " ", "") {
		t.Fatalf("file measurement\n got %s\nwant %s", got, want)
	}
	// A directory: fm.txt and b.txt in directory order; not .hidden, sub,
	// the link or the FIFO.
	got := one(req(0x00c00000, measReq(true, 8, '/', allowed)))
	v, _ := hex.DecodeString(got[24:])
	var names []string
	for off := 12; off < len(v); {
		n := int(binary.BigEndian.Uint16(v[off+32:]))
		names = append(names, string(v[off+34:off+34+n]))
		off += 34 + n
	}
	if binary.BigEndian.Uint64(v) != 2 || len(names) != 2 || !(names[0] == "fm.txt" && names[1] == "b.txt" || names[0] == "b.txt" && names[1] == "fm.txt") {
		t.Fatalf("directory measurement %x: %v", v, names)
	}
	// Outside, escaping link, FIFO: File Not Found with the request value.
	for _, p := range []string{secret, filepath.Join(allowed, "escape"), filepath.Join(allowed, "fifo"), filepath.Join(allowed, "none")} {
		r := measReq(false, 9, '/', p)
		if got := one(req(0x00c00000, r)); got != strings.ReplaceAll(tcgErr(3, r), " ", "") {
			t.Errorf("%s: %s", p, got)
		}
	}
	r := measReq(false, 9, '*', fm)
	if got := one(req(0x00c00000, r)); got != strings.ReplaceAll(tcgErr(10, r), " ", "") {
		t.Errorf("delimiter *: %s", got)
	}
	r = measReq(false, 9, '/', "allowed/fm.txt")
	if got := one(req(0x00c00000, r)); got != strings.ReplaceAll(tcgErr(2, r), " ", "") {
		t.Errorf("relative path: %s", got)
	}

	// Metadata of the file: count 1, entry length 58, type 8, size, times,
	// owner, group, name.
	st, _ := os.Stat(fm)
	sys := st.Sys().(*syscall.Stat_t)
	got = one(req(0x00700000, append([]byte{0, '/', 0, 0}, fm...)))
	want = fmt.Sprintf("80005597 00900000 %08x 0000000000000001 003a 08 00 %016x %016x %016x %016x %016x %016x %x",
		12+8+58, 14, sys.Ctim.Sec, sys.Mtim.Sec, sys.Atim.Sec, sys.Uid, sys.Gid, "fm.txt")
	if got != strings.ReplaceAll(want, " ", "") {
		t.Fatalf("metadata\n got %s\nwant %s", got, strings.ReplaceAll(want, " ", ""))
	}
	r = append([]byte{0, '/', 0, 0}, secret...)
	if got := one(req(0x00700000, r)); got != strings.ReplaceAll(tcgErr(3, r), " ", "") {
		t.Errorf("metadata outside: %s", got)
	}
}
