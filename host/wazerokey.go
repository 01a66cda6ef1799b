package host

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/cpu"
)

// Where wazero keeps the native code of a module in its file cache, so
// that the host authenticates exactly the entry wazero is going to read
// (integrity.go). This follows wazero v1.12's file cache (its directory
// name, the key of its optimizing compiler, the module ID); TestNativeEntryName
// fails should an upgrade change it, and until then nothing unsafe
// follows: an entry the host cannot name is never sealed, so every load
// removes it before wazero could read it (each start compiles again).

// wazeroDir is the directory wazero's file cache uses in dir.
func wazeroDir(dir string) string {
	return filepath.Join(dir, "wazero-"+wazeroVersion()+"-"+runtime.GOARCH+"-"+runtime.GOOS)
}

// wazeroVersion is the wazero version as wazero reads it from the build
// information ("dev" when it is not there, as in test binaries).
func wazeroVersion() string {
	missing := func(v string) bool { return v == "" || v == "(devel)" }
	var v string
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if strings.Contains(dep.Path, "github.com/tetratelabs/wazero") {
				v = dep.Version
			}
		}
		if missing(v) {
			v = info.Main.Version
		}
	}
	if missing(v) {
		return "dev"
	}
	return v
}

// wazeroCPU is the CPU feature word wazero's compiler keys its native code
// with (the features it generates code for).
func wazeroCPU() uint64 {
	var f uint64
	switch runtime.GOARCH {
	case "amd64":
		if cpu.X86.HasSSE41 {
			f |= 1
		}
		if cpu.X86.HasBMI1 {
			f |= 2
		}
		if cpu.X86.HasBMI1 && cpu.X86.HasBMI2 && cpu.X86.HasPOPCNT {
			f |= 4
		}
	case "arm64":
		if cpu.ARM64.HasATOMICS {
			f |= 1
		}
	}
	return f
}

// nativeName is the file name of wazero's native code for a module whose
// wazero module ID is id (moduleID).
func nativeName(id [sha256.Size]byte) string {
	h := sha256.New()
	h.Write(id[:])
	h.Write([]byte("WAZEVO"))
	var f [8]byte
	binary.LittleEndian.PutUint64(f[:], wazeroCPU())
	h.Write(f[:])
	return hex.EncodeToString(h.Sum(nil))
}
