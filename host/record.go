package host

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host/internal/wasmstop"
)

// Module records. A full load of a module (compile, ABI exports, imports ⊆
// grants, a probe instance's imc_initialize) learns what a lazy load
// (IMCConfig.Lazy) needs without compiling the module: the imchost
// functions it imports and the message types it subscribes to. The host
// keeps that in the compilation cache, one small file per module file and
// settings, sealed with the cache's MAC key (integrity.go) over the file's
// sha256, the settings' digest, the rewriting's version and the record's
// bytes: a record is only believed for the very file (hash checked by the
// load) and settings it was made for, and only if this host made it.
// Nothing of the module runs on it: it lets the load put the module in
// service for routing (subscriptions) after the file's pin and signature
// passed and its imports were checked against the grants in force; the
// module is compiled, its exports and imports checked again, on its first
// use (host.go, lazyStart).

// recordPrefix starts the cache file names of module records of this
// format.
const recordPrefix = "imc-record-v1-"

// moduleRecord is what a record file holds (JSON, then the MAC).
type moduleRecord struct {
	SHA256   string        `json:"sha256"`   // the module file's
	Settings string        `json:"settings"` // settingsDigest
	Rewrite  string        `json:"rewrite"`  // wasmstop.Version
	ABI      string        `json:"abi"`      // the ABI marker export
	Imports  []string      `json:"imports"`  // imchost functions imported
	Subs     []abi.MsgType `json:"subs"`     // subscriptions after imc_initialize
}

// settingsDigest names an IMC's settings (what config_get answers, the one
// input of imc_initialize besides the module): hex of the first 16 bytes of
// the sha256 over the sorted name, value pairs.
func settingsDigest(s Settings) string {
	h := sha256.New()
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range s {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(s[k]), s[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// recordPath is the record file of a module file with sha256 sha under
// these settings.
func (h *Host) recordPath(sha string, s Settings) string {
	return filepath.Join(h.cacheDir, recordPrefix+sha+"-"+settingsDigest(s))
}

func recordMAC(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("imchost record\x00"))
	m.Write(body)
	return m.Sum(nil)
}

// writeRecord keeps what the full load of v learnt, for lazy loads.
func (h *Host) writeRecord(v *version) error {
	if h.cacheDir == "" || h.cacheKey == nil {
		return nil
	}
	r := moduleRecord{SHA256: v.sha, Settings: settingsDigest(v.cfg.Settings), Rewrite: wasmstop.Version,
		ABI: abi.ExportMarker, Imports: v.imports, Subs: v.subs}
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return writeCacheFile(h.recordPath(v.sha, v.cfg.Settings), ".wasmstop-*", append(body, recordMAC(h.cacheKey, body)...))
}

// readRecord returns the record of the module file with sha256 sha under
// settings s, or nil when there is none or it fails its MAC or does not
// fit (then it is removed: the load is a full one and writes it again).
func (h *Host) readRecord(sha string, s Settings) (*moduleRecord, error) {
	if h.cacheDir == "" || h.cacheKey == nil {
		return nil, nil
	}
	p := h.recordPath(sha, s)
	b, err := readCacheFile(p, 64<<10)
	if err != nil {
		return nil, nil // none (or unreadable): a full load
	}
	bad := func(why string) (*moduleRecord, error) {
		removeFile(p)
		return nil, fmt.Errorf("module record '%s' %s; removed, loading the module in full", p, why)
	}
	if len(b) <= sha256.Size {
		return bad("is truncated")
	}
	body, mac := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if !hmac.Equal(mac, recordMAC(h.cacheKey, body)) {
		return bad(errCacheEntry.Error())
	}
	var r moduleRecord
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return bad("does not decode: " + err.Error())
	}
	if r.SHA256 != sha || r.Settings != settingsDigest(s) || r.Rewrite != wasmstop.Version || r.ABI != abi.ExportMarker || len(r.Subs) == 0 {
		return bad("is not this module's")
	}
	touchIfOld(p, time.Now())
	return &r, nil
}

// checkImportNames is checkImports on a record's import names: every one a
// function this host provides, granted unless it needs no grant.
func checkImportNames(imports, grants []string, from string) error {
	for _, name := range imports {
		fn := capability.Lookup(name)
		if fn == nil {
			return fmt.Errorf("%w: the module imports %s.%s, which this host does not provide", ErrGrant, abi.ImportModule, name)
		}
		if !fn.Ungranted && !slices.Contains(grants, name) {
			return fmt.Errorf("%w: the module imports %s.%s, which %s does not grant (grants: %s)",
				ErrGrant, abi.ImportModule, name, from, strings.Join(grants, ", "))
		}
	}
	return nil
}

// coversType reports whether a subscription list covers t (wildcards
// included), as capability's sessions do.
func coversType(types []abi.MsgType, t abi.MsgType) bool {
	for _, c := range types {
		if (c.Vendor == abi.VendorAny || c.Vendor == t.Vendor) && (c.Subtype == abi.SubtypeAny || c.Subtype == t.Subtype) {
			return true
		}
	}
	return false
}

// readCacheFile reads a small cache file opened without following links,
// that must pass strict modes, of at most max bytes.
func readCacheFile(p string, max int64) ([]byte, error) {
	f, fi, err := openStrict(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if !fi.Mode().IsRegular() || fi.Size() > max {
		return nil, fmt.Errorf("'%s' is not a regular file of at most %d bytes", p, max)
	}
	return io.ReadAll(io.LimitReader(f, max))
}

func removeFile(p string) { _ = os.Remove(p) }
