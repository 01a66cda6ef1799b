package cli

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// strongSwan's pt-tls-client (src/pt-tls-client/pt-tls-client.c) takes
//
//	-c/--connect HOST  -p/--port PORT  -x/--cert FILE (repeatable)
//	-X/--certid HEX  -k/--key FILE  -K/--keyid HEX  -t/--key-type rsa|ecdsa
//	-i/--client ID  -s/--secret PASSWORD  -m/--mutual  -q/--quiet
//	-d/--debug N  -+/--options/--optionsfrom FILE  -h/--help
//
// with getopt_long's syntax (-cHOST, -mq, --port=271). imchost run takes
// the same command line with the same meaning; what is imchost's own has
// long names of its own (--ca, --config, --tpm, ...).

// ptlsShortValue are pt-tls-client's one-letter options that take a value;
// ptlsShortBool those that do not.
const (
	ptlsShortValue = "cispxXKktd+"
	ptlsShortBool  = "hmq"
)

// maxOptionsFrom bounds nested --optionsfrom files, as strongSwan's
// options_t does (MAX_USES), so that a file naming itself ends.
const maxOptionsFrom = 20

// expandPTLSArgs rewrites pt-tls-client's command-line syntax into what
// package flag parses: --optionsfrom FILE (also -+ FILE, --options FILE)
// is replaced by the arguments the file holds (whitespace separated, '...'
// or "..." quoted, as strongSwan reads them), and getopt's joined short
// options are split (-cHOST → -c HOST, -mq → -m -q). Arguments that name
// one of fs's flags (-debug, -config) and everything after "--" stay as
// they are.
func expandPTLSArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	return expandArgs(fs, args, 0)
}

func expandArgs(fs *flag.FlagSet, args []string, depth int) ([]string, error) {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...), nil
		}
		file, isFrom := "", false
		switch {
		case a == "-+" || a == "--options" || a == "--optionsfrom" || a == "-options" || a == "-optionsfrom":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%s needs a FILE", a)
			}
			file, isFrom = args[i+1], true
			i++
		case strings.HasPrefix(a, "--options=") || strings.HasPrefix(a, "--optionsfrom="):
			_, file, _ = strings.Cut(a, "=")
			isFrom = true
		case strings.HasPrefix(a, "-+") && len(a) > 2:
			file, isFrom = a[2:], true
		}
		if isFrom {
			if depth+1 >= maxOptionsFrom {
				return nil, fmt.Errorf("--optionsfrom %s: more than %d nested files (a loop?)", file, maxOptionsFrom)
			}
			more, err := optionsFrom(file)
			if err != nil {
				return nil, err
			}
			if more, err = expandArgs(fs, more, depth+1); err != nil {
				return nil, err
			}
			out = append(out, more...)
			continue
		}
		toks := splitShort(fs, a)
		out = append(out, toks...)
		// The value of an option given apart is taken as it is: a secret
		// may start with a dash.
		if last := toks[len(toks)-1]; strings.HasPrefix(last, "-") && !strings.Contains(last, "=") &&
			takesValue(fs, strings.TrimLeft(last, "-")) && i+1 < len(args) {
			out = append(out, args[i+1])
			i++
		}
	}
	return out, nil
}

// takesValue reports whether the flag name is one of fs's and takes a
// value (not a boolean).
func takesValue(fs *flag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return false
	}
	return true
}

// splitShort splits getopt's joined short options: "-cHOST" into "-c",
// "HOST"; "-mq" into "-m", "-q". Anything else comes back as it is.
func splitShort(fs *flag.FlagSet, a string) []string {
	if len(a) <= 2 || a[0] != '-' || a[1] == '-' {
		return []string{a}
	}
	name, _, _ := strings.Cut(a[1:], "=")
	if fs.Lookup(name) != nil {
		return []string{a} // Go's single-dash long form: -debug 2, -config=x
	}
	if strings.IndexByte(ptlsShortValue, a[1]) >= 0 {
		return []string{a[:2], a[2:]}
	}
	for _, c := range a[1:] {
		if !strings.ContainsRune(ptlsShortBool, c) {
			return []string{a}
		}
	}
	var out []string
	for _, c := range a[1:] {
		out = append(out, "-"+string(c))
	}
	return out
}

// optionsFrom reads the arguments of an --optionsfrom file: per line,
// tokens separated by spaces or tabs, a token starting with ' or " running
// to the same quote.
func optionsFrom(file string) ([]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--optionsfrom: %w", err)
	}
	var out []string
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		for {
			line = strings.TrimLeft(line, " \t")
			if line == "" {
				break
			}
			if q := line[0]; q == '"' || q == '\'' {
				end := strings.IndexByte(line[1:], q)
				if end < 0 {
					return nil, fmt.Errorf("--optionsfrom %s:%d: missing closing %c", file, n+1, q)
				}
				out = append(out, line[1:1+end])
				line = line[2+end:]
				continue
			}
			end := strings.IndexAny(line, " \t")
			if end < 0 {
				end = len(line)
			}
			out = append(out, line[:end])
			line = line[end:]
		}
	}
	return out, nil
}

// ptlsCreds are the certificates and key a pt-tls-client command line
// names: every -x/--cert file is trusted (the PDP's CA among them), and
// with -k/--key the one whose public key is the key's is also the client
// certificate.
type ptlsCreds struct {
	certs   []string // -x/--cert files, in order
	keyType string   // -t/--key-type: "rsa", "ecdsa", or "" / "any"
}

// pemCertificates returns the file's bytes; it must hold at least one PEM
// certificate.
func pemCertificates(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--cert: %w", err)
	}
	for rest := b; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			return nil, fmt.Errorf("--cert %s: no PEM certificate in it", file)
		}
		if blk.Type == "CERTIFICATE" {
			return b, nil
		}
	}
}

// clientPair finds the client certificate for keyPEM: the [pdp] cert
// file when given, else the first --cert file whose (first) certificate
// belongs to the key.
func (c *ptlsCreds) clientPair(certFile string, certPEMs [][]byte, keyFile string, keyPEM []byte) (tls.Certificate, []byte, error) {
	if certFile != "" {
		b, err := os.ReadFile(certFile)
		if err != nil {
			return tls.Certificate{}, nil, fmt.Errorf("client certificate: %w", err)
		}
		certPEMs = [][]byte{b}
	}
	for _, b := range certPEMs {
		if pair, err := tls.X509KeyPair(b, keyPEM); err == nil {
			return pair, b, c.checkKeyType(keyFile, pair)
		}
	}
	if certFile != "" {
		_, err := tls.X509KeyPair(certPEMs[0], keyPEM)
		return tls.Certificate{}, nil, fmt.Errorf("client certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return tls.Certificate{}, nil, fmt.Errorf("client key %s: none of the --cert certificates (%s) is its certificate", keyFile, strings.Join(c.certs, ", "))
}

// checkKeyType applies -t/--key-type.
func (c *ptlsCreds) checkKeyType(keyFile string, pair tls.Certificate) error {
	switch strings.ToLower(c.keyType) {
	case "rsa":
		if _, ok := pair.PrivateKey.(*rsa.PrivateKey); !ok {
			return fmt.Errorf("client key %s is not an RSA key (--key-type rsa)", keyFile)
		}
	case "ecdsa":
		if _, ok := pair.PrivateKey.(*ecdsa.PrivateKey); !ok {
			return fmt.Errorf("client key %s is not an ECDSA key (--key-type ecdsa)", keyFile)
		}
	}
	return nil
}

// errPKCS11 is the answer to pt-tls-client's --certid and --keyid.
var errPKCS11 = errors.New("--certid and --keyid load a certificate or key from a PKCS#11 token, which imchost does not use: " +
	"give them as files with --cert FILE and --key FILE")
