package config

import "fmt"

// Restart lists, as "[table] key" (`[[imc]] "NAME" key` for an IMC), the
// keys whose value differs between old and new that a running `imchost
// run` keeps as it started with: the log format (the logger's output is
// made once), the TPM device (opened once), the compilation cache (opened
// once), the file watcher (started once) and the id of an IMC in both (the
// host keeps an IMC's ID across reloads: connections and the PDP know the
// IMC by it). Every other key a reload changes takes effect.
func Restart(old, new *Config) []string {
	var out []string
	add := func(changed bool, key string) {
		if changed {
			out = append(out, key)
		}
	}
	add(old.Log.Format != new.Log.Format, "[log] format")
	add(old.TPM.Device != new.TPM.Device, "[tpm] device")
	add(old.Wasm.CacheDir != new.Wasm.CacheDir, "[wasm] cache_dir")
	add(old.Wasm.Watch != new.Wasm.Watch, "[wasm] watch")
	for _, n := range new.IMCs {
		for _, o := range old.IMCs {
			add(o.Name == n.Name && o.ID != n.ID, fmt.Sprintf("[[imc]] %q id", n.Name))
		}
	}
	return out
}
