package pdp

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tpmhost"
)

// IMA runtime evidence: the ITA-HSR Linux IMA component with qualifier
// K + operating system (PTS IF-M Binding §5.1, letter I of strongSwan's IMV), extended
// into PCR 10, one Simple Component Evidence per entry of the IMA list with
// the policy URI "<algo>:<path>" ("<path>" for the legacy ima template).
const (
	imaCompQualifier = 0x22
	imaPCR           = 10
	// maxIMAEvidence bounds the IMA entries of one attestation.
	maxIMAEvidence = 1 << 20
	// maxIMAReasons bounds the reasons one verdict lists; the rest are
	// counted.
	maxIMAReasons = 20
)

// imaEvidence is one received IMA entry.
type imaEvidence struct {
	seq         int // 0-based position in the IMA list
	algo, path  string
	legacy      bool // the ima template (no algorithm in the URI)
	measurement []byte
}

// parseIMAURI splits a policy URI "<algo>:<path>" (strongSwan's
// parse_validation_uri): without a ':' it is a legacy ima entry with a
// SHA-1 file digest.
func parseIMAURI(uri string) (algo, path string, legacy bool) {
	if i := strings.IndexByte(uri, ':'); i > 0 && i < 8 && !strings.HasPrefix(uri, "/") {
		return uri[:i], uri[i+1:], false
	}
	return "sha1", uri, true
}

// imaTemplateHashes returns what the kernel extends into a bank of hash h
// for a file with this digest: the ima-ng entry, and the ima-sig entry
// without a signature (both d-ng|n-ng, the latter with an empty sig field);
// for the legacy template the digest with the name padded to 256 bytes.
func imaTemplateHashes(h crypto.Hash, algo string, digest []byte, path string, legacy bool) [][]byte {
	var datas [][]byte
	if legacy {
		datas = append(datas, tpmhost.IMATemplateData("ima", [][]byte{digest, []byte(path)}))
	} else {
		dng := append([]byte(algo+":\x00"), digest...)
		name := append([]byte(path), 0)
		datas = append(datas,
			tpmhost.IMATemplateData("ima-ng", [][]byte{dng, name}),
			tpmhost.IMATemplateData("ima-sig", [][]byte{dng, name, nil}))
	}
	var out [][]byte
	for _, d := range datas {
		x := h.New()
		x.Write(d)
		out = append(out, x.Sum(nil))
	}
	return out
}

// processIMAEvidence takes one IMA Simple Component Evidence.
func (a *attIMV) processIMAEvidence(x *patnc.SimpleCompEvid) {
	seq := len(a.imaEvid)
	switch {
	case !a.c.env.policy.IMA:
		a.fail(NonCompliantMinor, Isolate, "IMA evidence that was not requested")
		return
	case seq >= maxIMAEvidence:
		a.fail(ResultError, NoAccess, "too many IMA measurements")
		return
	case x.PCR != imaPCR:
		a.fail(NonCompliantMinor, Isolate, fmt.Sprintf("IMA entry %d extends PCR %d, not %d", seq, x.PCR, imaPCR))
		return
	case x.Validation != patnc.ValidationPassed || x.PolicyURI == "":
		a.fail(NonCompliantMinor, Isolate, fmt.Sprintf("IMA entry %d has no file name", seq))
		return
	}
	if err := a.shadow.extend(imaPCR, x.Measurement); err != nil {
		a.fail(NonCompliantMinor, Isolate, fmt.Sprintf("IMA entry %d: %v", seq, err))
		return
	}
	algo, path, legacy := parseIMAURI(x.PolicyURI)
	a.imaEvid = append(a.imaEvid, imaEvidence{seq: seq, algo: algo, path: path, legacy: legacy,
		measurement: append([]byte(nil), x.Measurement...)})
}

// processIMASignatures takes an IMA signatures attribute: the file digests
// and signatures of signed entries, checked with the evidence (checkIMA).
func (a *attIMV) processIMASignatures(v []byte) {
	if !a.c.env.policy.IMA {
		return
	}
	sigs, err := abi.ParseIMASignatures(v)
	if err != nil {
		a.fail(NonCompliantMinor, Isolate, "IMA signatures attribute: "+err.Error())
		return
	}
	if a.imaSigs == nil {
		a.imaSigs = map[uint32]abi.IMASignature{}
	}
	for _, s := range sigs {
		if len(a.imaSigs) >= maxIMAEvidence {
			a.fail(ResultError, NoAccess, "too many IMA signatures")
			return
		}
		a.imaSigs[s.Seq] = abi.IMASignature{Seq: s.Seq, Algo: s.Algo, Digest: bytes.Clone(s.Digest), Signature: bytes.Clone(s.Signature)}
	}
	a.log.Debug("received IMA signatures", "entries", len(sigs))
}

// checkIMA judges the IMA evidence (after the quote covered it): the
// boot_aggregate against the replayed boot PCRs, each file against the
// reference digests (imported or learned) or, failing those, against the
// measurements learned for this device. It returns the failure reasons;
// with learn set it records the device's unknown files.
func (a *attIMV) checkIMA(ctx context.Context, dev int64, learn bool) ([]string, error) {
	ev := a.imaEvid
	if len(ev) == 0 {
		return []string{"no IMA measurements received"}, nil
	}
	h := a.shadow.hash
	bankAlgo := strings.ToLower(strings.ReplaceAll(tpmhost.AlgFromHash(h).String(), "-", ""))
	var reasons []string
	more := 0
	add := func(r string) {
		if len(reasons) < maxIMAReasons {
			reasons = append(reasons, r)
		} else {
			more++
		}
	}
	// boot_aggregate: the hash of PCR 0..9 (PCR 0..7 for SHA-1 and
	// kernels before 5.8) of the bank named by its digest.
	if ev[0].path != "boot_aggregate" {
		add(fmt.Sprintf("IMA entry 0 is %q, not boot_aggregate", ev[0].path))
	} else if ev[0].algo != bankAlgo {
		a.log.Info("boot aggregate is a " + ev[0].algo + " digest, the evidence " + bankAlgo + ": not checked")
	} else {
		ok := false
		for _, last := range []int{9, 7} {
			x := h.New()
			for i := 0; i <= last; i++ {
				x.Write(a.shadow.pcr[i])
			}
			for _, t := range imaTemplateHashes(h, ev[0].algo, x.Sum(nil), "boot_aggregate", ev[0].legacy) {
				if equalBytes(t, ev[0].measurement) {
					ok = true
					a.log.Info(fmt.Sprintf("boot aggregate computed over PCR0..PCR%d is correct", last))
				}
			}
			if ok {
				break
			}
		}
		if !ok {
			add("IMA entry 0 boot_aggregate does not match the boot evidence (PCR 0..9)")
		}
	}

	seen := map[string]bool{}
	var paths []string
	for _, e := range ev[1:] {
		if !seen[e.path] {
			seen[e.path] = true
			paths = append(paths, e.path)
		}
	}
	st := a.c.env.store
	refs, err := st.FileRefs(ctx, paths)
	if err != nil {
		return nil, err
	}
	bank := uint16(a.algo)
	learned, err := st.IMARefs(ctx, dev, bank)
	if err != nil {
		return nil, err
	}
	var ok, unknown, violations, signed int
	var newRefs []IMARef
	keys := a.c.env.policy.imaKeys
	for _, e := range ev[1:] {
		if bytes.Count(e.measurement, []byte{0xff}) == len(e.measurement) {
			violations++
			add(fmt.Sprintf("IMA entry %d %s: measurement violation (the file was open for writing when measured)", e.seq, e.path))
			continue
		}
		if rec, has := a.imaSigs[uint32(e.seq)]; has && len(keys) > 0 {
			if r := verifyIMASignature(h, e, rec, keys); r != "" {
				add(r)
				continue
			}
			ok++
			signed++
			continue
		}
		if rs := refs[e.path]; len(rs) > 0 {
			match := false
			for _, r := range rs {
				if r.Algo != e.algo {
					continue
				}
				for _, t := range imaTemplateHashes(h, r.Algo, r.Digest, e.path, e.legacy) {
					match = match || equalBytes(t, e.measurement)
				}
			}
			if match {
				ok++
				continue
			}
			if ls := learned[e.path]; containsBytes(ls, e.measurement) {
				ok++ // a signed file (ima-sig) learned from this device
				continue
			}
			add(fmt.Sprintf("IMA entry %d %s: no reference %s digest gives its measurement %s", e.seq, e.path, e.algo, hex.EncodeToString(e.measurement)))
			continue
		}
		if ls := learned[e.path]; len(ls) > 0 {
			if containsBytes(ls, e.measurement) {
				ok++
				continue
			}
			if !a.c.env.policy.IMALearnChanges {
				add(fmt.Sprintf("IMA entry %d %s: measurement %s differs from the one learned", e.seq, e.path, hex.EncodeToString(e.measurement)))
				continue
			}
		}
		unknown++
		if a.c.env.policy.IMAStrict {
			add(fmt.Sprintf("IMA entry %d %s: no reference", e.seq, e.path))
			continue
		}
		if learn {
			newRefs = append(newRefs, IMARef{Path: e.path, Measurement: e.measurement})
			learned[e.path] = append(learned[e.path], e.measurement)
		}
	}
	if more > 0 {
		reasons = append(reasons, fmt.Sprintf("and %d more IMA entries", more))
	}
	if len(keys) > 0 {
		a.log.Info(fmt.Sprintf("IMA: %d entries with a signature by one of the %d ima_keys", signed, len(keys)))
	}
	a.log.Info(fmt.Sprintf("IMA: %d entries, %d match a reference or a learned measurement or are signed, %d without either, %d violations", len(ev), ok, unknown, violations))
	if len(reasons) == 0 && len(newRefs) > 0 {
		if err := st.AddIMARefs(ctx, dev, bank, newRefs); err != nil {
			return nil, err
		}
		a.log.Info(fmt.Sprintf("IMA: learned %d measurements", len(newRefs)))
	}
	return reasons, nil
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// ReadFileRefs reads a reference list: one file per line as sha256sum
// prints it ("<hex>  <path>", the algorithm from the digest's length) or as
// IMA names it ("sha256:<hex> <path>"); blank lines and # comments are
// skipped.
func ReadFileRefs(path string) ([]FileRef, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pdp: reference list: %w", err)
	}
	defer f.Close()
	var out []FileRef
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		d, p, ok := strings.Cut(line, " ")
		p = strings.TrimPrefix(strings.TrimLeft(p, " "), "*")
		if !ok || !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("pdp: reference list %s:%d: want \"<digest> <absolute path>\"", path, n)
		}
		algo, hx, hasAlgo := strings.Cut(d, ":")
		if !hasAlgo {
			hx = algo
			algo = map[int]string{40: "sha1", 64: "sha256", 96: "sha384", 128: "sha512"}[len(hx)]
		}
		digest, err := hex.DecodeString(hx)
		if err != nil || algo == "" || len(digest) == 0 {
			return nil, fmt.Errorf("pdp: reference list %s:%d: bad digest %q", path, n, d)
		}
		if a, err := tpmhost.ParseAlg(algo); err != nil || a.DigestSize() != len(digest) {
			return nil, fmt.Errorf("pdp: reference list %s:%d: %d-byte %s digest", path, n, len(digest), algo)
		}
		out = append(out, FileRef{Path: p, Algo: algo, Digest: digest, Source: "import:" + path})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pdp: reference list %s: %w", path, err)
	}
	return out, nil
}
