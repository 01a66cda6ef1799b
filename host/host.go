// Package host runs IMCs compiled to WebAssembly: it loads the modules named
// in config.toml (compiled through wazero's file cache; checked for their
// sha256 pin, ABI marker and grants), instantiates each one per PB-TNC
// connection in a sandbox with a memory cap and a deadline on every call,
// implements the ABI's host functions (see abi/README.md) on a Platform
// (tpmhost in production), and hot-reloads changed modules.
//
// Host implements tnccs.IMCs: tnccs opens one Conn per PB-TNC connection and
// drives the IMCs through it.
package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/tnccs"
)

// Options are the parts of a Host that do not come from config.toml.
type Options struct {
	// Logger is the root logger; the host logs under "wasm" (loading,
	// grants, traps, reload) and "imc" (per-IMC events), and each module
	// logs under "imc.<name>". nil discards.
	Logger hclog.Logger
	// Platform backs the host functions (see NewTPMPlatform).
	Platform capability.Platform
	// CompilationCache, when set, replaces the file cache in
	// [wasm] cache_dir; tests share one across hosts. The Host does not
	// close it.
	CompilationCache wazero.CompilationCache
	// OnReport, when set, is called for every report a module makes.
	OnReport func(IMCReport)
	// ReuseProbe keeps the instance each load starts to check a module
	// (imc_initialize, subscriptions) and gives it to the next connection
	// instead of starting another: a one-shot `imchost run` starts each
	// module once instead of twice. The kept instance has served no
	// connection; until one takes it, it counts in Instances.
	ReuseProbe bool
	// OnChange, when set, is what the watcher (Watch) calls when a
	// watched file changed: the owner of the configuration reads it again
	// and hands the host its part with Reload. Unset, the watcher calls
	// Reload(ctx, nil): the module files again, the configuration as it is.
	OnChange func()
}

// IMCReport is one report call of a module: an assessment result or
// remediation instructions the IMC received from an IMV, for the CLI.
type IMCReport struct {
	Conn  tnccs.ConnID
	IMCID uint32
	IMC   string // the IMC's name
	abi.Report
}

// maxKeptReports bounds the connections whose reports Reports still returns.
const maxKeptReports = 64

// Host owns the wazero runtimes, the loaded IMC modules and their
// instances. All methods are safe for concurrent use.
type Host struct {
	opts Options
	cfg  atomic.Pointer[Config]
	log  hclog.Logger // root
	wlog hclog.Logger // "wasm"
	ilog hclog.Logger // "imc"

	cache    wazero.CompilationCache
	ownCache bool
	cacheDir string
	cacheKey []byte // the cache directory's MAC key (integrity.go)

	reloadMu sync.Mutex // serialises LoadIMCs and Reload

	mu          sync.Mutex
	runtimes    map[uint32]*hostRuntime // by memory limit in pages
	modules     []*module               // loaded, in ID order
	ids         map[string]uint32       // IMC name → ID, stable across reloads
	nextID      uint32
	conns       map[*Conn]struct{}
	reports     map[tnccs.ConnID][]IMCReport
	reportOrder []tnccs.ConnID
	closing     bool           // Close has begun: no new connection
	closed      bool           // Close has closed the connections
	opening     sync.WaitGroup // OpenConn calls instantiating; Close waits for them
	prefetching sync.WaitGroup // lazy versions compiling in the background (Prefetch)

	live atomic.Int64 // open module instances
	// Mappings made and not yet unmapped: instances' linear memories and
	// compiled modules' sources (tests watch them for leaks).
	memMaps, srcMaps atomic.Int64

	watchStop chan struct{}
	watchDone chan struct{}
}

// hostRuntime is one wazero runtime; modules with the same memory limit
// share it.
type hostRuntime struct {
	rt    wazero.Runtime
	pages uint32
}

// New returns a Host for cfg; it loads nothing yet (see LoadIMCs). It opens
// the compilation cache in cfg.Wasm.CacheDir, falling back to the user's
// cache directory when that is not writable.
func New(cfg *Config, opts Options) (*Host, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	h := &Host{
		opts:     opts,
		log:      log,
		wlog:     log.Named("wasm"),
		ilog:     log.Named("imc"),
		runtimes: map[uint32]*hostRuntime{},
		ids:      map[string]uint32{},
		nextID:   1,
		conns:    map[*Conn]struct{}{},
		reports:  map[tnccs.ConnID][]IMCReport{},
	}
	h.cfg.Store(cfg)
	if opts.CompilationCache != nil {
		h.cache = opts.CompilationCache
	} else {
		h.cache, h.cacheDir, h.cacheKey = openCache(cfg.Wasm.CacheDir, h.wlog)
		h.ownCache = true
	}
	return h, nil
}

// openCache opens wazero's file cache in dir (created 0700), else in the
// user's cache directory, else in memory only; it returns the directory in
// use and its MAC key (see integrity.go). A directory that fails strict
// modes is not used: one warning says what to fix, and modules are
// compiled in memory.
func openCache(dir string, log hclog.Logger) (wazero.CompilationCache, string, []byte) {
	var refused error
	try := func(d string) (wazero.CompilationCache, []byte, error) {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, nil, err
		}
		f, err := os.CreateTemp(d, ".probe-*")
		if err != nil {
			return nil, nil, err
		}
		f.Close()
		os.Remove(f.Name())
		if refused = strictDir(d); refused != nil {
			return nil, nil, refused
		}
		c, err := wazero.NewCompilationCacheWithDir(d)
		if err != nil {
			return nil, nil, err
		}
		refused = strictCache(d)
		var key []byte
		if refused == nil {
			var replaced error
			key, replaced, refused = loadCacheKey(d)
			if replaced != nil && refused == nil {
				log.Warn(fmt.Sprintf("compilation cache key %v; replaced by a new key (every cached module is compiled again once)",
					strings.TrimPrefix(replaced.Error(), errBadKey.Error()+": ")))
			}
		}
		if refused != nil {
			c.Close(context.Background())
			return nil, nil, refused
		}
		return c, key, nil
	}
	c, key, err := try(dir)
	if err == nil {
		log.Debug(fmt.Sprintf("compilation cache in '%s'", dir))
		return c, dir, key
	}
	if refused == nil {
		if ucd, uerr := os.UserCacheDir(); uerr == nil {
			alt := filepath.Join(ucd, "imchost")
			c, key, err2 := try(alt)
			if err2 == nil {
				log.Info(fmt.Sprintf("compilation cache '%s' is not writable (%v), using '%s'", dir, err, alt))
				return c, alt, key
			}
			if refused != nil {
				err = err2
			}
		}
	}
	if refused != nil {
		log.Warn(fmt.Sprintf("compilation cache refused: %v (whoever can write the cache chooses the code modules run); "+
			"modules are compiled in memory at every start until that is fixed", refused))
	} else {
		log.Warn(fmt.Sprintf("no writable compilation cache directory (%v); modules are compiled at every start", err))
	}
	return wazero.NewCompilationCache(), "", nil
}

// CacheDir returns the compilation cache directory in use ("" when the
// cache was given in Options or is memory only).
func (h *Host) CacheDir() string { return h.cacheDir }

// Config returns the configuration in force (after the last Reload).
func (h *Host) Config() *Config { return h.cfg.Load() }

// runtime returns the runtime for a memory limit, creating it with the
// WASI and imchost host modules on first use.
func (h *Host) runtime(ctx context.Context, pages uint32) (*hostRuntime, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errors.New("host: closed")
	}
	if r, ok := h.runtimes[pages]; ok {
		return r, nil
	}
	// No WithCloseOnContextDone: it starts a goroutine for every call into
	// a module. Modules are instrumented instead (wasmstop), and a call's
	// deadline or cancellation sets their stop global.
	rc := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(h.cache).
		WithMemoryLimitPages(pages)
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("host: WASI: %w", err)
	}
	if err := instantiateHostModule(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	r := &hostRuntime{rt: rt, pages: pages}
	h.runtimes[pages] = r
	return r, nil
}

// LoadIMCs loads every IMC of the configuration, in order, with IDs from 1.
// A module that fails a check is refused and logged; the others load. The
// returned error joins the refusals (nil when all loaded).
func (h *Host) LoadIMCs(ctx context.Context) error {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	cfg := h.cfg.Load()
	h.wlog.Debug(fmt.Sprintf("loading %s", plural(len(cfg.IMCs), "IMC", "IMCs")))
	errs := h.loadAll(ctx, cfg)
	h.prune()
	return errors.Join(errs...)
}

// idFor returns the stable ID of an IMC: the one it got first, else its
// configured id, else the next free one.
func (h *Host) idFor(c *IMCConfig) uint32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if id, ok := h.ids[c.Name]; ok {
		return id
	}
	used := func(id uint32) bool {
		for _, x := range h.ids {
			if x == id {
				return true
			}
		}
		return false
	}
	id := c.ID
	if id == 0 || used(id) {
		for used(h.nextID) || h.reserved(h.nextID) {
			h.nextID++
		}
		id = h.nextID
		h.nextID++
	}
	h.ids[c.Name] = id
	return id
}

// reserved reports whether an IMC of the configuration asks for id
// explicitly (automatic numbering skips it).
func (h *Host) reserved(id uint32) bool {
	for _, c := range h.cfg.Load().IMCs {
		if c.ID == id {
			return true
		}
	}
	return false
}

func (h *Host) moduleByName(name string) *module {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.modules {
		if m.name == name {
			return m
		}
	}
	return nil
}

// loadJob is one IMC of a load or reload: new, or replacing the running
// version.
type loadJob struct {
	c    *IMCConfig
	id   uint32
	old  *module  // the module loaded under this name, if any
	v    *version // compiled and not yet checked; nil when unchanged or failed
	err  error
	done chan struct{} // closed when the compilation is over
}

// loadAll loads or reloads every IMC of cfg. The compilations run
// concurrently, up to one per CPU; the checks, probes and registrations
// follow in configuration order, so that IDs, log lines and the order of
// the IMCs do not depend on which compilation ends first. It returns the
// refusals.
func (h *Host) loadAll(ctx context.Context, cfg *Config) []error {
	jobs := make([]*loadJob, len(cfg.IMCs))
	for i := range cfg.IMCs {
		c := &cfg.IMCs[i]
		jobs[i] = &loadJob{c: c, id: h.idFor(c), old: h.moduleByName(c.Name), done: make(chan struct{})}
	}
	if h.cacheDir != "" {
		// Native code without a MAC is never to be read (integrity.go).
		if gone := sweepNative(h.cacheDir); len(gone) > 0 {
			h.wlog.Warn(fmt.Sprintf("removed compiled code without a MAC (not sealed by this host) from the compilation cache: '%s'",
				strings.Join(gone, "', '")))
		}
	}
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for _, j := range jobs {
		go func() {
			defer close(j.done)
			sem <- struct{}{}
			defer func() { <-sem }()
			j.v, j.err = h.compileJob(ctx, cfg, j)
		}()
	}
	var errs []error
	for _, j := range jobs {
		<-j.done
		if err := h.finishJob(ctx, j); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// compileJob reads the module file and compiles it, unless the loaded
// version came from the same file and settings (then both are nil).
func (h *Host) compileJob(ctx context.Context, cfg *Config, j *loadJob) (*version, error) {
	mf, err := statModule(j.c.Path)
	if err != nil {
		return nil, err
	}
	if j.old != nil {
		if cur := j.old.current(h); cur != nil {
			same := cur.sameSource(cfg, j.c, mf.sha)
			cur.release(h)
			if same {
				return nil, nil
			}
		}
	}
	if j.c.Lazy {
		if v, ok, err := h.lazyVersion(ctx, cfg, j.id, j.c, mf); ok {
			return v, err
		}
	}
	return h.compile(ctx, cfg, j.id, j.c, mf)
}

// finishJob checks and probes a compiled version and puts it in service,
// or logs why it was refused.
func (h *Host) finishJob(ctx context.Context, j *loadJob) error {
	id, c, old, v, err := j.id, j.c, j.old, j.v, j.err
	if err == nil && v == nil {
		return nil // unchanged
	}
	if err == nil && v.lazy == nil {
		err = h.check(ctx, v)
		if err == nil && c.Lazy {
			if rerr := h.writeRecord(v); rerr != nil {
				h.wlog.Debug(fmt.Sprintf("not keeping the record of '%s' in '%s': %v", c.Path, h.cacheDir, rerr))
			}
		}
	}
	if err == nil {
		if err = h.measure(ctx, v); err != nil {
			v.dropSpare(h)
			v.closeCompiled(ctx)
		}
	}
	if err != nil {
		err = fmt.Errorf("host: IMC %d %q: %w", id, c.Name, err)
		if old != nil {
			cur := old.current(h)
			seq := 0
			if cur != nil {
				seq = cur.seq
				cur.release(h)
			}
			h.wlog.Error(fmt.Sprintf("IMC %d \"%s\": refusing the new version from '%s', version %d keeps serving: %v",
				id, c.Name, c.Path, seq, errors.Unwrap(err)))
		} else {
			h.wlog.Error(fmt.Sprintf("IMC %d \"%s\" not loaded from '%s': %v", id, c.Name, c.Path, errors.Unwrap(err)))
		}
		return err
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		v.release(h)
		return errors.New("host: closed")
	}
	m := old
	if m == nil {
		m = &module{id: id, name: c.Name}
		h.modules = append(h.modules, m)
		slices.SortFunc(h.modules, func(a, b *module) int { return int(a.id) - int(b.id) })
	}
	m.seq++
	v.m, v.seq = m, m.seq
	prev := m.cur
	m.cur = v // the module's reference moves to v
	h.mu.Unlock()

	subs := make([]string, len(v.subs))
	for i, t := range v.subs {
		subs[i] = t.String()
	}
	h.ilog.Info(fmt.Sprintf("IMC %d supports %s: %s", id, plural(len(v.subs), "message type", "message types"),
		joinComma(subs)))
	if prev != nil {
		h.ilog.Info(fmt.Sprintf("IMC %d \"%s\" reloaded from '%s' (version %d, sha256 %s)", id, c.Name, c.Path, v.seq, v.sha[:16]))
		prev.release(h)
	} else {
		h.ilog.Info(fmt.Sprintf("IMC %d \"%s\" loaded from '%s'", id, c.Name, c.Path))
	}
	if v.lazy != nil {
		h.wlog.Info(fmt.Sprintf("IMC %d \"%s\" checked against its record in the compilation cache, not compiled: it starts on its first message",
			id, c.Name))
		if c.Prefetch {
			h.prefetch(ctx, v)
		}
	}
	return nil
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// prefetch compiles a lazy version in the background (IMCConfig.Prefetch),
// holding a reference on it meanwhile; Close waits for it.
func (h *Host) prefetch(ctx context.Context, v *version) {
	h.mu.Lock()
	if h.closing || h.closed {
		h.mu.Unlock()
		return
	}
	v.refs++
	h.prefetching.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.prefetching.Done()
		defer v.release(h)
		_ = h.startLazy(context.WithoutCancel(ctx), v, true) // a refusal is logged; the first message tries again
	}()
}

// Reload puts cfg in force (nil: the configuration in force) and reads
// every module file again; changed modules are compiled and checked off to
// the side and, if good, serve the connections opened from now on. Running
// connections keep their instances. A broken new version is refused with a
// log line and the old one stays. IMCs removed from the configuration are
// unloaded (their running instances finish). An invalid cfg is refused
// whole. [wasm] cache_dir is the one value a reload does not change (the
// cache is opened once).
func (h *Host) Reload(ctx context.Context, cfg *Config) error {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	cur := h.cfg.Load()
	if cfg == nil {
		cfg = cur
	} else {
		if err := cfg.Validate(); err != nil {
			h.wlog.Error(fmt.Sprintf("reloading '%s' failed, keeping the running configuration: %v", cfg.source(), err))
			return fmt.Errorf("host: %w", err)
		}
		nc := *cfg
		nc.Wasm.CacheDir = cur.Wasm.CacheDir // the cache is opened once
		cfg = &nc
		h.cfg.Store(cfg)
	}
	errs := h.loadAll(ctx, cfg)
	keep := map[string]bool{}
	for i := range cfg.IMCs {
		keep[cfg.IMCs[i].Name] = true
	}
	h.mu.Lock()
	var gone []*module
	h.modules = slices.DeleteFunc(h.modules, func(m *module) bool {
		if !keep[m.name] {
			gone = append(gone, m)
			return true
		}
		return false
	})
	h.mu.Unlock()
	for _, m := range gone {
		h.ilog.Info(fmt.Sprintf("IMC %d \"%s\" unloaded", m.id, m.name))
		h.mu.Lock()
		v := m.cur
		m.cur = nil
		h.mu.Unlock()
		if v != nil {
			v.release(h)
		}
	}
	h.prune()
	return errors.Join(errs...)
}

// Open implements tnccs.IMCs: it instantiates every loaded IMC for the
// connection and calls its imc_initialize. An IMC that fails here is left
// out of this connection only.
func (h *Host) Open(ctx context.Context, id tnccs.ConnID, send tnccs.SendFunc) (tnccs.IMCConn, error) {
	c, err := h.OpenConn(ctx, id, send)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// OpenConn is Open returning the concrete *Conn.
func (h *Host) OpenConn(ctx context.Context, id tnccs.ConnID, send tnccs.SendFunc) (*Conn, error) {
	h.mu.Lock()
	if h.closed || h.closing {
		h.mu.Unlock()
		return nil, errors.New("host: closed")
	}
	h.opening.Add(1)
	defer h.opening.Done()
	var vs []*version
	var spares []*instance // a load's probe instance, kept (ReuseProbe)
	for _, m := range h.modules {
		if m.cur != nil {
			m.cur.refs++
			vs = append(vs, m.cur)
			spares = append(spares, m.cur.spare)
			m.cur.spare = nil
		}
	}
	c := &Conn{h: h, id: id, send: send}
	h.conns[c] = struct{}{}
	delete(h.reports, id)
	h.mu.Unlock()

	// The instances start concurrently (a Go guest's runtime takes
	// milliseconds to start), up to one per CPU; they serve in ID order.
	insts := make([]*instance, len(vs))
	errs := make([]error, len(vs))
	fresh := 0
	for i, sp := range spares {
		if sp != nil {
			insts[i] = sp.adopt(c)
		} else if vs[i].lazy != nil {
			insts[i] = h.pendingInstance(vs[i], c)
		} else {
			fresh++
		}
	}
	if fresh == 1 {
		for i, v := range vs {
			if insts[i] == nil {
				insts[i], errs[i] = h.newInstance(ctx, v, c)
			}
		}
	} else if fresh > 1 {
		var wg sync.WaitGroup
		sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
		for i, v := range vs {
			if insts[i] != nil {
				continue
			}
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				insts[i], errs[i] = h.newInstance(ctx, v, c)
			})
		}
		wg.Wait()
	}
	for i, v := range vs {
		if errs[i] != nil {
			h.wlog.Error(fmt.Sprintf("IMC %d \"%s\" failed for Connection ID %d: %v", v.m.id, v.m.name, id, errs[i]))
			v.release(h)
			continue
		}
		insts[i].ref = true
		c.insts = append(c.insts, insts[i])
	}
	return c, nil
}

// addReport records a module's report for the CLI.
func (h *Host) addReport(r IMCReport) {
	h.mu.Lock()
	if _, ok := h.reports[r.Conn]; !ok {
		h.reportOrder = append(h.reportOrder, r.Conn)
		if len(h.reportOrder) > maxKeptReports {
			delete(h.reports, h.reportOrder[0])
			h.reportOrder = h.reportOrder[1:]
		}
	}
	h.reports[r.Conn] = append(h.reports[r.Conn], r)
	h.mu.Unlock()
	h.ilog.Debug(fmt.Sprintf("IMC %d \"%s\" reported result %d from IMV %d for Connection ID %d",
		r.IMCID, r.IMC, r.Result, r.Validator, r.Conn))
	if h.opts.OnReport != nil {
		h.opts.OnReport(r)
	}
}

// Reports returns the reports the IMCs made on a connection (kept after the
// connection closes, for the last 64 connections; a new Open with the same
// ID clears them).
func (h *Host) Reports(conn tnccs.ConnID) []IMCReport {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reports[conn])
}

// Instances returns the number of module instances alive (probes and
// connections); tests use it to find leaks.
func (h *Host) Instances() int { return int(h.live.Load()) }

// Close closes every connection's instances, the loaded modules and the
// runtimes.
func (h *Host) Close(ctx context.Context) error {
	h.stopWatch()
	h.mu.Lock()
	if h.closed || h.closing {
		h.mu.Unlock()
		return nil
	}
	h.closing = true
	h.mu.Unlock()
	// A connection being opened finishes first: its instances must not
	// outlive the runtimes (their memory is unmapped when they close).
	// So does a compilation in the background.
	h.opening.Wait()
	h.prefetching.Wait()
	h.mu.Lock()
	conns := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.Close(ctx)
	}
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	h.mu.Lock()
	h.closed = true
	mods := h.modules
	h.modules = nil
	h.mu.Unlock()
	for _, m := range mods {
		h.mu.Lock()
		v := m.cur
		m.cur = nil
		h.mu.Unlock()
		if v != nil {
			v.release(h)
		}
	}
	var errs []error
	for _, r := range h.runtimes {
		errs = append(errs, r.rt.Close(ctx))
	}
	if h.ownCache {
		errs = append(errs, h.cache.Close(ctx))
	}
	return errors.Join(errs...)
}

// ModuleInfo describes a loaded module, for `imchost imc list` and
// `imchost imc check`.
type ModuleInfo struct {
	ID            uint32
	Name          string
	Path          string
	SHA256        string // hex
	Size          int    // bytes
	Signer        string // key ID (KeyID) of the key that signed the file; "" unsigned
	Version       int    // 1 at load, +1 at every reload that swapped it
	Grants        []string
	Imports       []string // imchost functions the module imports
	Subscriptions []abi.MsgType
	MemoryPages   uint32
	CallTimeout   time.Duration
	LoadedAt      time.Time
	Instances     int // live connection instances of this version
	// Lazy says the IMC is configured lazy (IMCConfig.Lazy); Compiled
	// whether the version has been compiled: false while a lazy IMC loaded
	// from its record has not been needed yet.
	Lazy, Compiled bool
}

// List returns the loaded modules in ID order.
func (h *Host) List() []ModuleInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []ModuleInfo
	for _, m := range h.modules {
		if m.cur != nil {
			out = append(out, m.cur.info())
		}
	}
	return out
}
