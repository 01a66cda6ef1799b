// Package rpmhdr reads the name, epoch, version, release and arch of one
// rpm package header blob, as every rpm database backend (SQLite, Berkeley
// DB, ndb) stores it. It imports the standard library only, so that its
// fuzz target runs at full speed (inside internal/inventory, whose
// instrumented build carries the pure-Go SQLite, it did not).
package rpmhdr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// An rpm database keeps each package as a header blob without the 8-byte
// header magic: il (int32, index entries), dl (int32, data bytes), il index
// entries of 16 bytes (tag, type, offset, count; all big-endian) and dl
// bytes of data. The tags and types below are rpm's (rpmtag.h).
const (
	tagName    = 1000
	tagVersion = 1001
	tagRelease = 1002
	tagEpoch   = 1003
	tagArch    = 1022

	typeInt32       = 4
	typeString      = 6
	typeStringArray = 8
	typeI18NString  = 9
)

// rpm refuses headers with more than MaxEntries index entries or MaxData
// bytes of data (hdrchkTags, hdrchkData); so does Parse.
const (
	MaxEntries = 0xffff
	MaxData    = 256 << 20
)

// ErrMalformed wraps every malformed-header error.
var ErrMalformed = errors.New("malformed rpm header")

// Package is what Parse reads of one header.
type Package struct {
	Name string
	// Version is [epoch:]version-release, the epoch only when the header
	// has one and it is not 0 (rpm's EPOCHNUM), "-release" only when the
	// header has a release.
	Version string
	Arch    string // the ARCH tag, "" if the header has none
}

// Parse reads name, epoch, version, release and arch from one rpm header
// blob as stored in the database. Every offset is checked against the
// data; a string runs to a NUL inside the data. A header without a name is
// an error.
func Parse(b []byte) (Package, error) {
	var p Package
	if len(b) < 8 {
		return p, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	il := binary.BigEndian.Uint32(b[0:4])
	dl := binary.BigEndian.Uint32(b[4:8])
	if il == 0 || il > MaxEntries || dl > MaxData {
		return p, fmt.Errorf("%w: %d entries, %d data bytes", ErrMalformed, il, dl)
	}
	index := b[8:]
	if uint64(len(index)) < uint64(il)*16+uint64(dl) {
		return p, fmt.Errorf("%w: %d entries and %d data bytes in %d bytes", ErrMalformed, il, dl, len(b))
	}
	data := index[il*16 : il*16+dl]
	var version, release string
	epoch, hasEpoch := uint32(0), false
	for i := uint32(0); i < il; i++ {
		e := index[i*16 : i*16+16]
		tag := binary.BigEndian.Uint32(e[0:4])
		typ := binary.BigEndian.Uint32(e[4:8])
		off := binary.BigEndian.Uint32(e[8:12])
		count := binary.BigEndian.Uint32(e[12:16])
		switch tag {
		case tagName, tagVersion, tagRelease, tagArch:
			if typ != typeString && typ != typeI18NString && typ != typeStringArray {
				return p, fmt.Errorf("%w: tag %d has type %d", ErrMalformed, tag, typ)
			}
			s, err := str(data, off)
			if err != nil {
				return p, fmt.Errorf("%w: tag %d: %v", ErrMalformed, tag, err)
			}
			switch tag {
			case tagName:
				p.Name = s
			case tagVersion:
				version = s
			case tagRelease:
				release = s
			default:
				p.Arch = s
			}
		case tagEpoch:
			if typ != typeInt32 || count < 1 || uint64(off)+4 > uint64(len(data)) || off%4 != 0 {
				return p, fmt.Errorf("%w: epoch entry type %d count %d offset %d", ErrMalformed, typ, count, off)
			}
			epoch, hasEpoch = binary.BigEndian.Uint32(data[off:]), true
		}
	}
	if p.Name == "" {
		return p, fmt.Errorf("%w: no name", ErrMalformed)
	}
	p.Version = version
	if release != "" {
		p.Version += "-" + release
	}
	if hasEpoch && epoch != 0 {
		p.Version = strconv.FormatUint(uint64(epoch), 10) + ":" + p.Version
	}
	return p, nil
}

// str is the NUL-terminated string at off in data.
func str(data []byte, off uint32) (string, error) {
	if uint64(off) >= uint64(len(data)) {
		return "", fmt.Errorf("offset %d past %d data bytes", off, len(data))
	}
	n := bytes.IndexByte(data[off:], 0)
	if n < 0 {
		return "", fmt.Errorf("string at %d has no NUL", off)
	}
	return string(data[off : off+uint32(n)]), nil
}
