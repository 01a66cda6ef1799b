package cli

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// trimText asks the kernel to take the program's own code and read-only
// data out of this process's resident set (madvise MADV_PAGEOUT, Linux
// 5.4+) once the modules are released: an attestation touches ~15 MB of
// the static binary (wazero's compiler, TLS, the TPM code) that an idle
// agent does not need until the next one, when the pages come back from
// the page cache (or the file) on first touch. Clean file pages only: the
// writable data and the heap are left alone. Failures are ignored (an
// older kernel keeps the pages).
func trimText() {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// start-end perms offset dev inode path
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[5] != exe || (f[1] != "r-xp" && f[1] != "r--p") {
			continue
		}
		start, end, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		s, err1 := strconv.ParseUint(start, 16, 64)
		e, err2 := strconv.ParseUint(end, 16, 64)
		if err1 != nil || err2 != nil || e <= s {
			continue
		}
		unix.Syscall(unix.SYS_MADVISE, uintptr(s), uintptr(e-s), unix.MADV_PAGEOUT)
	}
}
