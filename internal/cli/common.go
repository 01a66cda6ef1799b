package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/logfmt"
	"github.com/imchost/imchost/tnccs/pb"
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
func (l *logFlags) logger(w io.Writer, cfg *host.LogConfig) (hclog.Logger, error) {
	level := hclog.Info
	format := "text"
	if cfg != nil {
		if cfg.Level != "" {
			level = hclog.LevelFromString(cfg.Level)
			if level == hclog.NoLevel {
				return nil, fmt.Errorf("config: [log] level %q is not one of error, warn, info, debug, trace", cfg.Level)
			}
		}
		if cfg.Format != "" {
			format = cfg.Format
		}
	}
	if l.debug >= 0 {
		level = logfmt.DebugLevel(l.debug)
	}
	if l.format != "" {
		format = l.format
	}
	if l.quiet {
		level = hclog.Off
	}
	switch format {
	case "text", "json":
	default:
		return nil, fmt.Errorf("log format %q: want text or json", format)
	}
	return logfmt.New(logfmt.Options{Output: w, Level: level, JSON: format == "json", Time: l.time}), nil
}

// defaultConfigPaths are tried in order when --config is not given.
var defaultConfigPaths = []string{"config.toml", "/etc/imchost/config.toml"}

// loadConfig reads path, or the first of defaultConfigPaths that exists.
func loadConfig(path string) (*host.Config, error) {
	if path == "" {
		for _, p := range defaultConfigPaths {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	if path != "" {
		cfg, err := host.LoadConfig(path)
		if err == nil {
			err = mapTNCConfig(cfg)
		}
		return cfg, err
	}
	return nil, fmt.Errorf("no configuration: neither %s exists; pass --config FILE", strings.Join(defaultConfigPaths, " nor "))
}

// useWasmDir points every module at the file of the same name in dir.
func useWasmDir(cfg *host.Config, dir string) {
	if dir == "" {
		return
	}
	for i := range cfg.IMCs {
		cfg.IMCs[i].Path = filepath.Join(dir, filepath.Base(cfg.IMCs[i].Path))
	}
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
func startHost(ctx context.Context, cfg *host.Config, plat host.Platform, log hclog.Logger, onConfig func(*host.Config), strict bool) (*host.Host, error) {
	h, err := host.New(cfg, host.Options{Logger: log, Platform: plat, OnConfig: onConfig})
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

// transportLimits fills the [tnccs] limits left unset with PT-TLS's, the
// transport imchost run speaks (strongSwan's pt-tls-client uses the same:
// 2097136-byte batches, 2097104-byte PA-TNC messages), so that the host
// tells the IMCs the size the connection really takes (max_message_size)
// and a large boot log goes in one batch. Values set in the file stay.
func transportLimits(cfg *host.Config) {
	l := pb.Limits{MaxBatchSize: int(cfg.TNCCS.MaxBatchSize), MaxMessageSize: int(cfg.TNCCS.MaxMessageSize)}.Over(pb.PTTLSLimits)
	cfg.TNCCS.MaxBatchSize, cfg.TNCCS.MaxMessageSize = uint32(l.MaxBatchSize), uint32(l.MaxMessageSize)
}
