// Package rpmndb reads the package blobs of rpm's ndb database
// (Packages.db). It imports nothing heavier than the standard library, so
// that its fuzz target runs at full speed.
package rpmndb

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"slices"
)

// MaxPackages bounds the slots one database may use (inventory.MaxPackages).
const MaxPackages = 200000

// MaxBlob bounds a blob: an rpm header has at most 0xffff 16-byte entries
// and 256 MiB of data after its 8-byte counts (rpm's hdrchkTags,
// hdrchkData).
const MaxBlob = 8 + 16*0xffff + 256<<20

// ErrMalformed wraps every malformed-database error.
var ErrMalformed = errors.New("malformed rpm ndb database")

// rpm's ndb backend (rpm 4.15 and later, the default of openSUSE and SLE
// 15) keeps the package headers in Packages.db, read here as rpm's
// lib/backend/ndb/rpmpkg.c lays it out. Every number is a little-endian
// uint32.
//
//   - The file is a whole number of 16-byte blocks. Its first slotnpages
//     4096-byte pages hold the database header (32 bytes: magic "RpmP",
//     version 0, generation, slotnpages, next package index) and then
//     16-byte slots: magic "Slot", package index, offset and count of the
//     package's blob in blocks. A slot with offset 0 is free.
//   - A blob starts on a block after the slot pages: magic "BlbS", package
//     index (the slot's), generation, blob length; the header blob; zero
//     padding to the slot's block count; then the tail, in the blob's last
//     12 bytes: Adler-32 (RFC 1950) of everything before it, the blob
//     length again and magic "BlbE".
//
// The header blob is the same as in rpm's other backends.
const (
	ndbMagic       = 'R' | 'p'<<8 | 'm'<<16 | 'P'<<24
	ndbSlotMagic   = 'S' | 'l'<<8 | 'o'<<16 | 't'<<24
	ndbBlobMagic   = 'B' | 'l'<<8 | 'b'<<16 | 'S'<<24
	ndbTailMagic   = 'B' | 'l'<<8 | 'b'<<16 | 'E'<<24
	ndbVersion     = 0
	ndbHeaderSize  = 32
	ndbSlotSize    = 16
	ndbBlockSize   = 16
	ndbPageSize    = 4096
	ndbBlobHead    = 16
	ndbBlobTail    = 12
	ndbMaxSlotPage = (MaxPackages*ndbSlotSize + ndbHeaderSize + ndbPageSize - 1) / ndbPageSize
)

// ndbSlot is one used slot.
type ndbSlot struct {
	pkgidx, blkoff, blkcnt uint32
}

// Walk calls fn with each package's header blob of the ndb database
// r of size bytes, in package index order. Every slot and blob is checked
// as rpm checks it (magics, bounds, lengths, the blob's package index and
// Adler-32); the first fault ends the walk with an error wrapping
// ErrMalformed. No blob larger than rpm accepts is read.
func Walk(r io.ReaderAt, size int64, fn func(blob []byte) error) error {
	if size < ndbPageSize || size%ndbBlockSize != 0 {
		return fmt.Errorf("%w: size %d is not a whole number of %d-byte blocks of at least one page", ErrMalformed, size, ndbBlockSize)
	}
	var head [ndbHeaderSize]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	le := binary.LittleEndian
	if le.Uint32(head[0:]) != ndbMagic {
		return fmt.Errorf("%w: no RpmP magic", ErrMalformed)
	}
	if v := le.Uint32(head[4:]); v != ndbVersion {
		return fmt.Errorf("%w: version %d (want %d)", ErrMalformed, v, ndbVersion)
	}
	pages := le.Uint32(head[12:])
	if pages == 0 || pages > ndbMaxSlotPage || int64(pages)*ndbPageSize > size {
		return fmt.Errorf("%w: %d slot pages in %d bytes", ErrMalformed, pages, size)
	}
	fileBlocks := uint64(size / ndbBlockSize)
	minBlock := uint64(pages) * (ndbPageSize / ndbBlockSize)

	var slots []ndbSlot
	page := make([]byte, ndbPageSize)
	for pg := uint32(0); pg < pages; pg++ {
		if _, err := r.ReadAt(page, int64(pg)*ndbPageSize); err != nil {
			return fmt.Errorf("%w: slot page %d: %w", ErrMalformed, pg, err)
		}
		o := 0
		if pg == 0 {
			o = ndbHeaderSize
		}
		for ; o < ndbPageSize; o += ndbSlotSize {
			s := page[o : o+ndbSlotSize]
			if le.Uint32(s) != ndbSlotMagic {
				return fmt.Errorf("%w: slot at offset %d has no Slot magic", ErrMalformed, int(pg)*ndbPageSize+o)
			}
			sl := ndbSlot{pkgidx: le.Uint32(s[4:]), blkoff: le.Uint32(s[8:]), blkcnt: le.Uint32(s[12:])}
			if sl.blkoff == 0 {
				continue // free
			}
			switch {
			case sl.pkgidx == 0 || sl.blkcnt == 0 || uint64(sl.blkoff) < minBlock:
				return fmt.Errorf("%w: bad slot (package %d at block %d, %d blocks)", ErrMalformed, sl.pkgidx, sl.blkoff, sl.blkcnt)
			case uint64(sl.blkoff)+uint64(sl.blkcnt) > fileBlocks:
				return fmt.Errorf("%w: package %d's blob ends past the file (truncated database)", ErrMalformed, sl.pkgidx)
			case len(slots) == MaxPackages:
				return fmt.Errorf("%w: more than %d packages", ErrMalformed, MaxPackages)
			}
			slots = append(slots, sl)
		}
	}
	slices.SortFunc(slots, func(a, b ndbSlot) int { return cmp.Compare(a.pkgidx, b.pkgidx) })
	for i := 1; i < len(slots); i++ {
		if slots[i].pkgidx == slots[i-1].pkgidx {
			return fmt.Errorf("%w: package %d has two slots", ErrMalformed, slots[i].pkgidx)
		}
	}
	for _, sl := range slots {
		blob, err := readNDBBlob(r, sl)
		if err != nil {
			return err
		}
		if err := fn(blob); err != nil {
			return fmt.Errorf("package %d: %w", sl.pkgidx, err)
		}
	}
	return nil
}

// ndbBlocks is how many blocks a blob of n bytes takes with its head and
// tail (rpm's blkcnt).
func ndbBlocks(n uint64) uint64 {
	return (ndbBlobHead + n + ndbBlobTail + ndbBlockSize - 1) / ndbBlockSize
}

// readNDBBlob reads and checks the blob of slot sl and returns its header
// blob.
func readNDBBlob(r io.ReaderAt, sl ndbSlot) ([]byte, error) {
	le := binary.LittleEndian
	if uint64(sl.blkcnt) < ndbBlocks(0) {
		return nil, fmt.Errorf("%w: package %d: %d blocks is too small", ErrMalformed, sl.pkgidx, sl.blkcnt)
	}
	off := int64(sl.blkoff) * ndbBlockSize
	var head [ndbBlobHead]byte
	if _, err := r.ReadAt(head[:], off); err != nil {
		return nil, fmt.Errorf("%w: package %d: %w", ErrMalformed, sl.pkgidx, err)
	}
	if le.Uint32(head[0:]) != ndbBlobMagic || le.Uint32(head[4:]) != sl.pkgidx {
		return nil, fmt.Errorf("%w: package %d: no blob of this package at block %d", ErrMalformed, sl.pkgidx, sl.blkoff)
	}
	n := uint64(le.Uint32(head[12:]))
	if n > MaxBlob || ndbBlocks(n) != uint64(sl.blkcnt) {
		return nil, fmt.Errorf("%w: package %d: a blob of %d bytes does not fill %d blocks", ErrMalformed, sl.pkgidx, n, sl.blkcnt)
	}
	all := make([]byte, int(sl.blkcnt)*ndbBlockSize)
	if _, err := r.ReadAt(all, off); err != nil {
		return nil, fmt.Errorf("%w: package %d: %w", ErrMalformed, sl.pkgidx, err)
	}
	tail := all[len(all)-ndbBlobTail:]
	if le.Uint32(tail[8:]) != ndbTailMagic || uint64(le.Uint32(tail[4:])) != n {
		return nil, fmt.Errorf("%w: package %d: bad blob tail", ErrMalformed, sl.pkgidx)
	}
	if sum := adler32.Checksum(all[:len(all)-ndbBlobTail]); sum != le.Uint32(tail[0:]) {
		return nil, fmt.Errorf("%w: package %d: Adler-32 %08x, the tail says %08x", ErrMalformed, sl.pkgidx, sum, le.Uint32(tail[0:]))
	}
	return all[ndbBlobHead : ndbBlobHead+n], nil
}
