package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host/internal/wasmstop"
)

// module is one configured IMC; its ID and name stay across reloads.
type module struct {
	id   uint32
	name string
	seq  int      // versions loaded so far (guarded by Host.mu)
	cur  *version // serving new connections (guarded by Host.mu)
}

// current returns the current version with a reference the caller releases.
func (m *module) current(h *Host) *version {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m.cur != nil {
		m.cur.refs++
	}
	return m.cur
}

// version is one compiled and checked module file. References: one while it
// is its module's current version, one per instance. The compiled module is
// closed when the last reference goes.
type version struct {
	m        *module
	seq      int
	cfg      IMCConfig // as configured (path resolved)
	full     *Config   // the configuration it was loaded with
	sha      string
	size     int
	signer   string                // key ID of the module's signer ("" unsigned)
	compiled wazero.CompiledModule // of the instrumented module (see wasmstop)
	src      *source               // what compiled was made from; closed with it
	rt       *hostRuntime
	pages    uint32
	timeout  time.Duration
	imports  []string
	subs     []abi.MsgType
	loadedAt time.Time
	took     time.Duration // compiling it
	// native says whether the compilation made native code (a cold
	// start: no compilation cache, or no entry for this module in it)
	// rather than reading it from the cache.
	native bool

	refs      int // guarded by Host.mu
	instances int // guarded by Host.mu
	// spare is the probe instance kept for the first connection
	// (Options.ReuseProbe; guarded by Host.mu once the version is in
	// service).
	spare *instance
	// lazy is set when the version was put in service from its record
	// (IMCConfig.Lazy): compiled and src stay nil until the first
	// connection that needs the module compiles it (startLazy).
	lazy *lazyState
}

// lazyState is a lazy version's compilation on first use.
type lazyState struct {
	mu   sync.Mutex
	done bool // compiled (guarded by mu)
	// compiled says it was compiled (guarded by Host.mu, for List).
	compiled bool
}

// closeCompiled closes the compiled module and its source, if any.
func (v *version) closeCompiled(ctx context.Context) {
	if v.compiled != nil {
		v.compiled.Close(ctx)
	}
	v.src.close()
}

func (v *version) release(h *Host) {
	h.mu.Lock()
	v.refs--
	last := v.refs == 0
	h.mu.Unlock()
	if last {
		v.dropSpare(h)
		v.closeCompiled(context.Background())
		h.wlog.Debug(fmt.Sprintf("IMC %d \"%s\" version %d closed", v.m.id, v.m.name, v.seq))
	}
}

// dropSpare ends the kept probe instance, if no connection took it.
func (v *version) dropSpare(h *Host) {
	h.mu.Lock()
	sp := v.spare
	v.spare = nil
	h.mu.Unlock()
	if sp != nil {
		sp.terminate(context.Background())
	}
}

// sameSource reports whether reloading c from a file with hash sha would
// change nothing.
func (v *version) sameSource(full *Config, c *IMCConfig, sha string) bool {
	return sha == v.sha && reflect.DeepEqual(*c, v.cfg) &&
		full.memoryPages(c) == v.pages && full.callTimeout(c) == v.timeout &&
		full.Limits == v.full.Limits && full.EventLog == v.full.EventLog &&
		slices.Equal(full.Wasm.TrustedKeys, v.full.Wasm.TrustedKeys) && full.Wasm.RequireSignature == v.full.Wasm.RequireSignature &&
		full.ModulePCR == v.full.ModulePCR && full.moduleLog() == v.full.moduleLog()
}

func (v *version) info() ModuleInfo {
	return ModuleInfo{
		ID: v.m.id, Name: v.m.name, Path: v.cfg.Path, SHA256: v.sha, Size: v.size, Version: v.seq, Signer: v.signer,
		Grants: slices.Clone(v.cfg.Grants), Imports: slices.Clone(v.imports),
		Subscriptions: slices.Clone(v.subs), MemoryPages: v.pages, CallTimeout: v.timeout,
		LoadedAt: v.loadedAt, Instances: v.instances,
		Lazy: v.cfg.Lazy, Compiled: v.lazy == nil || v.lazy.compiled,
	}
}

// moduleFile is a module file as a load sees it: its hash and size from
// one streaming read, its bytes only when they are needed (the wasmstop
// rewrite is usually cached under the hash, so a warm start never holds
// the original in memory).
type moduleFile struct {
	path string
	sha  string // hex sha256
	size int
	head []byte // the first 8 bytes (the wasm header)
}

// statModule hashes a module file, bounded by maxModuleSize.
func statModule(path string) (*moduleFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	hs := sha256.New()
	buf := make([]byte, 64<<10)
	mf := &moduleFile{path: path}
	for {
		n, err := f.Read(buf)
		if len(mf.head) < len(wasmMagic) {
			mf.head = append(mf.head, buf[:min(n, len(wasmMagic)-len(mf.head))]...)
		}
		hs.Write(buf[:n])
		mf.size += n
		if mf.size > maxModuleSize {
			return nil, fmt.Errorf("'%s' is larger than %d bytes", path, maxModuleSize)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	mf.sha = hex.EncodeToString(hs.Sum(nil))
	return mf, nil
}

// bytes reads the file, which must still be what statModule hashed (the
// pin was checked against that hash).
func (mf *moduleFile) bytes() ([]byte, error) {
	b, err := readModule(mf.path)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != mf.sha {
		return nil, fmt.Errorf("'%s' %w (sha256 %s then)", mf.path, errFileChanged, mf.sha[:16])
	}
	return b, nil
}

// errFileChanged: a module file is no longer the one whose hash was
// checked (pin, signature) when its version was loaded.
var errFileChanged = errors.New("changed since its sha256 was checked")

// readModule reads a module file, bounded by maxModuleSize.
func readModule(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// One buffer of the file's size (plus one byte to see it grew), not
	// io.ReadAll's doublings: modules are megabytes.
	size := int64(512)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = min(fi.Size(), maxModuleSize) + 1
	}
	b := make([]byte, 0, size)
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(b) > maxModuleSize {
			break
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
	if len(b) > maxModuleSize {
		return nil, fmt.Errorf("'%s' is larger than %d bytes", path, maxModuleSize)
	}
	return b, nil
}

// Check errors, for errors.Is.
var (
	// ErrPin: the file's sha256 differs from the configured pin.
	ErrPin = errors.New("sha256 pin mismatch")
	// ErrNotWasm: the file is not a WebAssembly binary.
	ErrNotWasm = errors.New("not a WebAssembly module")
	// ErrABI: the module lacks the ABI marker, declares another ABI version
	// or lacks a required export.
	ErrABI = errors.New("ABI mismatch")
	// ErrGrant: the module imports a function it was not granted, or from
	// a module other than imchost and wasi_snapshot_preview1.
	ErrGrant = errors.New("import not granted")
	// ErrInit: the module failed in _initialize or imc_initialize, or
	// subscribed to no message type.
	ErrInit = errors.New("initialization failed")
)

var wasmMagic = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// exportSigs are the lifecycle exports and their (params, results) counts;
// all are i32.
var exportSigs = []struct {
	name            string
	params, results int
}{
	{abi.ExportMarker, 0, 0},
	{abi.ExportInitialize, 0, 0},
	{abi.ExportAlloc, 1, 1},
	{abi.ExportInit, 1, 1},
	{abi.ExportConnectionChange, 2, 1},
	{abi.ExportBeginHandshake, 1, 1},
	{abi.ExportReceive, 3, 1},
	{abi.ExportBatchEnding, 1, 1},
	{abi.ExportTerminate, 0, 1},
}

func allI32(ts []api.ValueType) bool {
	for _, t := range ts {
		if t != api.ValueTypeI32 {
			return false
		}
	}
	return true
}

// compile turns a module file into a compiled version, not yet checked:
// pin, wasm magic, the wasmstop rewrite and compilation. It is the costly
// part of a load (decoding and validating megabytes of code), and loads of
// several modules run it concurrently; check does the rest in order.
func (h *Host) compile(ctx context.Context, full *Config, id uint32, c *IMCConfig, mf *moduleFile) (*version, error) {
	signer, err := h.verifyFile(full, c, mf)
	if err != nil {
		return nil, err
	}
	pages := full.memoryPages(c)
	hr, err := h.runtime(ctx, pages)
	if err != nil {
		return nil, err
	}
	cm, src, took, compiles, err := h.compileFile(ctx, hr, c, mf)
	if err != nil {
		return nil, err
	}
	return &version{
		cfg: *c, full: full, sha: mf.sha, size: mf.size, signer: signer, compiled: cm, src: src, rt: hr, pages: pages,
		timeout: full.callTimeout(c), loadedAt: time.Now(), refs: 1, took: took, native: compiles,
		m: &module{id: id, name: c.Name},
	}, nil
}

// verifyFile checks what a module file is before anything of it is used:
// its sha256 pin, its signature and the wasm header. It returns the
// signer's key ID ("" unsigned).
func (h *Host) verifyFile(full *Config, c *IMCConfig, mf *moduleFile) (string, error) {
	if c.SHA256 != "" && !strings.EqualFold(c.SHA256, mf.sha) {
		return "", fmt.Errorf("%w: '%s' has sha256 %s, %s pins %s", ErrPin, c.Path, mf.sha, full.source(), strings.ToLower(c.SHA256))
	}
	signer, err := h.checkSignature(full, c, mf)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(mf.head, wasmMagic) {
		return "", fmt.Errorf("%w: '%s' does not start with the wasm header \\0asm version 1", ErrNotWasm, c.Path)
	}
	return signer, nil
}

// compileFile compiles a verified module file (its wasmstop rewrite, from
// the cache when it is there) in the runtime hr: the costly part of a load.
// compiles says whether wazero made native code rather than reading it
// from the cache.
func (h *Host) compileFile(ctx context.Context, hr *hostRuntime, c *IMCConfig, mf *moduleFile) (cm wazero.CompiledModule, src *source, took time.Duration, compiles bool, err error) {
	start := time.Now()
	// The stop checks replace wazero's per-call watcher (see wasmstop);
	// the pin above is of the file as built.
	src, cachedAt, wid, err := h.instrument(mf)
	if errors.Is(err, errFileChanged) {
		return nil, nil, 0, false, err
	}
	if err != nil {
		return nil, nil, 0, false, fmt.Errorf("%w: '%s' cannot be prepared for running: %v", ErrNotWasm, c.Path, err)
	}
	// wazero's native code for it, authenticated before wazero reads it
	// and sealed once wazero has written it (integrity.go).
	var native string
	compiles = true // no cached native code: wazero compiles
	if h.cacheDir != "" {
		native = filepath.Join(wazeroDir(h.cacheDir), nativeName(wid))
		if err := checkNative(h.cacheKey, native); err != nil {
			h.wlog.Warn(fmt.Sprintf("compiled code '%s' of '%s' in the compilation cache %v; removed, compiling again", native, c.Path, err))
		}
		_, err := os.Stat(native)
		compiles = err != nil
	}
	cm, err = compileGuarded(ctx, hr.rt, src.b)
	src.drop()
	cacheErr := func(err error) bool {
		return err != nil && h.cacheDir != "" && strings.Contains(err.Error(), "compilationcache")
	}
	if err != nil && cachedAt != "" && !cacheErr(err) {
		// The rewritten copy from the cache is damaged: rewrite anew.
		h.wlog.Warn(fmt.Sprintf("cached rewrite '%s' of '%s' does not compile (%v); rewriting it", cachedAt, c.Path, err))
		_ = os.Remove(cachedAt)
		src.close()
		if src, _, _, err = h.instrument(mf); err == nil {
			cm, err = compileGuarded(ctx, hr.rt, src.b)
		}
	}
	if cacheErr(err) {
		// A damaged cache entry (truncated, overwritten) fails every start
		// until it is gone: drop the cache's entries and compile anew.
		h.wlog.Warn(fmt.Sprintf("compilation cache '%s' is damaged (%v); clearing it and compiling '%s' again", h.cacheDir, err, c.Path))
		if cerr := clearCacheDir(h.cacheDir); cerr != nil {
			h.wlog.Error(fmt.Sprintf("clearing the compilation cache '%s': %v", h.cacheDir, cerr))
		} else {
			cm, err = compileGuarded(ctx, hr.rt, src.b)
			src.drop()
		}
	}
	if err != nil {
		src.close()
		return nil, nil, 0, false, fmt.Errorf("%w: '%s' does not compile: %v", ErrNotWasm, c.Path, err)
	}
	if native != "" {
		if err := sealNative(h.cacheKey, native); err != nil {
			h.wlog.Warn(fmt.Sprintf("sealing compiled code '%s' in the compilation cache: %v", native, err))
		}
	}
	return cm, src, time.Since(start), compiles, nil
}

// check finishes a compiled version: ABI marker and exports, imports ⊆
// grants, and a probe instance that must initialize and subscribe. On
// error the compiled module is closed.
func (h *Host) check(ctx context.Context, v *version) error {
	switch took := v.took.Round(time.Millisecond); {
	case !v.native:
		h.wlog.Debug(fmt.Sprintf("compiled '%s' (%d bytes) in %s", v.cfg.Path, v.size, took))
	case h.cacheDir != "":
		h.wlog.Info(fmt.Sprintf("compiled '%s' (%d bytes) to native code in %s, once: later starts read it from the compilation cache '%s'",
			v.cfg.Path, v.size, took, h.cacheDir))
	default:
		h.wlog.Info(fmt.Sprintf("compiled '%s' (%d bytes) to native code in %s (no compilation cache: every start compiles)",
			v.cfg.Path, v.size, took))
	}
	err := checkExports(v.compiled)
	if err == nil {
		v.imports, err = checkImports(v.compiled, v.cfg.Grants, h.Config().source())
	}
	if err == nil {
		v.subs, err = h.probe(ctx, v)
	}
	if err != nil {
		v.closeCompiled(ctx)
	}
	return err
}

// instrument returns the module rewritten by wasmstop. With a cache
// directory the rewrite is kept there, keyed by the file's sha256 and the
// rewriting's version and sealed with the cache's MAC over that sha256 and
// its bytes, and read back on later starts (a read instead of a ~10 ms pass
// over a 3.5 MB module, mapped: see source); cachedAt names the file when
// the result came from it. A cached rewrite is used only when the bytes
// mapped, the very bytes compiled, authenticate as made from the file
// whose hash passed the pin; otherwise it is named, removed and made again
// from the file.
func (h *Host) instrument(mf *moduleFile) (src *source, cachedAt string, id [32]byte, err error) {
	var path string
	if h.cacheDir != "" {
		path = filepath.Join(h.cacheDir, rewriteName(mf.sha))
		src, err := mapSource(path, &h.srcMaps)
		var ok bool
		if err == nil {
			ok, id = verifyRewrite(h.cacheKey, mf.sha, src.b)
		}
		switch {
		case ok:
			touchIfOld(path, time.Now())
			return src, path, id, nil
		case err == nil:
			src.close()
			err = errCacheEntry
			fallthrough
		case !errors.Is(err, fs.ErrNotExist):
			h.wlog.Warn(fmt.Sprintf("cached rewrite '%s' of '%s' %v; discarding it and rewriting it from the pinned file", path, mf.path, err))
			_ = os.Remove(path)
		}
	}
	bin, err := mf.bytes()
	if err != nil {
		return nil, "", id, err
	}
	out, _, err := wasmstop.Instrument(bin)
	if err != nil {
		return nil, "", id, err
	}
	if path == "" {
		return heapSource(out), "", id, nil
	}
	// Compiled as cached (sealed), so that wazero's native entry for it is
	// the one later starts look up.
	out, id = sealRewrite(h.cacheKey, mf.sha, out)
	if err := writeCacheFile(path, ".wasmstop-*", out); err != nil {
		h.wlog.Debug(fmt.Sprintf("not caching the rewritten module in '%s': %v", h.cacheDir, err))
	}
	return heapSource(out), "", id, nil
}

func checkExports(cm wazero.CompiledModule) error {
	exp := cm.ExportedFunctions()
	if _, ok := exp[abi.ExportMarker]; !ok {
		for name := range exp {
			if strings.HasPrefix(name, "imc_abi_v") {
				return fmt.Errorf("%w: the module is built for ABI %s, this host speaks %s", ErrABI, name, abi.ExportMarker)
			}
		}
		return fmt.Errorf("%w: the module does not export %s (not an imchost IMC, or built without sdk/imc)", ErrABI, abi.ExportMarker)
	}
	for _, e := range exportSigs {
		f, ok := exp[e.name]
		if !ok {
			return fmt.Errorf("%w: the module does not export %s", ErrABI, e.name)
		}
		if len(f.ParamTypes()) != e.params || len(f.ResultTypes()) != e.results ||
			!allI32(f.ParamTypes()) || !allI32(f.ResultTypes()) {
			return fmt.Errorf("%w: export %s has the signature %v -> %v", ErrABI, e.name, f.ParamTypes(), f.ResultTypes())
		}
	}
	return nil
}

// checkImports enforces that every import is a function of imchost (granted,
// known, right signature) or of wasi_snapshot_preview1, and returns the
// imchost functions imported.
func checkImports(cm wazero.CompiledModule, grants []string, from string) ([]string, error) {
	if len(cm.ImportedMemories()) > 0 {
		return nil, fmt.Errorf("%w: the module imports a memory", ErrGrant)
	}
	var used []string
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch mod {
		case "wasi_snapshot_preview1":
			continue
		case abi.ImportModule:
		default:
			return nil, fmt.Errorf("%w: the module imports %s.%s; only %s and wasi_snapshot_preview1 exist", ErrGrant, mod, name, abi.ImportModule)
		}
		fn := capability.Lookup(name)
		if fn == nil {
			return nil, fmt.Errorf("%w: the module imports %s.%s, which this host does not provide", ErrGrant, mod, name)
		}
		params, results := fn.Kind.Signature()
		if len(f.ParamTypes()) != params || len(f.ResultTypes()) != results || !allI32(f.ParamTypes()) || !allI32(f.ResultTypes()) {
			return nil, fmt.Errorf("%w: import %s.%s has the signature %v -> %v", ErrABI, mod, name, f.ParamTypes(), f.ResultTypes())
		}
		if !fn.Ungranted && !slices.Contains(grants, name) {
			return nil, fmt.Errorf("%w: the module imports %s.%s, which %s does not grant (grants: %s)",
				ErrGrant, mod, name, from, strings.Join(grants, ", "))
		}
		if !slices.Contains(used, name) {
			used = append(used, name)
		}
	}
	slices.Sort(used)
	return used, nil
}

// probe instantiates the module once without a connection, runs
// imc_initialize, collects its subscriptions and closes it again.
func (h *Host) probe(ctx context.Context, v *version) ([]abi.MsgType, error) {
	inst, err := h.newInstance(ctx, v, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInit, err)
	}
	subs := inst.sess.Subscriptions()
	if len(subs) == 0 || !h.opts.ReuseProbe {
		inst.terminate(ctx)
	} else {
		v.spare = inst // not in service yet: no other goroutine sees v
	}
	if len(subs) == 0 {
		return nil, fmt.Errorf("%w: the module subscribed to no message type in imc_initialize", ErrInit)
	}
	return subs, nil
}

// CheckOptions configure Check.
type CheckOptions struct {
	Name string // IMC name used in messages ("check" when empty)
	// Grants to check the imports against; nil grants everything, so Check
	// reports what the module imports (ModuleInfo.Imports) without refusing.
	Grants   []string
	SHA256   string              // optional pin
	Settings Settings            // what config_get answers during imc_initialize
	Platform capability.Platform // backs host functions called during imc_initialize
	Logger   hclog.Logger
	// CacheDir is the compilation cache ("" = DefaultCacheDir with fallback).
	CacheDir string
	// CompilationCache overrides CacheDir.
	CompilationCache wazero.CompilationCache
}

// Check validates a module file the way loading does (pin, wasm, ABI
// marker and exports, imports ⊆ grants, imc_initialize and subscriptions)
// without a running host: `imchost imc check FILE`.
func Check(ctx context.Context, path string, o CheckOptions) (ModuleInfo, error) {
	name := o.Name
	if name == "" {
		name = "check"
	}
	grants := o.Grants
	if grants == nil {
		grants = capability.GrantNames()
	}
	cfg := &Config{IMCs: []IMCConfig{{Name: name, Path: path, SHA256: o.SHA256, Grants: grants, Settings: o.Settings}}}
	cfg.Wasm.CacheDir = o.CacheDir
	h, err := New(cfg, Options{Logger: o.Logger, Platform: o.Platform, CompilationCache: o.CompilationCache})
	if err != nil {
		return ModuleInfo{}, err
	}
	defer h.Close(ctx)
	if err := h.LoadIMCs(ctx); err != nil {
		return ModuleInfo{}, err
	}
	l := h.List()
	if len(l) != 1 {
		return ModuleInfo{}, errors.New("host: check: module not loaded")
	}
	return l[0], nil
}

// clearCacheDir empties wazero's directories ("wazero-<version>-<arch>-<os>")
// in a compilation cache directory; the directories stay (wazero writes new
// entries into them) and nothing else is touched.
func clearCacheDir(dir string) error {
	subs, err := filepath.Glob(filepath.Join(dir, "wazero-*"))
	if err != nil {
		return err
	}
	var errs []error
	for _, sub := range subs {
		ents, err := os.ReadDir(sub)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range ents {
			errs = append(errs, os.RemoveAll(filepath.Join(sub, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// compileGuarded is wazero's CompileModule with a panic turned into an
// error. wasmstop refuses every input known to make wazero's decoder or
// validator panic (fuzzing found one: a call to a function whose type
// index was out of range); should another exist, a module file must not be
// able to bring the host down.
func compileGuarded(ctx context.Context, rt wazero.Runtime, bin []byte) (cm wazero.CompiledModule, err error) {
	defer func() {
		if p := recover(); p != nil {
			cm, err = nil, fmt.Errorf("wazero failed on it: %v", p)
		}
	}()
	return rt.CompileModule(ctx, bin)
}

// lazyVersion is a lazy IMC's load (IMCConfig.Lazy): the file verified
// (pin, signature, header) and its record's imports checked against the
// grants, nothing compiled. ok is false when there is no usable record:
// the caller loads the module in full (which writes the record).
func (h *Host) lazyVersion(ctx context.Context, full *Config, id uint32, c *IMCConfig, mf *moduleFile) (v *version, ok bool, err error) {
	signer, err := h.verifyFile(full, c, mf)
	if err != nil {
		return nil, true, err
	}
	rec, rerr := h.readRecord(mf.sha, c.Settings)
	if rerr != nil {
		h.wlog.Warn(rerr.Error())
	}
	if rec == nil {
		return nil, false, nil
	}
	if err := checkImportNames(rec.Imports, c.Grants, full.source()); err != nil {
		return nil, true, err
	}
	pages := full.memoryPages(c)
	hr, err := h.runtime(ctx, pages)
	if err != nil {
		return nil, true, err
	}
	return &version{
		cfg: *c, full: full, sha: mf.sha, size: mf.size, signer: signer, rt: hr, pages: pages,
		timeout: full.callTimeout(c), loadedAt: time.Now(), refs: 1, imports: rec.Imports, subs: rec.Subs,
		m: &module{id: id, name: c.Name}, lazy: &lazyState{},
	}, true, nil
}

// startLazy compiles a lazy version on its first use. What it compiles is
// what its load verified: the wasmstop rewrite of the file with the sha256
// the load checked against the pin and the signature, from the cache,
// where its MAC binds it to that sha256 (instrument); only when the cache
// has no rewrite is the file read again, and then it must still have that
// sha256, or the IMC is refused (a file changed after the load is a
// reload's to check). The compiled module passes the checks a full load
// makes (ABI exports, imports ⊆ grants, the imports its record named). A
// refusal is logged and removes the record, so that the next start loads
// the module in full; the next connection that needs it tries again.
// background says it runs for Prefetch, not for a message.
func (h *Host) startLazy(ctx context.Context, v *version, background bool) error {
	l := v.lazy
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return nil
	}
	err := h.compileLazy(context.WithoutCancel(ctx), v, background)
	if err != nil {
		removeFile(h.recordPath(v.sha, v.cfg.Settings))
		h.wlog.Error(fmt.Sprintf("IMC %d \"%s\" refused at its first use, from '%s': %v", v.m.id, v.m.name, v.cfg.Path, err))
		return err
	}
	l.done = true
	return nil
}

func (h *Host) compileLazy(ctx context.Context, v *version, background bool) error {
	mf := &moduleFile{path: v.cfg.Path, sha: v.sha, size: v.size, head: wasmMagic}
	cm, src, took, compiles, err := h.compileFile(ctx, v.rt, &v.cfg, mf)
	if err != nil {
		return err
	}
	err = checkExports(cm)
	var imports []string
	if err == nil {
		imports, err = checkImports(cm, v.cfg.Grants, v.full.source())
	}
	if err == nil && !slices.Equal(imports, v.imports) {
		err = fmt.Errorf("%w: the module imports %s, its record %s", ErrGrant, strings.Join(imports, ", "), strings.Join(v.imports, ", "))
	}
	if err != nil {
		cm.Close(ctx)
		src.close()
		return err
	}
	h.mu.Lock()
	v.compiled, v.src, v.took, v.native = cm, src, took, compiles
	v.lazy.compiled = true
	h.mu.Unlock()
	when := "for its first message"
	if background {
		when = "in the background"
	}
	h.wlog.Info(fmt.Sprintf("IMC %d \"%s\" compiled %s in %s", v.m.id, v.m.name, when, took.Round(time.Millisecond)))
	return nil
}
