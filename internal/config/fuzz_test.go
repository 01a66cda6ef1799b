package config

import "testing"

func FuzzParseTNCConfig(f *testing.F) {
	f.Add([]byte("#IMC-Configuration\nIMC \"OS\" /usr/lib/imc-os.wasm\nIMV \"x\" /y\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		imcs, err := ParseTNCConfig(in)
		if err != nil {
			return
		}
		for _, m := range imcs {
			if m.Name == "" || m.Path == "" {
				t.Fatalf("entry %+v", m)
			}
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(fullConfig))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Parse(in)
		if err == nil {
			c.Apply(Overrides{})
			c.Validate()
		}
	})
}
