package capability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imchost/imchost/abi"
)

// TestFileFunctionsBounds: a directory with more than abi.MaxFiles entries
// is refused as too large; a measurement past the call's deadline stops
// with a failure; a link to a directory outside the allowlist does not lead
// out of it; a relative allowlist entry is refused.
func TestFileFunctionsBounds(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	os.Mkdir(big, 0o755)
	for i := 0; i <= abi.MaxFiles; i++ {
		os.WriteFile(filepath.Join(big, fmt.Sprintf("f%04d", i)), nil, 0o644)
	}
	outside := filepath.Join(dir, "outside")
	os.Mkdir(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "x"), []byte("x"), 0o644)
	allowed := filepath.Join(dir, "allowed")
	os.Mkdir(allowed, 0o755)
	os.Symlink(outside, filepath.Join(allowed, "link"))
	os.WriteFile(filepath.Join(allowed, "data"), make([]byte, 8<<20), 0o644)

	s := NewSession(SessionConfig{IMCID: 1, Files: []string{big, allowed}})
	call := func(ctx context.Context, fn string, r abi.FileRequest) abi.Status {
		_, st := s.CallContext(ctx, fn, abi.AppendFileRequest(nil, r))
		return st
	}
	bg := context.Background()
	if st := call(bg, abi.FnFileMeasure, abi.FileRequest{HashAlg: abi.AlgSHA256, Directory: true, Path: big}); st != abi.StatusTooLarge {
		t.Errorf("directory of %d entries: status %d", abi.MaxFiles+1, st)
	}
	if st := call(bg, abi.FnFileMetadata, abi.FileRequest{Directory: true, Path: big}); st != abi.StatusTooLarge {
		t.Errorf("metadata of %d entries: status %d", abi.MaxFiles+1, st)
	}
	for _, p := range []string{filepath.Join(allowed, "link", "x"), filepath.Join(allowed, "link")} {
		if st := call(bg, abi.FnFileMeasure, abi.FileRequest{HashAlg: abi.AlgSHA256, Path: p}); st != abi.StatusNotFound {
			t.Errorf("%s through a link out of the allowlist: status %d", p, st)
		}
	}
	if st := call(bg, abi.FnFileMeasure, abi.FileRequest{HashAlg: abi.AlgSHA256, Path: allowed + "/../outside/x"}); st != abi.StatusInvalid {
		t.Errorf("a path with ..: status %d", st)
	}
	ctx, cancel := context.WithDeadline(bg, time.Now().Add(-time.Second))
	defer cancel()
	if st := call(ctx, abi.FnFileMeasure, abi.FileRequest{HashAlg: abi.AlgSHA256, Path: filepath.Join(allowed, "data")}); st != abi.StatusFailed {
		t.Errorf("past the deadline: status %d", st)
	}
	if st := call(bg, abi.FnFileMeasure, abi.FileRequest{HashAlg: abi.AlgSHA256, Path: filepath.Join(allowed, "data")}); st != abi.StatusOK {
		t.Errorf("8 MiB file: status %d", st)
	}
	if err := CheckFilesAllowlist([]string{"etc/ssh"}); err == nil {
		t.Error("a relative files entry was accepted")
	}
}
