package inventory

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
)

// An rpm database keeps each package as a header blob without the 8-byte
// header magic: il (int32, index entries), dl (int32, data bytes), il index
// entries of 16 bytes (tag, type, offset, count; all big-endian) and dl
// bytes of data. The tags and types below are rpm's (rpmtag.h).
const (
	rpmTagName    = 1000
	rpmTagVersion = 1001
	rpmTagRelease = 1002
	rpmTagEpoch   = 1003
	rpmTagArch    = 1022

	rpmTypeInt32       = 4
	rpmTypeString      = 6
	rpmTypeI18NString  = 9
	rpmTypeStringArray = 8

	// rpm refuses headers with more than 0xffff entries or 256 MiB of data
	// (hdrchkTags, hdrchkData).
	rpmMaxEntries = 0xffff
	rpmMaxData    = 256 << 20
)

// ParseRPMHeader reads name, epoch, version, release and arch from one rpm
// header blob as stored in the database. Every offset is checked against
// the data; a string runs to a NUL inside the data.
func ParseRPMHeader(b []byte) (Package, error) {
	var p Package
	if len(b) < 8 {
		return p, fmt.Errorf("%w: %d bytes", errRPMHeader, len(b))
	}
	il := binary.BigEndian.Uint32(b[0:4])
	dl := binary.BigEndian.Uint32(b[4:8])
	if il == 0 || il > rpmMaxEntries || dl > rpmMaxData {
		return p, fmt.Errorf("%w: %d entries, %d data bytes", errRPMHeader, il, dl)
	}
	index := b[8:]
	if uint64(len(index)) < uint64(il)*16+uint64(dl) {
		return p, fmt.Errorf("%w: %d entries and %d data bytes in %d bytes", errRPMHeader, il, dl, len(b))
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
		case rpmTagName, rpmTagVersion, rpmTagRelease, rpmTagArch:
			if typ != rpmTypeString && typ != rpmTypeI18NString && typ != rpmTypeStringArray {
				return p, fmt.Errorf("%w: tag %d has type %d", errRPMHeader, tag, typ)
			}
			s, err := rpmString(data, off)
			if err != nil {
				return p, fmt.Errorf("%w: tag %d: %v", errRPMHeader, tag, err)
			}
			switch tag {
			case rpmTagName:
				p.Name = s
			case rpmTagVersion:
				version = s
			case rpmTagRelease:
				release = s
			default:
				p.Arch = s
			}
		case rpmTagEpoch:
			if typ != rpmTypeInt32 || count < 1 || uint64(off)+4 > uint64(len(data)) || off%4 != 0 {
				return p, fmt.Errorf("%w: epoch entry type %d count %d offset %d", errRPMHeader, typ, count, off)
			}
			epoch, hasEpoch = binary.BigEndian.Uint32(data[off:]), true
		}
	}
	if p.Name == "" {
		return p, fmt.Errorf("%w: no name", errRPMHeader)
	}
	p.Manager = RPM
	p.Version = version
	if release != "" {
		p.Version += "-" + release
	}
	if hasEpoch && epoch != 0 {
		p.Version = strconv.FormatUint(uint64(epoch), 10) + ":" + p.Version
	}
	return p, nil
}

// rpmString is the NUL-terminated string at off in data.
func rpmString(data []byte, off uint32) (string, error) {
	if uint64(off) >= uint64(len(data)) {
		return "", fmt.Errorf("offset %d past %d data bytes", off, len(data))
	}
	n := bytes.IndexByte(data[off:], 0)
	if n < 0 {
		return "", fmt.Errorf("string at %d has no NUL", off)
	}
	return string(data[off : off+uint32(n)]), nil
}
