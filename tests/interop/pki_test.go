package interop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// keyType is the public key algorithm of a test PKI.
type keyType string

const (
	rsaKeys   keyType = "rsa"
	ecdsaKeys keyType = "ecdsa"
)

// ca is a certificate authority a test makes; file is its PEM certificate.
type ca struct {
	cert *x509.Certificate
	key  crypto.Signer
	file string
	der  []byte
}

func newKey(t *testing.T, kt keyType) crypto.Signer {
	t.Helper()
	var (
		k   crypto.Signer
		err error
	)
	if kt == rsaKeys {
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newCA makes a CA with a kt key, named name, its certificate in dir.
func newCA(t *testing.T, dir, name string, kt keyType) *ca {
	t.Helper()
	key := newKey(t, kt)
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{Organization: []string{"imchost interop"}, CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &ca{cert: cert, key: key, der: der, file: writePEM(t, filepath.Join(dir, name+".pem"), "CERTIFICATE", der)}
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

// leaf is a certificate the CA issued with its key, both as PEM files.
type leaf struct {
	certFile, keyFile string
	der               []byte
}

// issue makes a kt key and a certificate for it named cn, with the given
// names (IP addresses or DNS names) as subjectAltNames and extended key
// usages, both written into dir.
func (c *ca) issue(t *testing.T, dir, cn string, kt keyType, names []string, usages ...x509.ExtKeyUsage) leaf {
	t.Helper()
	key := newKey(t, kt)
	der := c.sign(t, cn, key.Public(), names, usages...)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return leaf{
		certFile: writePEM(t, filepath.Join(dir, cn+".pem"), "CERTIFICATE", der),
		keyFile:  writePEM(t, filepath.Join(dir, cn+"-key.pem"), "PRIVATE KEY", keyDER),
		der:      der,
	}
}

// sign certifies pub (no key file: an AK's private key stays in the TPM).
func (c *ca) sign(t *testing.T, cn string, pub crypto.PublicKey, names []string, usages ...x509.ExtKeyUsage) []byte {
	t.Helper()
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{Organization: []string{"imchost interop"}, CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usages}
	if _, ok := pub.(*rsa.PublicKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, pub, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func writePEM(t *testing.T, path, typ string, der []byte) string {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
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
