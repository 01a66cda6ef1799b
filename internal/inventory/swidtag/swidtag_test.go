package swidtag

import (
	"os"
	"strings"
	"testing"
)

const realTag = "../testdata/swidtag/usr/share/swidtag/invalid.unavailable/bash-4.4.23-4.fc30.x86_64.swidtag"

// A real rpm2swidtag tag (Fedora 30 bash, see ../testdata/README.md).
func TestParseRealTag(t *testing.T) {
	b, err := os.ReadFile(realTag)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := Parse(b)
	if !ok || g != (Tag{"unavailable.invalid.bash-4.4.23-4.fc30.x86_64", "invalid.unavailable", "bash", "4.4.23-4.fc30.x86_64"}) {
		t.Fatalf("%+v %v", g, ok)
	}
	// Cut anywhere before its root element closes, it is not a tag.
	end := strings.LastIndex(string(b), "</SoftwareIdentity>")
	for _, n := range []int{0, 1, 100, 600, len(b) / 2, end} {
		if g, ok := Parse(b[:n]); ok {
			t.Fatalf("%d of %d bytes: %+v", n, len(b), g)
		}
	}
}

func TestParseGolden(t *testing.T) {
	// The tag creator is the first Entity whose roles include tagCreator.
	in := `<SoftwareIdentity tagId="t1" name="n" version="1.0">` +
		`<Entity regid="a.example" role="softwareCreator"/>` +
		`<Entity regid="b.example" role="licensor  tagCreator"/>` +
		`<Entity regid="c.example" role="tagCreator"/></SoftwareIdentity>`
	if g, ok := Parse([]byte(in)); !ok || g != (Tag{"t1", "b.example", "n", "1.0"}) {
		t.Fatalf("%+v %v", g, ok)
	}
	for name, in := range map[string]string{
		"no tagId":       `<SoftwareIdentity name="n"/>`,
		"empty tagId":    `<SoftwareIdentity tagId=""/>`,
		"another root":   `<SoftwareIdentityX tagId="t"/>`,
		"not closed":     `<SoftwareIdentity tagId="t">`,
		"not XML":        `not a tag`,
		"empty":          ``,
		"bad entity ref": `<SoftwareIdentity tagId="&bogus;"/>`,
	} {
		if g, ok := Parse([]byte(in)); ok {
			t.Errorf("%s: %+v", name, g)
		}
	}
}

// Parse never panics; a tag it accepts has a tagId.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(realTag); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`<SoftwareIdentity tagId="t1" name="n" version="1.0"><Entity regid="r" role="tagCreator"/></SoftwareIdentity>`))
	f.Fuzz(func(t *testing.T, in []byte) {
		if tag, ok := Parse(in); ok && tag.TagID == "" {
			t.Fatal("a tag without a tagId")
		}
	})
}
