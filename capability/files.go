package capability

// The files family: file_measure and file_metadata, inside the IMC's files
// allowlist only.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/tpmhost"
)

// maxFileBytes bounds what one file_measure call reads, all files together;
// the call's deadline bounds its time.
const maxFileBytes = 1 << 30

// errOutside is a path outside the IMC's file allowlist: answered like a
// missing file, so that the allowlist does not tell what exists.
var errOutside = fmt.Errorf("%w: outside the IMC's files allowlist", ErrNotFound)

// CheckFilesAllowlist validates a `files` allowlist: absolute, clean paths.
func CheckFilesAllowlist(files []string) error {
	for _, f := range files {
		if !filepath.IsAbs(f) || filepath.Clean(f) != f {
			return fmt.Errorf("files entry %q is not an absolute, clean path", f)
		}
	}
	return nil
}

// inAllowlist reports whether p is an allowlist entry or lies under one.
func inAllowlist(files []string, p string) bool {
	for _, f := range files {
		if p == f || f == "/" || strings.HasPrefix(p, f+"/") {
			return true
		}
	}
	return false
}

// allowedPath checks a requested path: absolute and clean, inside the
// allowlist, and still inside once its symbolic links are resolved (a link
// must not lead out). It returns the resolved path.
func (s *Session) allowedPath(fn, p string) (string, error) {
	if len(p) > abi.MaxFilePathLen || !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return "", fail(fn, abi.StatusInvalid, fmt.Errorf("%q is not an absolute, clean path", p))
	}
	if !inAllowlist(s.c.Files, p) {
		return "", errOutside
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return "", fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		return "", fail(fn, abi.StatusFailed, err)
	}
	if !inAllowlist(s.c.Files, real) {
		return "", errOutside
	}
	return real, nil
}

// fileMeasure implements file_measure: the digest of a regular file, or of
// every regular, non-hidden file of a directory (not recursive, directory
// order, symbolic links skipped), as strongSwan's IMC measures them.
func (s *Session) fileMeasure(ctx context.Context, in []byte) ([]byte, error) {
	req, err := abi.ParseFileRequest(in)
	if err != nil {
		return nil, err
	}
	h, err := newHash(req.HashAlg)
	if err != nil {
		return nil, err
	}
	p, err := s.allowedPath(abi.FnFileMeasure, req.Path)
	if err != nil {
		return nil, err
	}
	budget := int64(maxFileBytes)
	measure := func(path string) ([]byte, error) {
		f, err := tpmhost.OpenRegularFile(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		h.Reset()
		buf := make([]byte, 1<<20)
		for {
			if err := ctx.Err(); err != nil {
				return nil, fail(abi.FnFileMeasure, abi.StatusFailed, fmt.Errorf("measuring %s: %w", path, err))
			}
			n, err := f.Read(buf)
			budget -= int64(n)
			if budget < 0 {
				return nil, fail(abi.FnFileMeasure, abi.StatusTooLarge, fmt.Errorf("more than %d bytes to measure", maxFileBytes))
			}
			h.Write(buf[:n])
			if err == io.EOF {
				return h.Sum(nil), nil
			}
			if err != nil {
				return nil, err
			}
		}
	}
	var out []abi.FileDigest
	if !req.Directory {
		d, err := measure(p)
		if err != nil {
			return nil, s.fileErr(abi.FnFileMeasure, err)
		}
		out = append(out, abi.FileDigest{Name: filepath.Base(req.Path), Digest: d})
		return abi.AppendFileDigests(nil, out), nil
	}
	ents, err := readDirBounded(abi.FnFileMeasure, p)
	if err != nil {
		return nil, s.fileErr(abi.FnFileMeasure, err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		d, err := measure(filepath.Join(p, e.Name()))
		if err != nil {
			var ce *CallError
			if errors.As(err, &ce) {
				return nil, err
			}
			continue // vanished or unreadable meanwhile: left out
		}
		out = append(out, abi.FileDigest{Name: e.Name(), Digest: d})
	}
	return abi.AppendFileDigests(nil, out), nil
}

// fileMetadata implements file_metadata: lstat() of the path, or of every
// non-hidden entry of a directory.
func (s *Session) fileMetadata(_ context.Context, in []byte) ([]byte, error) {
	req, err := abi.ParseFileRequest(in)
	if err != nil {
		return nil, err
	}
	p, err := s.allowedPath(abi.FnFileMetadata, req.Path)
	if err != nil {
		return nil, err
	}
	if !req.Directory {
		st, err := os.Lstat(p)
		if err != nil {
			return nil, s.fileErr(abi.FnFileMetadata, err)
		}
		return abi.AppendFileMetas(nil, []abi.FileMeta{fileMeta(filepath.Base(req.Path), st)}), nil
	}
	ents, err := readDirBounded(abi.FnFileMetadata, p)
	if err != nil {
		return nil, s.fileErr(abi.FnFileMetadata, err)
	}
	var out []abi.FileMeta
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		st, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, fileMeta(e.Name(), st))
	}
	return abi.AppendFileMetas(nil, out), nil
}

// readDirBounded lists a directory in directory order, at most abi.MaxFiles
// entries.
func readDirBounded(fn, p string) ([]fs.DirEntry, error) {
	d, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	st, err := d.Stat()
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrNotFound, p)
	}
	ents, err := d.ReadDir(abi.MaxFiles + 1)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(ents) > abi.MaxFiles {
		return nil, fail(fn, abi.StatusTooLarge, fmt.Errorf("%s has more than %d entries", p, abi.MaxFiles))
	}
	return ents, nil
}

// fileErr maps a file error to the status the IMC turns into a PTS error.
func (s *Session) fileErr(fn string, err error) error {
	var ce *CallError
	switch {
	case errors.As(err, &ce), errors.Is(err, ErrNotFound):
		return err
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), strings.Contains(err.Error(), "not a regular file"):
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return fail(fn, abi.StatusFailed, err)
}

// fileMeta converts an lstat() result: the PTS file type is the S_IFMT
// type >> 12 (8 regular, 4 directory, 10 symlink, 1 FIFO, ...).
func fileMeta(name string, st fs.FileInfo) abi.FileMeta {
	m := abi.FileMeta{Name: name, Size: uint64(st.Size()), MTime: st.ModTime().Unix()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		m.Type = uint8((uint32(sys.Mode) & syscall.S_IFMT) >> 12)
		m.UID, m.GID = uint64(sys.Uid), uint64(sys.Gid)
		if at, ct, ok := FileTimes(st); ok {
			m.ATime, m.CTime = at.Unix(), ct.Unix()
		}
	}
	return m
}
