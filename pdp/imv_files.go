package pdp

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
)

// fileRequest is one PTS Request File Measurement the IMV sent.
type fileRequest struct {
	path string
	dir  bool
}

// fileResult is one measured file: its full path and digest.
type fileResult struct {
	req    uint16
	path   string
	digest []byte
}

// fileRequests builds the Request File Measurement attributes of the
// policy's file_measurements (a path ending in "/" is a directory), with
// request IDs from 1.
func (a *attIMV) fileRequests() []patnc.Attr {
	var out []patnc.Attr
	for i, p := range a.c.env.policy.FileMeasurements {
		dir := strings.HasSuffix(p, "/") && p != "/"
		clean := strings.TrimSuffix(p, "/")
		if clean == "" {
			clean = "/"
		}
		id := uint16(i + 1)
		if a.fileReqs == nil {
			a.fileReqs = map[uint16]fileRequest{}
		}
		a.fileReqs[id] = fileRequest{path: clean, dir: dir}
		out = append(out, patnc.WithNoSkip(&patnc.ReqFileMeas{Directory: dir, RequestID: id,
			Delimiter: patnc.DelimiterSlash, Path: clean}))
	}
	return out
}

// processFileMeas takes a File Measurement answer.
func (a *attIMV) processFileMeas(x *patnc.FileMeas) {
	r, ok := a.fileReqs[x.RequestID]
	switch {
	case !ok:
		a.fail(NonCompliantMinor, Isolate, fmt.Sprintf("file measurement for request %d that was not sent", x.RequestID))
		return
	case int(x.MeasLen) != a.algo.Size():
		a.fail(NonCompliantMinor, Isolate, fmt.Sprintf("file measurement %d has %d-byte digests, not %s", x.RequestID, x.MeasLen, a.algo))
		return
	}
	delete(a.fileReqs, x.RequestID)
	for _, f := range x.Files {
		p := r.path
		if r.dir {
			if strings.Contains(f.Name, "/") || f.Name == ".." || f.Name == "." || f.Name == "" {
				a.fail(NonCompliantMinor, Isolate, fmt.Sprintf("file measurement %d names %q", x.RequestID, f.Name))
				return
			}
			p = path.Join(r.path, f.Name)
		} else if f.Name != path.Base(r.path) {
			a.fail(NonCompliantMinor, Isolate, fmt.Sprintf("file measurement %d names %q, asked for %s", x.RequestID, f.Name, r.path))
			return
		}
		a.files = append(a.files, fileResult{req: x.RequestID, path: p, digest: append([]byte(nil), f.Digest...)})
	}
	a.log.Info(fmt.Sprintf("received file measurement %d: %d files", x.RequestID, len(x.Files)))
}

// fileNotFound handles the TCG File Not Found error for one of our
// requests (its information is the request value: flags, reserved, request
// ID, delimiter, path). It reports whether the error was ours.
func (a *attIMV) fileNotFound(x *patnc.PATNCError) bool {
	if x.Vendor != abi.PENTCG || x.Code != uint32(patnc.TCGErrFileNotFound) || len(x.Info) < 8 {
		return false
	}
	id := binary.BigEndian.Uint16(x.Info[2:])
	r, ok := a.fileReqs[id]
	if !ok {
		return false
	}
	delete(a.fileReqs, id)
	a.fileMissing = append(a.fileMissing, r.path)
	a.log.Info(fmt.Sprintf("file measurement request %d: '%s' not found on the endpoint", id, r.path))
	return true
}

// checkFiles compares the measured files with the reference digests of the
// measurement algorithm; a file without one is learned (learn) or, under
// IMAStrict, fails. It returns the failure reasons, which name the file.
func (a *attIMV) checkFiles(ctx context.Context, learn bool) ([]string, error) {
	var reasons []string
	for _, p := range a.fileMissing {
		reasons = append(reasons, "file "+p+": not found on the endpoint (or outside its allowlist)")
	}
	for id, r := range a.fileReqs {
		reasons = append(reasons, fmt.Sprintf("file measurement request %d (%s) not answered", id, r.path))
	}
	if len(a.files) == 0 {
		return reasons, nil
	}
	algo := fileAlgoName(a.algo.Size())
	var paths []string
	for _, f := range a.files {
		paths = append(paths, f.path)
	}
	refs, err := a.c.env.store.FileRefs(ctx, paths)
	if err != nil {
		return nil, err
	}
	var learned []FileRef
	ok, unknown := 0, 0
	for _, f := range a.files {
		known, match := false, false
		for _, r := range refs[f.path] {
			if r.Algo != algo {
				continue
			}
			known = true
			match = match || equalBytes(r.Digest, f.digest)
		}
		switch {
		case match:
			ok++
		case known:
			reasons = append(reasons, fmt.Sprintf("file %s: %s digest %s is not a reference digest", f.path, algo, hex.EncodeToString(f.digest)))
		case a.c.env.policy.IMAStrict:
			reasons = append(reasons, fmt.Sprintf("file %s: no reference %s digest", f.path, algo))
		default:
			unknown++
			if learn {
				learned = append(learned, FileRef{Path: f.path, Algo: algo, Digest: f.digest, Source: "learned:" + a.ak.keyID})
			}
		}
	}
	a.log.Info(fmt.Sprintf("files: %d measured, %d match a reference, %d without one", len(a.files), ok, unknown))
	if len(reasons) == 0 && len(learned) > 0 {
		if err := a.c.env.store.AddFileRefs(ctx, learned); err != nil {
			return nil, err
		}
		a.log.Info(fmt.Sprintf("files: learned %d reference digests", len(learned)))
	}
	return reasons, nil
}

// fileAlgoName names the hash of a digest size as IMA and sha256sum do.
func fileAlgoName(size int) string {
	return map[int]string{20: "sha1", 32: "sha256", 48: "sha384", 64: "sha512"}[size]
}
