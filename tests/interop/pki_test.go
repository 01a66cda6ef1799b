package interop

import (
	"crypto/x509"
	"testing"

	"github.com/imchost/imchost/internal/testutil"
)

// keyType is the public key algorithm of a test PKI.
type keyType = testutil.KeyType

const (
	rsaKeys   = testutil.RSA
	ecdsaKeys = testutil.ECDSA
)

// ca is a certificate authority a test makes; file is its PEM certificate.
type ca struct {
	*testutil.CA
	file string
}

// newCA makes a CA with a kt key, named name, its certificate in dir.
func newCA(t *testing.T, dir, name string, kt keyType) *ca {
	t.Helper()
	c := testutil.NewCA(t, name, kt)
	return &ca{CA: c, file: c.WriteFile(t, dir, name)}
}

// leaf is a certificate the CA issued with its key, both as PEM files.
type leaf struct {
	certFile, keyFile string
	der               []byte
}

// issue makes a kt key and a certificate for it named cn (see
// testutil.CA.Sign), both written into dir.
func (c *ca) issue(t *testing.T, dir, cn string, kt keyType, names []string, usages ...x509.ExtKeyUsage) leaf {
	t.Helper()
	l := c.Issue(t, cn, kt, names, usages...)
	certFile, keyFile := l.WriteFiles(t, dir, cn)
	return leaf{certFile: certFile, keyFile: keyFile, der: l.DER}
}

// pdpPKI is what a PDP needs: its CA, and its certificate for 127.0.0.1.
type pdpPKI struct {
	ca     *ca
	server leaf
}

// newPDPPKI makes a CA and a server certificate for 127.0.0.1 (the name the
// clients connect to) and pdp.test, all kt keys.
func newPDPPKI(t *testing.T, dir string, kt keyType) pdpPKI {
	t.Helper()
	c := newCA(t, dir, "pdp-ca", kt)
	return pdpPKI{ca: c, server: c.issue(t, dir, "pdp", kt, []string{"127.0.0.1", "pdp.test"}, x509.ExtKeyUsageServerAuth)}
}
