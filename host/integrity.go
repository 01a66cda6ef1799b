package host

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/imchost/imchost/host/internal/wasmstop"
)

// The compilation cache's integrity. What a module runs comes from the
// cache directory: the wasmstop rewrite of its file (named by the file's
// sha256) and wazero's native code for that rewrite (named by wazero's hash
// of it). The sha256 pin is checked on the module file, so an entry must be
// bound to the file it was made from, or whoever can write the cache
// chooses the code. Two defences, both needed:
//
//   - Strict modes, as OpenSSH's StrictModes: the cache directory, every
//     directory above it, wazero's directories in it and every entry must
//     belong to this user (or root) and be writable by nobody else
//     (directories above may be writable by others only with the sticky
//     bit, as /tmp). Otherwise the cache is refused and modules are compiled
//     in memory at every start, with one warning saying what to fix.
//   - A keyed MAC (HMAC-SHA256) on every entry, under a key made on this
//     host and kept in the cache directory readable by its owner only
//     (cacheKeyName). A rewrite carries its MAC in a trailing custom
//     section, over the source file's sha256 and the rewrite's bytes; a
//     native entry in a sidecar file (<entry>.mac), over its name and bytes.
//     An entry that fails is named in a warning, removed, and made again
//     from the pinned source.
//
// A plain hash beside the entry would not do: whoever can replace the entry
// can replace its hash. The key does not help against a writer who can read
// it (this user, root), and that writer is the only one strict modes let
// in; against everyone else the modes keep entries out, and the MAC catches
// what slips past them (an entry copied over another, a cache restored from
// another machine, a shared or network file system, damage).

// cacheKeyName is the key file in the cache directory: 32 random bytes,
// mode 0600.
const cacheKeyName = "integrity.key"

// cacheKeySize is the HMAC key's length in bytes.
const cacheKeySize = 32

// macSection is the name of the custom section a cached rewrite ends with;
// its payload is macFormat and the 32-byte MAC.
const (
	macSection = "imchost.mac"
	macFormat  = 1
	// macTrailerLen: section id, size (one LEB128 byte), name length,
	// name, format byte, MAC.
	macTrailerLen = 1 + 1 + 1 + len(macSection) + 1 + sha256.Size
)

// errCacheEntry says an entry failed its authentication.
var errCacheEntry = errors.New("fails its authentication (substituted or damaged)")

// strictDir checks the cache directory dir and every directory above it:
// owned by this user or root, and not writable by group or others (a
// directory above may be, with the sticky bit set, as /tmp is). The error
// says what to fix.
func strictDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := abs; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		sticky := p != abs && fi.Mode()&fs.ModeSticky != 0
		if err := strictMode(p, fi, sticky); err != nil {
			return err
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// strictMode checks one file or directory of the cache (or above it):
// owned by this user or root; not writable by group or others unless
// allowWrite (a sticky directory above the cache).
func strictMode(path string, fi fs.FileInfo, allowWrite bool) error {
	if uid, ok := fileOwner(fi); ok && uid != 0 && uid != os.Geteuid() {
		return fmt.Errorf("'%s' belongs to uid %d, not to this user (uid %d) or root; fix: chown %d '%s'",
			path, uid, os.Geteuid(), os.Geteuid(), path)
	}
	if fi.Mode().Perm()&0o022 != 0 && !allowWrite {
		return fmt.Errorf("'%s' is writable by group or others (mode %04o); fix: chmod go-w '%s'",
			path, fi.Mode().Perm(), path)
	}
	return nil
}

// strictCache checks the cache directory's own contents: wazero's
// directories and every file the cache reads (the key, rewrites, native
// entries and their MACs) must pass strictMode. Other files are not the
// cache's and are left alone.
func strictCache(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		p := filepath.Join(dir, name)
		switch {
		case e.IsDir() && strings.HasPrefix(name, "wazero-"):
			fi, err := os.Lstat(p)
			if err != nil {
				continue // gone meanwhile
			}
			if err := strictMode(p, fi, false); err != nil {
				return err
			}
			sub, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			for _, s := range sub {
				if fi, err := s.Info(); err == nil {
					if err := strictMode(filepath.Join(p, s.Name()), fi, false); err != nil {
						return err
					}
				}
			}
		case name == cacheKeyName || strings.HasPrefix(name, "wasmstop-v") || strings.HasPrefix(name, "imc-record-v") ||
			strings.HasPrefix(name, stampPrefix):
			if fi, err := e.Info(); err == nil {
				if err := strictMode(p, fi, false); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// errBadKey marks a key file that is damaged or was readable by others:
// replaced by a new key (the entries it sealed are then rebuilt).
var errBadKey = errors.New("bad cache key")

// loadCacheKey reads the cache's MAC key, making one when there is none.
// A key file that is damaged (not 32 bytes, not a file) or that others may
// read is replaced by a new key, and replaced says why (every entry is
// rebuilt once). A key that belongs to another user is refused: strict
// modes.
func loadCacheKey(dir string) (key []byte, replaced, err error) {
	path := filepath.Join(dir, cacheKeyName)
	key, err = readCacheKey(path)
	if errors.Is(err, errBadKey) {
		replaced = err
		if err = os.Remove(path); err != nil {
			return nil, nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return key, nil, err
	}
	// Written whole under a temporary name and linked into place, so that
	// a concurrent start reads either no key or the whole key; the start
	// that links second uses the first one's key.
	key = make([]byte, cacheKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, err
	}
	tmp, err := os.CreateTemp(dir, ".probe-key-*")
	if err != nil {
		return nil, nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(key)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, nil, err
	}
	key, err = readCacheKey(path)
	return key, replaced, err
}

// openStrict opens a file of the compilation cache for reading: not
// through a symbolic link, and only if it passes strictMode (this user's
// or root's, writable by no one else). The caller checks its kind and
// size on the FileInfo and closes the file.
func openStrict(path string) (*os.File, fs.FileInfo, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = strictMode(path, fi, false)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// readCacheKey reads and checks a key file.
func readCacheKey(path string) ([]byte, error) {
	f, fi, err := openStrict(path)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%w: '%s' is a symbolic link", errBadKey, path)
		}
		return nil, err
	}
	defer f.Close()
	if !fi.Mode().IsRegular() || fi.Size() != cacheKeySize {
		return nil, fmt.Errorf("%w: '%s' is not a file of %d bytes", errBadKey, path, cacheKeySize)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: '%s' was readable by others (mode %04o)", errBadKey, path, fi.Mode().Perm())
	}
	key := make([]byte, cacheKeySize)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, err
	}
	return key, nil
}

// rewriteMAC is the MAC of a rewrite made by this wasmstop version from a
// source file with sha256 sha (hex); body is the rewrite's sha256.
func rewriteMAC(key []byte, sha string, body [sha256.Size]byte) []byte {
	src, _ := hex.DecodeString(sha)
	m := hmac.New(sha256.New, key)
	m.Write([]byte("imchost rewrite\x00" + wasmstop.Version + "\x00"))
	m.Write(src)
	m.Write(body[:])
	return m.Sum(nil)
}

// macTrailerHead is the start of the custom section sealRewrite appends,
// up to the MAC.
var macTrailerHead = append([]byte{0, byte(macTrailerLen - 2), byte(len(macSection))}, append([]byte(macSection), macFormat)...)

// rewriteDigests hashes a sealed rewrite b once: body is the sha256 of
// its first n bytes (the rewrite proper), id wazero's module ID of all of
// b (the sha256 of b and a zero byte: no listeners, no close-on-context).
func rewriteDigests(b []byte, n int) (body, id [sha256.Size]byte) {
	h := sha256.New()
	h.Write(b[:n])
	if c, err := h.(hash.Cloner).Clone(); err == nil {
		c.Sum(body[:0])
	} else {
		body = sha256.Sum256(b[:n])
	}
	h.Write(b[n:])
	h.Write([]byte{0})
	h.Sum(id[:0])
	return body, id
}

// sealRewrite returns the rewrite with its MAC appended as a custom section
// (wazero skips it; the module is the same), and the sealed module's
// wazero ID.
func sealRewrite(key []byte, sha string, rewrite []byte) (sealed []byte, id [sha256.Size]byte) {
	sealed = make([]byte, 0, len(rewrite)+macTrailerLen)
	sealed = append(sealed, rewrite...)
	sealed = append(sealed, macTrailerHead...)
	sealed = append(sealed, make([]byte, sha256.Size)...)
	body, _ := rewriteDigests(sealed, len(rewrite))
	copy(sealed[len(sealed)-sha256.Size:], rewriteMAC(key, sha, body))
	_, id = rewriteDigests(sealed, len(rewrite))
	return sealed, id
}

// verifyRewrite checks a cached rewrite (sealed by sealRewrite) against the
// sha256 of the source file it must have been made from, and returns its
// wazero module ID.
func verifyRewrite(key []byte, sha string, b []byte) (ok bool, id [sha256.Size]byte) {
	n := len(b) - macTrailerLen
	if n < len(wasmMagic) || !bytes.HasPrefix(b, wasmMagic) || !bytes.Equal(b[n:n+len(macTrailerHead)], macTrailerHead) {
		return false, id
	}
	body, id := rewriteDigests(b, n)
	return hmac.Equal(b[n+len(macTrailerHead):], rewriteMAC(key, sha, body)), id
}

// nativeMAC is the MAC of a native-code entry of wazero's, bound to its
// file name (wazero's hash of the rewrite and the CPU).
func nativeMAC(key []byte, name string, r io.Reader) ([]byte, error) {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("imchost native\x00" + name + "\x00"))
	if _, err := io.Copy(m, r); err != nil {
		return nil, err
	}
	return m.Sum(nil), nil
}

// sweepNative removes, before a load, every native entry in wazero's
// directories that has no MAC sidecar: written by something other than
// this host, or by a wazero whose entry names the host cannot predict
// (see wazerokey.go); either way not to be read. It returns the entries
// removed.
func sweepNative(dir string) []string {
	subs, _ := filepath.Glob(filepath.Join(dir, "wazero-*"))
	var removed []string
	for _, sub := range subs {
		ents, err := os.ReadDir(sub)
		if err != nil {
			continue
		}
		for _, e := range ents {
			n := e.Name()
			if strings.HasSuffix(n, ".tmp") || strings.HasSuffix(n, ".mac") {
				continue
			}
			p := filepath.Join(sub, n)
			if !fileExists(p+".mac") && os.Remove(p) == nil {
				removed = append(removed, p)
			}
		}
	}
	return removed
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// nativeStamp is the MAC of one state of a native entry (fileStamp) whose
// content MAC is mac: what its stamp file holds.
func nativeStamp(key []byte, name string, mac, stamp []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("imchost native stamp\x00" + name + "\x00"))
	m.Write(mac)
	m.Write(stamp)
	return m.Sum(nil)
}

// checkNative authenticates the native entry p (if there is one) against
// its sidecar before wazero reads it; an entry that fails is removed with
// its sidecar, and the error says why.
//
// The sidecar holds the MAC over the entry's name and bytes; a stamp file
// in the cache directory (stampPath) a MAC over that MAC and the state of
// the file it was checked on (device, inode, size, modification and change
// time). While
// the opened entry is in that very state, its bytes are the ones the MAC
// was checked on, and reading the megabytes again is skipped (a quarter of
// a warm start's CPU went there): any write to the file, a rename over it,
// a copy, a restore from elsewhere gives it another change time or inode,
// which only root could set back. Then the bytes are authenticated whole,
// and the stamp renewed. Damage that leaves the file's state as it was
// (a disk's bit rot) is not caught by the stamp; wazero's CRC-32C over the
// native code it reads catches it there.
func checkNative(key []byte, p string) error {
	f, fi, err := openStrict(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	err = func() error {
		if err != nil {
			return err
		}
		defer f.Close()
		want, err := os.ReadFile(p + ".mac")
		if errors.Is(err, fs.ErrNotExist) {
			return errors.New("has no MAC (not written by this host)")
		}
		if err != nil {
			return err
		}
		name := filepath.Base(p)
		stamp, stamped := fileStamp(fi)
		if stamped {
			if have, err := readCacheFile(stampPath(p), 64); err == nil && hmac.Equal(have, nativeStamp(key, name, want, stamp)) {
				return nil // in the state its bytes were authenticated in
			}
		}
		got, err := nativeMAC(key, name, f)
		if err != nil {
			return err
		}
		if !hmac.Equal(got, want) {
			return errCacheEntry
		}
		if stamped {
			_ = writeCacheFile(stampPath(p), ".wasmstop-*", nativeStamp(key, name, want, stamp))
		}
		return nil
	}()
	if err != nil {
		_ = os.Remove(p)
		_ = os.Remove(p + ".mac")
		_ = os.Remove(stampPath(p))
	}
	return err
}

// stampPrefix starts the names of native entries' stamp files, kept in the
// cache directory itself (not in wazero's directory, whose every file a
// host of before the stamps takes for an entry or its MAC).
const stampPrefix = "native-stamp-"

// stampPath is the stamp file of the native entry p.
func stampPath(p string) string {
	return filepath.Join(filepath.Dir(filepath.Dir(p)), stampPrefix+filepath.Base(p))
}

// sealNative writes the MAC sidecar of the native entry p if it has none
// (wazero has just written it).
func sealNative(key []byte, p string) error {
	if fileExists(p + ".mac") {
		return nil
	}
	f, err := openNoFollow(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // not kept (wazero could not write it), or pruned meanwhile
	}
	if err != nil {
		return err
	}
	mac, err := nativeMAC(key, filepath.Base(p), f)
	var stamp []byte
	if err == nil {
		var fi fs.FileInfo
		if fi, err = f.Stat(); err == nil {
			if st, ok := fileStamp(fi); ok {
				stamp = nativeStamp(key, filepath.Base(p), mac, st)
			}
		}
	}
	f.Close()
	if err != nil {
		return err
	}
	if err := writeCacheFile(p+".mac", ".mac-*.tmp", mac); err != nil {
		return err
	}
	if stamp != nil {
		_ = writeCacheFile(stampPath(p), ".wasmstop-*", stamp)
	}
	return nil
}

// writeCacheFile writes a cache file whole under a temporary name (pattern,
// as os.CreateTemp's, in the file's directory: one pruneCache knows as
// temporary) and renames it into place (mode 0600): a concurrent reader
// sees the old file or the new one.
func writeCacheFile(path, pattern string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), pattern)
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}
