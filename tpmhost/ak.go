package tpmhost

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/google/go-tpm/tpm2"
)

// AK is an attestation key persisted in the TPM.
type AK struct {
	Handle  uint32           // persistent handle, e.g. 0x81010003
	Public  crypto.PublicKey // *ecdsa.PublicKey or *rsa.PublicKey
	SPKI    []byte           // DER SubjectPublicKeyInfo (x509.MarshalPKIXPublicKey)
	KeyID   string           // SHA-1 of SPKI, 40 lower-case hex (the PTS Device ID)
	SigAlg  Alg              // AlgECDSA or AlgRSASSA
	HashAlg Alg              // the signing scheme's hash; also the quote's pcrDigest hash
	Name    []byte           // TPM2B_NAME contents (nameAlg + digest) of the key
	// QualifiedName is the key's qualified name (nameAlg + digest), what a
	// quote carries as qualifiedSigner.
	QualifiedName []byte

	// Cert is the optional X.509 AK certificate (AttachCertificate) and
	// CertDER its DER encoding.
	Cert    *x509.Certificate
	CertDER []byte

	// explicitScheme is set when the key's own scheme is NULL, so that
	// TPM2_Quote has to name one.
	explicitScheme bool
}

// LoadAK reads the public area of the key at a persistent handle
// (TPM2_ReadPublic) and checks that it can sign quotes: ECC P-256/P-384 with
// ECDSA, or RSA-2048 (or larger) with RSASSA. A key whose scheme is NULL is
// accepted and quoted with the curve's hash (ECDSA) or SHA-256 (RSASSA).
func (t *TPM) LoadAK(handle uint32) (*AK, error) {
	if err := t.lock(); err != nil {
		return nil, err
	}
	defer t.unlock()
	return t.loadAK(handle)
}

func (t *TPM) loadAK(handle uint32) (*AK, error) {
	op := fmt.Sprintf("TPM2_ReadPublic(0x%08x)", handle)
	rsp, err := tpm2.ReadPublic{ObjectHandle: tpm2.TPMHandle(handle)}.Execute(t.tr)
	if err != nil {
		return nil, tpmErr(op, err)
	}
	pub, err := rsp.OutPublic.Contents()
	if err != nil {
		return nil, &TPMError{Op: op, Kind: ErrTransport, Err: err}
	}
	ak, err := akFromPublic(handle, pub, rsp.Name.Buffer)
	if err != nil {
		return nil, &TPMError{Op: op, Kind: ErrWrongKeyType, Err: err,
			Hint: "use a restricted signing key (imchost provision-ak creates one)"}
	}
	ak.QualifiedName = bytes.Clone(rsp.QualifiedName.Buffer)
	t.log.Info(fmt.Sprintf("loaded AK 0x%08x with keyid %s (%s, %s)", handle, ak.KeyID, ak.SigAlg, ak.HashAlg), "handle", fmt.Sprintf("0x%08x", handle), "keyid", ak.KeyID,
		"sig_alg", ak.SigAlg, "hash", ak.HashAlg)
	return ak, nil
}

func akFromPublic(handle uint32, pub *tpm2.TPMTPublic, name []byte) (*AK, error) {
	if !pub.ObjectAttributes.SignEncrypt {
		return nil, errors.New("the key has no sign attribute")
	}
	if pub.ObjectAttributes.Decrypt && pub.ObjectAttributes.Restricted {
		return nil, errors.New("the key is a restricted decryption (storage) key")
	}
	ak := &AK{Handle: handle, Name: bytes.Clone(name)}
	switch pub.Type {
	case tpm2.TPMAlgECC:
		parms, err := pub.Parameters.ECCDetail()
		if err != nil {
			return nil, err
		}
		var curveHash Alg
		switch parms.CurveID {
		case tpm2.TPMECCNistP256:
			curveHash = AlgSHA256
		case tpm2.TPMECCNistP384:
			curveHash = AlgSHA384
		default:
			return nil, fmt.Errorf("ECC curve 0x%04x is not supported (want NIST P-256 or P-384)", uint16(parms.CurveID))
		}
		ak.SigAlg = AlgECDSA
		switch parms.Scheme.Scheme {
		case tpm2.TPMAlgECDSA:
			d, err := parms.Scheme.Details.ECDSA()
			if err != nil {
				return nil, err
			}
			ak.HashAlg = Alg(d.HashAlg)
		case tpm2.TPMAlgNull:
			ak.HashAlg, ak.explicitScheme = curveHash, true
		default:
			return nil, fmt.Errorf("ECC signing scheme %s is not supported (want ECDSA)", Alg(parms.Scheme.Scheme))
		}
		if ak.HashAlg != curveHash {
			return nil, fmt.Errorf("ECDSA with %s on this curve: strongSwan verifiers require %s", ak.HashAlg, curveHash)
		}
	case tpm2.TPMAlgRSA:
		parms, err := pub.Parameters.RSADetail()
		if err != nil {
			return nil, err
		}
		if parms.KeyBits < 2048 {
			return nil, fmt.Errorf("RSA-%d is too small (want at least 2048 bits)", parms.KeyBits)
		}
		ak.SigAlg = AlgRSASSA
		switch parms.Scheme.Scheme {
		case tpm2.TPMAlgRSASSA:
			d, err := parms.Scheme.Details.RSASSA()
			if err != nil {
				return nil, err
			}
			ak.HashAlg = Alg(d.HashAlg)
		case tpm2.TPMAlgNull:
			ak.HashAlg, ak.explicitScheme = AlgSHA256, true
		default:
			return nil, fmt.Errorf("RSA signing scheme %s is not supported (want RSASSA: strongSwan rejects PSS)", Alg(parms.Scheme.Scheme))
		}
	default:
		return nil, fmt.Errorf("key type %s is not supported (want ECC or RSA)", Alg(pub.Type))
	}
	if h := ak.HashAlg.Hash(); h == 0 || !h.Available() {
		return nil, fmt.Errorf("signing hash %s is not supported", ak.HashAlg)
	}
	key, err := tpm2.Pub(*pub)
	if err != nil {
		return nil, err
	}
	if k, ok := key.(*ecdsa.PublicKey); ok && !k.Curve.IsOnCurve(k.X, k.Y) { //nolint:staticcheck // validity check only
		return nil, errors.New("the public point is not on its curve")
	}
	spki, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki)
	ak.Public, ak.SPKI, ak.KeyID = key, spki, hex.EncodeToString(sum[:])
	return ak, nil
}

// AttachCertificate sets the AK's X.509 certificate from PEM or DER data; the
// certificate's public key must be the AK's.
func (ak *AK) AttachCertificate(data []byte) error {
	der := data
	if blk, _ := pem.Decode(data); blk != nil {
		if blk.Type != "CERTIFICATE" {
			return fmt.Errorf("tpmhost: AK certificate: PEM block %q, want CERTIFICATE", blk.Type)
		}
		der = blk.Bytes
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("tpmhost: AK certificate: %w", err)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if k, ok := ak.Public.(equaler); !ok || !k.Equal(cert.PublicKey) {
		return fmt.Errorf("tpmhost: AK certificate %q certifies a different key than the AK at 0x%08x (keyid %s)",
			cert.Subject, ak.Handle, ak.KeyID)
	}
	ak.Cert, ak.CertDER = cert, bytes.Clone(der)
	return nil
}

// LoadCertificateFile reads a PEM or DER certificate file and attaches it
// (see AttachCertificate).
func (ak *AK) LoadCertificateFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("tpmhost: AK certificate: %w", err)
	}
	return ak.AttachCertificate(b)
}

// AKKind selects the key ProvisionAK creates.
type AKKind int

const (
	// AKECCP256 is an ECC NIST P-256 key signing with ECDSA-SHA256.
	AKECCP256 AKKind = iota + 1
	// AKRSA2048 is an RSA-2048 key signing with RSASSA-PKCS1-v1_5-SHA256.
	AKRSA2048
)

// String names the kind ("ecc-p256", "rsa-2048").
func (k AKKind) String() string {
	switch k {
	case AKECCP256:
		return "ecc-p256"
	case AKRSA2048:
		return "rsa-2048"
	}
	return fmt.Sprintf("akkind(%d)", int(k))
}

// ParseAKKind maps "ecc"/"ecc-p256"/"ecdsa" and "rsa"/"rsa-2048" to an AKKind.
func ParseAKKind(s string) (AKKind, error) {
	switch s {
	case "ecc", "ecc-p256", "p256", "ecdsa", "":
		return AKECCP256, nil
	case "rsa", "rsa-2048", "rsa2048", "rsassa":
		return AKRSA2048, nil
	}
	return 0, fmt.Errorf("tpmhost: unknown AK type %q (want ecc-p256 or rsa-2048)", s)
}

func akTemplate(kind AKKind) (tpm2.TPMTPublic, error) {
	attrs := tpm2.TPMAObject{
		FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true,
		UserWithAuth: true, NoDA: true, Restricted: true, SignEncrypt: true,
	}
	switch kind {
	case AKECCP256:
		return tpm2.TPMTPublic{
			Type: tpm2.TPMAlgECC, NameAlg: tpm2.TPMAlgSHA256, ObjectAttributes: attrs,
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
				Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
				Scheme: tpm2.TPMTECCScheme{
					Scheme:  tpm2.TPMAlgECDSA,
					Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256}),
				},
				CurveID: tpm2.TPMECCNistP256,
				KDF:     tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
				X: tpm2.TPM2BECCParameter{Buffer: make([]byte, 32)},
				Y: tpm2.TPM2BECCParameter{Buffer: make([]byte, 32)},
			}),
		}, nil
	case AKRSA2048:
		return tpm2.TPMTPublic{
			Type: tpm2.TPMAlgRSA, NameAlg: tpm2.TPMAlgSHA256, ObjectAttributes: attrs,
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
				Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
				Scheme: tpm2.TPMTRSAScheme{
					Scheme:  tpm2.TPMAlgRSASSA,
					Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSASSA, &tpm2.TPMSSigSchemeRSASSA{HashAlg: tpm2.TPMAlgSHA256}),
				},
				KeyBits: 2048,
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: make([]byte, 256)}),
		}, nil
	}
	return tpm2.TPMTPublic{}, fmt.Errorf("tpmhost: unknown AK kind %d", int(kind))
}

// ProvisionAK creates a restricted signing key of the given kind under the
// owner hierarchy's ECC storage primary (the TCG SRK template) and persists
// it at handle (TPM2_EvictControl). If the handle is taken, ProvisionAK fails
// with ErrHandleInUse unless replace is true, in which case the old object is
// evicted first. It is meant for demos and tests; production AKs usually come
// from the platform's provisioning.
func (t *TPM) ProvisionAK(handle uint32, kind AKKind, replace bool) (*AK, error) {
	if handle>>24 != 0x81 {
		return nil, fmt.Errorf("tpmhost: 0x%08x is not a persistent handle (0x81xxxxxx)", handle)
	}
	tmpl, err := akTemplate(kind)
	if err != nil {
		return nil, err
	}
	if err := t.lock(); err != nil {
		return nil, err
	}
	defer t.unlock()
	hs := fmt.Sprintf("0x%08x", handle)
	if old, err := (tpm2.ReadPublic{ObjectHandle: tpm2.TPMHandle(handle)}).Execute(t.tr); err == nil {
		if !replace {
			return nil, &TPMError{Op: "provision AK at " + hs, Kind: ErrHandleInUse,
				Hint: "the handle already holds a key; choose another handle or ask to replace it"}
		}
		if _, err := (tpm2.EvictControl{
			Auth:             tpm2.TPMRHOwner,
			ObjectHandle:     tpm2.NamedHandle{Handle: tpm2.TPMHandle(handle), Name: old.Name},
			PersistentHandle: tpm2.TPMIDHPersistent(handle),
		}).Execute(t.tr); err != nil {
			return nil, tpmErr("TPM2_EvictControl(evict "+hs+")", err)
		}
		t.log.Info("evicted old key", "handle", hs)
	}
	srk, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHOwner,
		InPublic:      tpm2.New2B(tpm2.ECCSRKTemplate),
	}.Execute(t.tr)
	if err != nil {
		return nil, tpmErr("TPM2_CreatePrimary(SRK)", err)
	}
	srkFlushed := false
	defer func() {
		if !srkFlushed {
			t.flush(srk.ObjectHandle)
		}
	}()
	parent := tpm2.NamedHandle{Handle: srk.ObjectHandle, Name: srk.Name}
	created, err := tpm2.Create{ParentHandle: parent, InPublic: tpm2.New2B(tmpl)}.Execute(t.tr)
	if err != nil {
		return nil, tpmErr("TPM2_Create(AK)", err)
	}
	loaded, err := tpm2.Load{ParentHandle: parent, InPrivate: created.OutPrivate, InPublic: created.OutPublic}.Execute(t.tr)
	if err != nil {
		return nil, tpmErr("TPM2_Load(AK)", err)
	}
	_, err = tpm2.EvictControl{
		Auth:             tpm2.TPMRHOwner,
		ObjectHandle:     tpm2.NamedHandle{Handle: loaded.ObjectHandle, Name: loaded.Name},
		PersistentHandle: tpm2.TPMIDHPersistent(handle),
	}.Execute(t.tr)
	// Free both transient slots before reading the persisted key back (a TPM
	// may hold as few as three loaded objects).
	t.flush(loaded.ObjectHandle)
	t.flush(srk.ObjectHandle)
	srkFlushed = true
	if err != nil {
		return nil, tpmErr("TPM2_EvictControl(persist "+hs+")", err)
	}
	ak, err := t.loadAK(handle)
	if err != nil {
		return nil, err
	}
	t.log.Info(fmt.Sprintf("provisioned AK %s (%s) with keyid %s", hs, kind, ak.KeyID), "handle", hs, "kind", kind, "keyid", ak.KeyID)
	return ak, nil
}

func (t *TPM) flush(h tpm2.TPMHandle) {
	if _, err := (tpm2.FlushContext{FlushHandle: h}).Execute(t.tr); err != nil {
		t.log.Debug("flushing transient object failed", "handle", fmt.Sprintf("0x%08x", uint32(h)), "error", err)
	}
}
