package host

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchDebounce lets a file copy or an editor's rename settle before Reload.
const watchDebounce = 300 * time.Millisecond

// Watch starts watching the configuration file and every module file (their
// directories, so that a file replaced by rename is seen) and calls Reload
// when one changes (Options.OnChange when set). It stops at Close. The CLI
// calls it when [wasm] watch is true; SIGHUP takes the CLI's same path.
func (h *Host) Watch() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("host: watch: %w", err)
	}
	h.mu.Lock()
	if h.watchStop != nil || h.closed {
		h.mu.Unlock()
		w.Close()
		return nil
	}
	h.watchStop, h.watchDone = make(chan struct{}), make(chan struct{})
	stop, done := h.watchStop, h.watchDone
	h.mu.Unlock()

	watched := map[string]bool{}
	files := map[string]bool{}
	refresh := func() {
		cfg := h.cfg.Load()
		paths := []string{}
		if cfg.Path != "" {
			paths = append(paths, cfg.Path)
		}
		for _, m := range cfg.IMCs {
			paths = append(paths, m.Path, m.signaturePath())
		}
		for _, p := range paths {
			abs, err := filepath.Abs(p)
			if err != nil {
				continue
			}
			files[abs] = true
			dir := filepath.Dir(abs)
			if !watched[dir] {
				if err := w.Add(dir); err != nil {
					h.wlog.Warn(fmt.Sprintf("cannot watch '%s': %v", dir, err))
					continue
				}
				watched[dir] = true
			}
		}
	}
	refresh()
	go func() {
		defer close(done)
		defer w.Close()
		var timer <-chan time.Time
		for {
			select {
			case <-stop:
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				abs, _ := filepath.Abs(ev.Name)
				if files[abs] && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Chmod) != 0 {
					timer = time.After(watchDebounce)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				h.wlog.Warn(fmt.Sprintf("file watch: %v", err))
			case <-timer:
				timer = nil
				h.wlog.Info("module or configuration changed, reloading")
				if h.opts.OnChange != nil {
					h.opts.OnChange()
				} else {
					h.Reload(context.Background(), nil)
				}
				refresh()
			}
		}
	}()
	return nil
}

func (h *Host) stopWatch() {
	h.mu.Lock()
	stop, done := h.watchStop, h.watchDone
	h.watchStop = nil
	h.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}
