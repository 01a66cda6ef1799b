// Package swidtag reads the identity of an ISO/IEC 19770-2:2015 SWID tag
// file. It imports the standard library only, so that its fuzz target runs
// at full speed (inside internal/inventory, whose instrumented build
// carries the pure-Go SQLite, it did not).
package swidtag

import (
	"encoding/xml"
	"strings"
)

// Tag is what Parse reads of one SWID tag.
type Tag struct {
	TagID   string // SoftwareIdentity tagId, never ""
	RegID   string // regid of the first Entity whose role includes tagCreator
	Name    string // SoftwareIdentity name
	Version string // SoftwareIdentity version
}

// Parse reads tagId, name, version and the tag creator's regid of a SWID
// tag (the SoftwareIdentity element of ISO/IEC 19770-2:2015, in any
// namespace). A document that is not well-formed XML, whose root is not
// SoftwareIdentity or that has no tagId is not a tag: ok is false.
func Parse(b []byte) (t Tag, ok bool) {
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
		return Tag{}, false
	}
	t = Tag{TagID: doc.TagID, Name: doc.Name, Version: doc.Version}
	for _, e := range doc.Entity {
		for _, r := range strings.Fields(e.Role) {
			if r == "tagCreator" && t.RegID == "" {
				t.RegID = e.RegID
			}
		}
	}
	return t, true
}
