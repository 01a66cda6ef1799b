package pdp

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoreFileRefs(t *testing.T) { engines(t, testStoreFileRefs) }

// testStoreFileRefs: reference digests and learned IMA measurements survive
// a reopen, duplicates are kept once, lookups by many paths work across
// the query chunks.
func testStoreFileRefs(t *testing.T, open func() Store) {
	ctx := context.Background()
	s := open()
	var refs []FileRef
	for i := 0; i < 450; i++ {
		refs = append(refs, FileRef{Path: "/usr/bin/f" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Algo: "sha256",
			Digest: bytes.Repeat([]byte{byte(i)}, 32), Source: "import:test"})
	}
	refs = append(refs, FileRef{Path: "/usr/bin/faa", Algo: "sha1", Digest: bytes.Repeat([]byte{9}, 20), Source: "import:test"})
	if err := s.AddFileRefs(ctx, refs); err != nil {
		t.Fatal(err)
	}
	if err := s.AddFileRefs(ctx, refs[:10]); err != nil {
		t.Fatalf("adding known references again: %v", err)
	}
	dev, err := s.AddDevice(ctx, "0123456789012345678901234567890123456789", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddIMARefs(ctx, dev.ID, MeasSHA256, []IMARef{{Path: "/a", Measurement: []byte{1}}, {Path: "/a", Measurement: []byte{2}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddIMARefs(ctx, dev.ID, MeasSHA256, []IMARef{{Path: "/a", Measurement: []byte{1}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open()
	defer s.Close()
	var paths []string
	for _, r := range refs {
		paths = append(paths, r.Path)
	}
	got, err := s.FileRefs(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rs := range got {
		n += len(rs)
	}
	if n != len(refs) || len(got["/usr/bin/faa"]) != 2 {
		t.Fatalf("%d references back (want %d), /usr/bin/faa %v", n, len(refs), got["/usr/bin/faa"])
	}
	ima, err := s.IMARefs(ctx, dev.ID, MeasSHA256)
	if err != nil || len(ima["/a"]) != 2 {
		t.Fatalf("learned %v %v", ima, err)
	}
	if other, _ := s.IMARefs(ctx, dev.ID, MeasSHA1); len(other) != 0 {
		t.Fatalf("another bank: %v", other)
	}
}

// TestReadFileRefs: both line forms, comments; broken lines are refused
// with the line number.
func TestReadFileRefs(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "refs")
	os.WriteFile(good, []byte("# comment\n\n"+strings.Repeat("ab", 32)+"  /usr/bin/bash\nsha1:"+strings.Repeat("cd", 20)+" /bin/sh\n"+
		strings.Repeat("ef", 32)+" */usr/bin/bin mode\n"), 0o600)
	refs, err := ReadFileRefs(good)
	if err != nil || len(refs) != 3 || refs[0].Algo != "sha256" || refs[1].Algo != "sha1" || refs[1].Path != "/bin/sh" || refs[2].Path != "/usr/bin/bin mode" {
		t.Fatalf("%+v %v", refs, err)
	}
	for _, bad := range []string{"zz  /x\n", strings.Repeat("ab", 31) + " /x\n", "sha256:" + strings.Repeat("ab", 20) + " /x\n", strings.Repeat("ab", 32) + " relative\n"} {
		p := filepath.Join(dir, "bad")
		os.WriteFile(p, []byte("# ok\n"+bad), 0o600)
		if _, err := ReadFileRefs(p); err == nil || !strings.Contains(err.Error(), ":2:") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
