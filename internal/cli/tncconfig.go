package cli

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/imchost/imchost/host"
)

// mapTNCConfig gives the IMCs of a strongSwan tnc_config (/etc/tnc_config:
// `IMC "OS" /usr/lib/imchost/imcs/imc-os.wasm`) whose names are those of
// the shipped IMCs, OS and Attestation as strongSwan names its own, what
// the shipped config.toml gives them: their grants, PA subtypes, file
// access and settings (aik_handle, device_handle, ...). A tnc_config has no
// place for these, and the host's base grants alone would refuse both
// modules. Other names keep the base grants. A config.toml is untouched.
func mapTNCConfig(cfg *host.Config) error {
	if cfg == nil || !cfg.TNCConfig {
		return nil
	}
	shipped, err := host.ParseConfig(defaultConfig)
	if err != nil {
		return fmt.Errorf("the built-in configuration: %w", err)
	}
	for i := range cfg.IMCs {
		m := &cfg.IMCs[i]
		for _, s := range shipped.IMCs {
			if !strings.EqualFold(s.Name, m.Name) {
				continue
			}
			m.Grants = slices.Clone(s.Grants)
			m.PASend, m.PAReceive = slices.Clone(s.PASend), slices.Clone(s.PAReceive)
			m.Files = slices.Clone(s.Files)
			m.Settings = maps.Clone(s.Settings)
		}
	}
	return nil
}
