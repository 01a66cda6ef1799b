package abi

// Host functions that measure and stat() files inside the IMC's allowlist
// (config.toml `[[imc]] files`), for PTS Request File Measurement and
// Request File Metadata.
const (
	FnFileMeasure  = "file_measure"
	FnFileMetadata = "file_metadata"
)

// Limits of file_measure and file_metadata.
const (
	// MaxFilePathLen bounds FileRequest.Path.
	MaxFilePathLen = 4096
	// MaxFiles bounds the entries of one directory request.
	MaxFiles = 1024
)

// FileRequest is the input of file_measure and file_metadata:
//
//	u16 hash_alg (file_measure: TPM_ALG_ID; file_metadata: 0) | bool directory | string path
type FileRequest struct {
	HashAlg   uint16
	Directory bool
	Path      string // absolute, clean
}

// FileDigest is one element of the file_measure result: list<{ string name | bytes digest }>.
// Name is the file's base name (a directory's regular, non-hidden files,
// in directory order).
type FileDigest struct {
	Name   string
	Digest []byte
}

// FileMeta is one element of the file_metadata result:
//
//	string name | u8 type (PTS file type: 8 regular, 4 directory, 10 symlink, ...) |
//	u64 size | i64 ctime | i64 mtime | i64 atime | u64 uid | u64 gid
type FileMeta struct {
	Name                string
	Type                uint8
	Size                uint64
	CTime, MTime, ATime int64
	UID, GID            uint64
}

// AppendFileRequest appends a FileRequest.
func AppendFileRequest(b []byte, v FileRequest) []byte {
	b = appendU16(b, v.HashAlg)
	b = appendBool(b, v.Directory)
	return appendString(b, v.Path)
}

// ParseFileRequest decodes a FileRequest.
func ParseFileRequest(in []byte) (FileRequest, error) {
	r := newReader("FileRequest", in)
	var v FileRequest
	v.HashAlg = r.u16()
	v.Directory = r.bool()
	v.Path = r.string()
	if err := r.done(); err != nil {
		return FileRequest{}, err
	}
	return v, nil
}

// AppendFileDigests appends the result of file_measure.
func AppendFileDigests(b []byte, v []FileDigest) []byte {
	b = appendU32(b, uint32(len(v)))
	for _, f := range v {
		b = appendString(b, f.Name)
		b = appendBytes(b, f.Digest)
	}
	return b
}

// ParseFileDigests decodes the result of file_measure.
func ParseFileDigests(in []byte) ([]FileDigest, error) {
	r := newReader("FileDigests", in)
	n := r.count(8)
	var out []FileDigest
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, FileDigest{Name: r.string(), Digest: r.bytes()})
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return out, nil
}

// AppendFileMetas appends the result of file_metadata.
func AppendFileMetas(b []byte, v []FileMeta) []byte {
	b = appendU32(b, uint32(len(v)))
	for _, f := range v {
		b = appendString(b, f.Name)
		b = append(b, f.Type)
		b = appendU64(b, f.Size)
		b = appendU64(b, uint64(f.CTime))
		b = appendU64(b, uint64(f.MTime))
		b = appendU64(b, uint64(f.ATime))
		b = appendU64(b, f.UID)
		b = appendU64(b, f.GID)
	}
	return b
}

// ParseFileMetas decodes the result of file_metadata.
func ParseFileMetas(in []byte) ([]FileMeta, error) {
	r := newReader("FileMetas", in)
	n := r.count(4 + 1 + 6*8)
	var out []FileMeta
	for i := 0; i < n && r.err == nil; i++ {
		var f FileMeta
		f.Name = r.string()
		f.Type = r.u8()
		f.Size = r.u64()
		f.CTime = int64(r.u64())
		f.MTime = int64(r.u64())
		f.ATime = int64(r.u64())
		f.UID = r.u64()
		f.GID = r.u64()
		out = append(out, f)
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return out, nil
}
