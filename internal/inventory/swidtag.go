package inventory

import (
	"encoding/xml"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
// (no tagId) is skipped; a missing directory is no tags.
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
		t, ok := ParseSWIDTag(b)
		if !ok {
			continue
		}
		total += len(b)
		t.Path, t.XML = rel, b
		out = append(out, t)
	}
	return out, nil
}

// ParseSWIDTag reads tagId, name, version and the tag creator's regid of a
// SWID tag (ISO/IEC 19770-2:2015 SoftwareIdentity element).
func ParseSWIDTag(b []byte) (SWIDTag, bool) {
	var doc struct {
		XMLName xml.Name `xml:"SoftwareIdentity"`
		TagID   string   `xml:"tagId,attr"`
		Name    string   `xml:"name,attr"`
		Version string   `xml:"version,attr"`
		Entity  []struct {
			RegID string `xml:"regid,attr"`
			Role  string `xml:"role,attr"`
		} `xml:"Entity"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil || doc.TagID == "" {
		return SWIDTag{}, false
	}
	t := SWIDTag{TagID: doc.TagID, Name: doc.Name, Version: doc.Version}
	for _, e := range doc.Entity {
		for _, r := range strings.Fields(e.Role) {
			if r == "tagCreator" && t.RegID == "" {
				t.RegID = e.RegID
			}
		}
	}
	return t, true
}
