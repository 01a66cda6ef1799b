package inventory

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The SWID tags under usr/share/swidtag: a real rpm2swidtag tag is read
// with its tagId, tag creator, name and version; a file that is not a tag
// is skipped; a missing directory is no tags.
func TestReadSWIDTags(t *testing.T) {
	tags, err := ReadSWIDTags("testdata/swidtag")
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 1 {
		t.Fatalf("%d tags: %+v", len(tags), tags)
	}
	g := tags[0]
	if g.TagID != "unavailable.invalid.bash-4.4.23-4.fc30.x86_64" || g.RegID != "invalid.unavailable" ||
		g.Name != "bash" || g.Version != "4.4.23-4.fc30.x86_64" || len(g.XML) != 20621 ||
		g.Path != "usr/share/swidtag/invalid.unavailable/bash-4.4.23-4.fc30.x86_64.swidtag" {
		t.Fatalf("tag %+v", g)
	}
	if tags, err := ReadSWIDTags(t.TempDir()); err != nil || tags != nil {
		t.Fatalf("no directory: %v %v", tags, err)
	}
}

// A FIFO named like a tag is skipped at once, not waited on.
func TestReadSWIDTagsSkipsFIFO(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, SWIDTagDir)
	os.MkdirAll(dir, 0o755)
	if err := syscall.Mkfifo(filepath.Join(dir, "x.swidtag"), 0o600); err != nil {
		t.Skip(err)
	}
	if tags, err := ReadSWIDTags(root); err != nil || len(tags) != 0 {
		t.Fatalf("%v %v", tags, err)
	}
}
