package testutil

import (
	"os"
	"path/filepath"
	"sync"
)

var (
	rootOnce sync.Once
	root     string
)

// Data returns the absolute path of a fixture in the repository's shared
// testdata directory (the one beside go.mod), e.g.
// Data("eventlogs", "crypto_agile_eventlog"). Fixtures that several packages
// read are stored there once; a package's own fixtures stay in its own
// testdata directory. Data panics when the test does not run inside the
// repository, which only a broken checkout does.
func Data(elem ...string) string {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			panic("testutil: " + err.Error())
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				panic("testutil: no go.mod above the test's directory")
			}
			dir = parent
		}
	})
	return filepath.Join(append([]string{root, "testdata"}, elem...)...)
}
