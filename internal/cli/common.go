package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/config"
	"github.com/imchost/imchost/internal/logfmt"
	"github.com/imchost/imchost/tpmhost"
)

// logFlags are the logging flags every command has.
type logFlags struct {
	debug  int
	quiet  bool
	format string
	time   bool
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&l.debug, "debug", -1, "log level 0..4 like strongSwan (1 facts, 2 message flow, 3 hex dumps); default from [log] level")
	fs.IntVar(&l.debug, "d", -1, "log level 0..4 like strongSwan (1 facts, 2 message flow, 3 hex dumps); default from [log] level")
	fs.BoolVar(&l.quiet, "quiet", false, "no log lines, only the result (errors still print)")
	fs.BoolVar(&l.quiet, "q", false, "no log lines, only the result (errors still print)")
	fs.StringVar(&l.format, "log-format", "", "text (strongSwan-style lines) or json; default from [log] format")
	fs.BoolVar(&l.time, "log-time", false, "prefix log lines with the time")
}

// logger builds the root logger writing to w; cfg may be nil.
func (l *logFlags) logger(w io.Writer, cfg *config.Log) (hclog.Logger, error) {
	level, err := l.level(cfg)
	if err != nil {
		return nil, err
	}
	format := "text"
	if cfg != nil && cfg.Format != "" {
		format = cfg.Format
	}
	if l.format != "" {
		format = l.format
	}
	switch format {
	case "text", "json":
	default:
		return nil, fmt.Errorf("log format %q: want text or json", format)
	}
	return logfmt.New(logfmt.Options{Output: w, Level: level, JSON: format == "json", Time: l.time}), nil
}

// level is the log level: --quiet, else --debug, else [log] level, else
// info. cfg may be nil.
func (l *logFlags) level(cfg *config.Log) (hclog.Level, error) {
	level := hclog.Info
	if cfg != nil && cfg.Level != "" {
		level = hclog.LevelFromString(cfg.Level)
		if level == hclog.NoLevel {
			return level, fmt.Errorf("config: [log] level %q is not one of error, warn, info, debug, trace", cfg.Level)
		}
	}
	if l.debug >= 0 {
		level = logfmt.DebugLevel(l.debug)
	}
	if l.quiet {
		level = hclog.Off
	}
	return level, nil
}

// defaultConfigPaths are tried in order when --config is not given.
var defaultConfigPaths = []string{"config.toml", "/etc/imchost/config.toml"}

// loadConfig reads path, or the first of defaultConfigPaths that exists,
// with the command line's overrides.
func loadConfig(path string, o config.Overrides) (*config.Config, error) {
	if path == "" {
		for _, p := range defaultConfigPaths {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	if path != "" {
		return config.Load(path, o)
	}
	return nil, fmt.Errorf("no configuration: neither %s exists; pass --config FILE", strings.Join(defaultConfigPaths, " nor "))
}

// openTPM opens the configured TPM; "none" runs without one (the tpm_*
// host functions then answer "unavailable").
func openTPM(spec string, log hclog.Logger) (*tpmhost.TPM, error) {
	if spec == "none" {
		log.Named("tpm").Warn("running without a TPM ([tpm] device = \"none\"): attestation will fail")
		return nil, nil
	}
	if spec == "" {
		spec = "/dev/tpmrm0"
	}
	t, err := tpmhost.Open(spec, log)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// startHost creates the host on the platform, loads the IMCs and reports
// refusals. Strict (imchost run), any refused IMC is an error: a module
// missing, not matching its pin or refusing its settings is this
// endpoint's fault, which must not reach the PDP as a policy failure.
// Otherwise it fails only when no IMC could be loaded.
// onChange, when set, is what the host's file watcher calls (see
// host.Options.OnChange).
func startHost(ctx context.Context, cfg *host.Config, plat capability.Platform, log hclog.Logger, onChange func(), strict bool) (*host.Host, error) {
	// ReuseProbe: the instance that checks each module at load serves the
	// first attestation, which then starts no module of its own.
	h, err := host.New(cfg, host.Options{Logger: log, Platform: plat, OnChange: onChange, ReuseProbe: true})
	if err != nil {
		return nil, err
	}
	if err := h.LoadIMCs(ctx); err != nil {
		if strict {
			h.Close(ctx)
			return nil, fmt.Errorf("%w (imchost check lists every problem with its fix)", err)
		}
		if len(h.List()) == 0 {
			h.Close(ctx)
			return nil, fmt.Errorf("no IMC could be loaded: %w", err)
		}
		log.Named("wasm").Warn(fmt.Sprintf("continuing without the refused IMCs: %v", err))
	}
	if len(h.List()) == 0 {
		h.Close(ctx)
		return nil, fmt.Errorf("no IMC configured ([[imc]] in %s)", cfg.Path)
	}
	// Loading leaves the Go heap megabytes larger than what stays live (the
	// modules' bytes, wazero's decoding of them): returned to the system now,
	// the attestation reuses less of it and the process's peak stays at the
	// load's (BENCHMARKS.md: 5 MB less peak RSS for about 3 ms).
	debug.FreeOSMemory()
	return h, nil
}
