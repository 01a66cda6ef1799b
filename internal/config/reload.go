package config

// Restart lists, as "[table] key", the keys whose value differs between
// old and new that a running `imchost run` keeps as it started with: the
// log format (the logger's output is made once), the TPM device (opened
// once), the compilation cache (opened once) and the file watcher (started
// once). Every other key a reload changes takes effect.
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
	return out
}
