package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// secretEnv is the environment variable imchost run takes the SASL PLAIN
// password from when the command line names none: a systemd unit sets it
// with EnvironmentFile= or LoadCredential=, and it never shows in ps.
const secretEnv = "IMCHOST_SECRET"

// maxSecretFile bounds what readSecret and readPrivate read.
const maxSecretFile = 1 << 20

// readPrivate reads a file that holds a secret (a private key, a password)
// and refuses it, as ssh refuses an unprotected private key, when the group
// or others may read or write it: a secret anyone on the endpoint can read
// authenticates no one.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s: permissions %04o are too open: a secret must be readable by its owner only (chmod 600 %s)", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxSecretFile)
	}
	return b, nil
}

// readSecret reads a SASL password from a file (secret_file): its first
// line, without the line end, so that `echo s3cret > file` works.
func readSecret(path string) (string, error) {
	b, err := readPrivate(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return string(b), nil
}

// checkUsage refuses what the command line itself got wrong, before
// anything is read or opened, so that it exits 2 (usage), not 1.
func (f *runFlags) checkUsage(e *env, fs *flag.FlagSet) (int, bool) {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	bad := func(msg string) (int, bool) { return usageErr(e, "run", msg), false }
	if set["interval"] && f.interval <= 0 {
		return bad(fmt.Sprintf("--interval %s: want a positive duration such as 10m (leave --interval out to attest once)", f.interval))
	}
	if f.interval > 0 && f.interval < time.Second {
		return bad(fmt.Sprintf("--interval %s is shorter than a second: did you mean %ds or %dm?", f.interval, f.interval.Milliseconds(), f.interval.Milliseconds()))
	}
	if (set["port"] || set["p"]) && (f.port <= 0 || f.port > 65535) {
		return bad(fmt.Sprintf("--port %d out of range 1..65535", f.port))
	}
	if f.certID != "" || f.keyID != "" {
		return bad(errPKCS11.Error())
	}
	if f.secret != "" && f.secretFile != "" {
		return bad("--secret and --secret-file exclude each other")
	}
	if err := checkFormat(f.format); err != nil {
		return bad(err.Error())
	}
	return 0, true
}

// checkFormat checks a --log-format value ("" keeps the configured one).
func checkFormat(format string) error {
	switch format {
	case "", "text", "json":
		return nil
	}
	return errors.New("--log-format " + format + ": want text or json")
}
