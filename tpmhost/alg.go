package tpmhost

import (
	"crypto"
	"fmt"
	"strings"

	// Registered so that crypto.Hash.New works for every bank we name.
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha3"
	_ "crypto/sha512"
)

// Alg is a TPM_ALG_ID (TPM 2.0 Part 2, §6.3). It names PCR banks, event-log
// digests, signature schemes and key types.
type Alg uint16

// TPM_ALG_ID values used by tpmhost.
const (
	AlgRSA      Alg = 0x0001 // TPM_ALG_RSA
	AlgSHA1     Alg = 0x0004 // TPM_ALG_SHA1
	AlgSHA256   Alg = 0x000B // TPM_ALG_SHA256
	AlgSHA384   Alg = 0x000C // TPM_ALG_SHA384
	AlgSHA512   Alg = 0x000D // TPM_ALG_SHA512
	AlgNull     Alg = 0x0010 // TPM_ALG_NULL
	AlgSM3_256  Alg = 0x0012 // TPM_ALG_SM3_256
	AlgRSASSA   Alg = 0x0014 // TPM_ALG_RSASSA (PKCS#1 v1.5 signatures)
	AlgRSAPSS   Alg = 0x0016 // TPM_ALG_RSAPSS
	AlgECDSA    Alg = 0x0018 // TPM_ALG_ECDSA
	AlgECC      Alg = 0x0023 // TPM_ALG_ECC
	AlgSHA3_256 Alg = 0x0027 // TPM_ALG_SHA3_256
	AlgSHA3_384 Alg = 0x0028 // TPM_ALG_SHA3_384
	AlgSHA3_512 Alg = 0x0029 // TPM_ALG_SHA3_512
)

var algNames = map[Alg]string{
	AlgRSA: "rsa", AlgSHA1: "sha1", AlgSHA256: "sha256", AlgSHA384: "sha384",
	AlgSHA512: "sha512", AlgNull: "null", AlgSM3_256: "sm3_256", AlgRSASSA: "rsassa",
	AlgRSAPSS: "rsapss", AlgECDSA: "ecdsa", AlgECC: "ecc", AlgSHA3_256: "sha3_256",
	AlgSHA3_384: "sha3_384", AlgSHA3_512: "sha3_512",
}

// String returns the lower-case name used in logs, CLI flags and .pcrs files
// ("sha256"), or "alg(0x....)" for an unknown value.
func (a Alg) String() string {
	if n, ok := algNames[a]; ok {
		return n
	}
	return fmt.Sprintf("alg(0x%04x)", uint16(a))
}

// ParseAlg maps a name such as "sha256" or "SHA-256" (or a hex id "0x000b") to
// an Alg.
func ParseAlg(name string) (Alg, error) {
	n := strings.ToLower(strings.ReplaceAll(name, "-", ""))
	for a, s := range algNames {
		if s == n {
			return a, nil
		}
	}
	var v uint16
	if _, err := fmt.Sscanf(n, "0x%x", &v); err == nil {
		return Alg(v), nil
	}
	return 0, fmt.Errorf("tpmhost: unknown algorithm %q (want sha1, sha256, sha384, sha512)", name)
}

// DigestSize returns the digest size of a hash algorithm, or 0 if a is not a
// hash algorithm tpmhost knows.
func (a Alg) DigestSize() int {
	switch a {
	case AlgSHA1:
		return 20
	case AlgSHA256, AlgSM3_256, AlgSHA3_256:
		return 32
	case AlgSHA384, AlgSHA3_384:
		return 48
	case AlgSHA512, AlgSHA3_512:
		return 64
	}
	return 0
}

// Hash returns the crypto.Hash of a hash algorithm, or 0 if Go has none
// (SM3) or a is not a hash algorithm.
func (a Alg) Hash() crypto.Hash {
	switch a {
	case AlgSHA1:
		return crypto.SHA1
	case AlgSHA256:
		return crypto.SHA256
	case AlgSHA384:
		return crypto.SHA384
	case AlgSHA512:
		return crypto.SHA512
	case AlgSHA3_256:
		return crypto.SHA3_256
	case AlgSHA3_384:
		return crypto.SHA3_384
	case AlgSHA3_512:
		return crypto.SHA3_512
	}
	return 0
}

// AlgFromHash maps a crypto.Hash to its TPM_ALG_ID (0 if none).
func AlgFromHash(h crypto.Hash) Alg {
	for _, a := range []Alg{AlgSHA1, AlgSHA256, AlgSHA384, AlgSHA512, AlgSHA3_256, AlgSHA3_384, AlgSHA3_512} {
		if a.Hash() == h {
			return a
		}
	}
	return 0
}
