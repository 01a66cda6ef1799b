package inventory

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/imchost/imchost/internal/inventory/swidtag"
)

// SWIDTagDir is where distributions and vendors install ISO/IEC 19770-2
// SWID tag files (one directory per tag creator's regid).
const SWIDTagDir = "usr/share/swidtag"

// Limits of ReadSWIDTags.
const (
	maxSWIDTags     = 1000
	maxSWIDTagFile  = 1 << 20
	maxSWIDTagBytes = 16 << 20
)

// SWIDTag is one SWID tag file.
type SWIDTag struct {
	Path    string // relative to the root
	TagID   string // SoftwareIdentity tagId
	RegID   string // regid of the Entity whose role includes tagCreator
	Name    string // SoftwareIdentity name
	Version string // SoftwareIdentity version
	XML     []byte // the file
}

// ReadSWIDTags reads the *.swidtag files of root/usr/share/swidtag and its
// subdirectories (one level), in name order. A file that is not a SWID tag
// (swidtag.Parse) is skipped; a missing directory is no tags.
func ReadSWIDTags(root string) ([]SWIDTag, error) {
	base := filepath.Join(root, SWIDTagDir)
	var files []string
	ents, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		switch {
		case e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".swidtag"):
			files = append(files, e.Name())
		case e.IsDir():
			sub, err := os.ReadDir(filepath.Join(base, e.Name()))
			if err != nil {
				continue
			}
			for _, s := range sub {
				if s.Type().IsRegular() && strings.HasSuffix(s.Name(), ".swidtag") {
					files = append(files, e.Name()+"/"+s.Name())
				}
			}
		}
		if len(files) >= maxSWIDTags {
			break
		}
	}
	sort.Strings(files)
	var out []SWIDTag
	total := 0
	for _, f := range files {
		if len(out) == maxSWIDTags {
			break
		}
		rel := SWIDTagDir + "/" + f
		b, err := readFile(root, rel, maxSWIDTagFile)
		if err != nil || total+len(b) > maxSWIDTagBytes {
			continue
		}
		t, ok := swidtag.Parse(b)
		if !ok {
			continue
		}
		total += len(b)
		out = append(out, SWIDTag{Path: rel, TagID: t.TagID, RegID: t.RegID, Name: t.Name, Version: t.Version, XML: b})
	}
	return out, nil
}
