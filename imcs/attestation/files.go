package main

import (
	"errors"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
	"github.com/imchost/imchost/sdk/imc"
	"github.com/imchost/imchost/sdk/patnc"
)

// TCG PTS errors of the file requests (PTS IF-M Binding §3.19.1, §4).
const (
	tcgErrInvalidPath      uint32 = 2
	tcgErrFileNotFound     uint32 = 3
	tcgErrInvalidDelimiter uint32 = 10
)

// fileAlgo is the hash of file measurements: the selected PTS measurement
// algorithm, SHA-256 before one was selected.
func (s *session) fileAlgo() uint16 {
	if s.measAlgo == 0 {
		return measSHA256
	}
	return s.measAlgo
}

// fileError maps the host's answer to the PTS error strongSwan sends: a
// path the host will not or cannot serve (missing, outside the IMC's
// allowlist, not a regular file) is File Not Found, a malformed one Invalid
// Path; both carry the request's value.
func (s *session) fileError(what, path string, err error, request []byte) error {
	var se *imc.StatusError
	if errors.As(err, &se) {
		switch se.Status {
		case abi.StatusNotFound:
			s.log.info("%s '%s' does not exist or is not accessible", what, path)
			return &tcgError{Code: tcgErrFileNotFound, Info: request}
		case abi.StatusInvalid:
			s.log.err("%s '%s' is not a valid path", what, path)
			return &tcgError{Code: tcgErrInvalidPath, Info: request}
		}
	}
	s.log.err("%s '%s': %v", what, path, err)
	return fmtlite.Errorf("attestation: %s %s: %w", what, path, err)
}

// fileMeasurement answers Request File Measurement (PTS IF-M Binding §3.19.1) through the
// host's file_measure, which serves only the IMC's allowlist.
func (s *session) fileMeasurement(r *patnc.ReqFileMeas, request []byte) (*patnc.FileMeas, error) {
	what := "file"
	if r.Directory {
		what = "directory"
	}
	if r.Delimiter != patnc.DelimiterSlash && r.Delimiter != patnc.DelimiterBackslash {
		s.log.err("invalid file delimiter 0x%08x", r.Delimiter)
		return nil, &tcgError{Code: tcgErrInvalidDelimiter, Info: request}
	}
	s.log.info("measurement request %d for %s '%s'", r.RequestID, what, r.Path)
	algo := s.fileAlgo()
	bank, _ := measTPMAlg(algo)
	files, err := s.h.FileMeasure(abi.FileRequest{HashAlg: bank, Directory: r.Directory, Path: r.Path})
	if err != nil {
		return nil, s.fileError(what, r.Path, err, request)
	}
	fm := &patnc.FileMeas{RequestID: r.RequestID, MeasLen: uint16(measSize(algo))}
	for _, f := range files {
		if len(f.Digest) != measSize(algo) {
			return nil, fmtlite.Errorf("attestation: host measured %s with %d bytes", f.Name, len(f.Digest))
		}
		fm.Files = append(fm.Files, patnc.FileMeasurement{Digest: f.Digest, Name: f.Name})
	}
	return fm, nil
}

// fileMetadata answers Request File Metadata with Unix-Style File Metadata
// through the host's file_metadata.
func (s *session) fileMetadata(r *patnc.ReqFileMeta, request []byte) (*patnc.UnixFileMeta, error) {
	what := "file"
	if r.Directory {
		what = "directory"
	}
	if r.Delimiter != '/' && r.Delimiter != '\\' {
		s.log.err("invalid file delimiter 0x%02x", r.Delimiter)
		return nil, &tcgError{Code: tcgErrInvalidDelimiter, Info: request}
	}
	s.log.info("metadata request for %s '%s'", what, r.Path)
	metas, err := s.h.FileMetadata(abi.FileRequest{Directory: r.Directory, Path: r.Path})
	if err != nil {
		return nil, s.fileError(what, r.Path, err, request)
	}
	um := &patnc.UnixFileMeta{}
	for _, m := range metas {
		um.Files = append(um.Files, patnc.FileMetadata{FileType: m.Type, Size: m.Size, Created: uint64(m.CTime),
			Modified: uint64(m.MTime), Accessed: uint64(m.ATime), Owner: m.UID, Group: m.GID, Name: m.Name})
	}
	return um, nil
}
