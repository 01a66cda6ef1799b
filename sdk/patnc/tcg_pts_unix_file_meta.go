package patnc

import "github.com/imchost/imchost/sdk/fmtlite"

// File types of Unix-Style File Metadata (PTS IF-M Binding).
const (
	FileTypeUnknown   uint8 = 0
	FileTypeFIFO      uint8 = 1
	FileTypeCharSpec  uint8 = 2
	FileTypeDirectory uint8 = 4
	FileTypeBlockSpec uint8 = 6
	FileTypeRegular   uint8 = 8
	FileTypeSymlink   uint8 = 10
	FileTypeSocket    uint8 = 12
)

// FileMetadata is one entry of Unix-Style File Metadata; times are Unix
// seconds.
type FileMetadata struct {
	FileType uint8
	Size     uint64
	Created  uint64
	Modified uint64
	Accessed uint64
	Owner    uint64
	Group    uint64
	Name     string
}

// unixMetaFixed is the fixed part of an entry, its length field included.
const unixMetaFixed = 52

// UnixFileMeta is the TCG Unix-Style File Metadata attribute (0x00900000),
// PTS IF-M Binding §3.17.3; strongSwan's IMC sends it with NOSKIP.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Number of Files included  (64 bits)         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   File metadata Length        |     Type      |   Reserved    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| File Size | Creation | Last Modification | Last Access | Owner ID | Group ID (64 bits each)
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                Filename (Variable Length)                     ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The entry length counts itself: 52 + name length. The count must match
// the entries exactly.
type UnixFileMeta struct {
	AttrFlags
	Files []FileMetadata
}

// Type implements Attr.
func (a *UnixFileMeta) Type() Type { return TypeUnixFileMeta }

// MarshalValue implements Attr.
func (a *UnixFileMeta) MarshalValue(b *Builder) {
	b.AddUint64(uint64(len(a.Files)))
	for _, f := range a.Files {
		if len(f.Name) > 0xffff-unixMetaFixed {
			b.SetError(errf(TypeUnixFileMeta, "file name of %d bytes", len(f.Name)))
			return
		}
		b.AddUint16(uint16(unixMetaFixed + len(f.Name)))
		b.AddUint8(f.FileType)
		b.AddUint8(0)
		for _, x := range [...]uint64{f.Size, f.Created, f.Modified, f.Accessed, f.Owner, f.Group} {
			b.AddUint64(x)
		}
		b.AddBytes([]byte(f.Name))
	}
}

// UnmarshalValue implements Attr.
func (a *UnixFileMeta) UnmarshalValue(v []byte) error {
	r := newReader(v)
	var count uint64
	if !r.s.ReadUint64(&count) {
		return invalid(0, "value shorter than 8 bytes")
	}
	a.Files = make([]FileMetadata, 0, capHint(count, len(r.s), unixMetaFixed))
	for i := uint64(0); i < count; i++ {
		at := r.off()
		var n uint16
		var rsvd uint8
		var f FileMetadata
		if !r.s.ReadUint16(&n) {
			return short(at, fmtlite.Sprintf("metadata entry %d", i))
		}
		if n < unixMetaFixed {
			return invalid(at, fmtlite.Sprintf("metadata entry length %d", n))
		}
		var name []byte
		if !r.s.ReadUint8(&f.FileType) || !r.s.ReadUint8(&rsvd) ||
			!r.s.ReadUint64(&f.Size) || !r.s.ReadUint64(&f.Created) || !r.s.ReadUint64(&f.Modified) ||
			!r.s.ReadUint64(&f.Accessed) || !r.s.ReadUint64(&f.Owner) || !r.s.ReadUint64(&f.Group) ||
			!r.s.ReadBytes(&name, int(n)-unixMetaFixed) {
			return short(at, fmtlite.Sprintf("metadata entry %d", i))
		}
		f.Name = string(name)
		a.Files = append(a.Files, f)
	}
	return r.end()
}
