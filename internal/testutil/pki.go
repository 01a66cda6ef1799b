package testutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
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

// KeyType is the public-key algorithm of a test key.
type KeyType string

// The key types a test PKI makes.
const (
	ECDSA KeyType = "ecdsa" // ECDSA P-256, the default
	RSA   KeyType = "rsa"   // RSA 2048
)

// NewKey makes a key of type kt.
func NewKey(t testing.TB, kt KeyType) crypto.Signer {
	t.Helper()
	var (
		k   crypto.Signer
		err error
	)
	if kt == RSA {
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// CA is a throw-away certificate authority, valid from an hour ago for a day.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	DER  []byte
}

// NewCA makes a CA named name with a kt key.
func NewCA(t testing.TB, name string, kt KeyType) *CA {
	t.Helper()
	key := NewKey(t, kt)
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{Organization: []string{"imchost tests"}, CommonName: name},
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
	return &CA{Cert: cert, Key: key, DER: der}
}

// Pool is a certificate pool holding only the CA.
func (c *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.Cert)
	return p
}

// PEM is the CA certificate, PEM-encoded.
func (c *CA) PEM() []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER}) }

// WriteFile writes the CA certificate as PEM into dir/name.pem and returns
// the path.
func (c *CA) WriteFile(t testing.TB, dir, name string) string {
	t.Helper()
	return WritePEM(t, filepath.Join(dir, name+".pem"), "CERTIFICATE", c.DER)
}

// Sign certifies pub as cn with names (IP addresses or DNS names) as
// subjectAltNames and the extended key usages given; it returns the DER
// certificate. Sign makes no key: use it for keys held elsewhere (an AK's
// private half stays in the TPM).
func (c *CA) Sign(t testing.TB, cn string, pub crypto.PublicKey, names []string, usages ...x509.ExtKeyUsage) []byte {
	t.Helper()
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{Organization: []string{"imchost tests"}, CommonName: cn},
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
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.Cert, pub, c.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// Leaf is a key and the certificate a CA issued for it.
type Leaf struct {
	DER []byte
	Key crypto.Signer
}

// Issue makes a kt key and a certificate for it (see Sign).
func (c *CA) Issue(t testing.TB, cn string, kt KeyType, names []string, usages ...x509.ExtKeyUsage) *Leaf {
	t.Helper()
	key := NewKey(t, kt)
	return &Leaf{DER: c.Sign(t, cn, key.Public(), names, usages...), Key: key}
}

// TLS is the leaf as a tls.Certificate.
func (l *Leaf) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{l.DER}, PrivateKey: l.Key}
}

// CertPEM is the certificate, PEM-encoded.
func (l *Leaf) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.DER})
}

// KeyPEM is the private key as PKCS #8, PEM-encoded.
func (l *Leaf) KeyPEM(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(l.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// WriteFiles writes the certificate and the key as PEM into dir/name.pem and
// dir/name-key.pem and returns both paths.
func (l *Leaf) WriteFiles(t testing.TB, dir, name string) (certFile, keyFile string) {
	t.Helper()
	certFile = WritePEM(t, filepath.Join(dir, name+".pem"), "CERTIFICATE", l.DER)
	keyFile = filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(keyFile, l.KeyPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// WritePEM writes der as one PEM block of type typ to path (mode 0600) and
// returns path.
func WritePEM(t testing.TB, path, typ string, der []byte) string {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}
