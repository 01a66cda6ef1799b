package tpmhost

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-tpm/tpm2"
)

// VersionInfo is what TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES) says about
// the TPM (TPM 2.0 Part 2, §6.13, TPM_PT_FAMILY_INDICATOR onwards).
type VersionInfo struct {
	Family          string // TPM_PT_FAMILY_INDICATOR, "2.0"
	Level           uint32 // TPM_PT_LEVEL, 0 for the base specification
	Revision        uint32 // TPM_PT_REVISION, e.g. 164 for 1.64
	DayOfYear       uint32 // TPM_PT_DAY_OF_YEAR of the specification
	Year            uint32 // TPM_PT_YEAR of the specification, e.g. 2021
	ManufacturerID  uint32 // TPM_PT_MANUFACTURER as a big-endian uint32, e.g. 0x49424D00
	Manufacturer    string // the same as ASCII without trailing NULs and spaces ("IBM", "INTC")
	VendorString    string // TPM_PT_VENDOR_STRING_1..4 concatenated and trimmed
	FirmwareVersion uint64 // TPM_PT_FIRMWARE_VERSION_1 << 32 | TPM_PT_FIRMWARE_VERSION_2
}

// RevisionString renders Revision as the specification does ("1.64").
func (v *VersionInfo) RevisionString() string {
	return fmt.Sprintf("%d.%02d", v.Revision/100, v.Revision%100)
}

// String is the one-line form strongSwan logs ("TPM 2.0 rev. 1.64 2021 IBM").
func (v *VersionInfo) String() string {
	return fmt.Sprintf("TPM %s rev. %s %d %s", v.Family, v.RevisionString(), v.Year, v.Manufacturer)
}

// VersionInfo reads the TPM's fixed properties.
func (t *TPM) VersionInfo() (*VersionInfo, error) {
	if err := t.lock(); err != nil {
		return nil, err
	}
	defer t.unlock()
	props := map[tpm2.TPMPT]uint32{}
	next := uint32(tpm2.TPMPTFamilyIndicator)
	for i := 0; i < 8 && next <= uint32(tpm2.TPMPTFirmwareVersion2); i++ {
		rsp, err := tpm2.GetCapability{
			Capability:    tpm2.TPMCapTPMProperties,
			Property:      next,
			PropertyCount: uint32(tpm2.TPMPTFirmwareVersion2) - next + 1,
		}.Execute(t.tr)
		if err != nil {
			return nil, tpmErr("TPM2_GetCapability(TPM_PROPERTIES)", err)
		}
		list, err := rsp.CapabilityData.Data.TPMProperties()
		if err != nil {
			return nil, tpmErr("TPM2_GetCapability(TPM_PROPERTIES)", err)
		}
		if len(list.TPMProperty) == 0 {
			break
		}
		for _, p := range list.TPMProperty {
			props[p.Property] = p.Value
			next = uint32(p.Property) + 1
		}
		if !rsp.MoreData {
			break
		}
	}
	v := &VersionInfo{
		Family:          trimASCII(be32(props[tpm2.TPMPTFamilyIndicator])),
		Level:           props[tpm2.TPMPTLevel],
		Revision:        props[tpm2.TPMPTRevision],
		DayOfYear:       props[tpm2.TPMPTDayofYear],
		Year:            props[tpm2.TPMPTYear],
		ManufacturerID:  props[tpm2.TPMPTManufacturer],
		Manufacturer:    trimASCII(be32(props[tpm2.TPMPTManufacturer])),
		FirmwareVersion: uint64(props[tpm2.TPMPTFirmwareVersion1])<<32 | uint64(props[tpm2.TPMPTFirmwareVersion2]),
	}
	var vs []byte
	for p := tpm2.TPMPTVendorString1; p <= tpm2.TPMPTVendorString4; p++ {
		vs = append(vs, be32(props[p])...)
	}
	v.VendorString = trimASCII(vs)
	t.log.Info(fmt.Sprintf("%s, vendor '%s'", v.String(), v.VendorString), "version", v.String(), "vendor", v.VendorString,
		"firmware", fmt.Sprintf("%016x", v.FirmwareVersion))
	return v, nil
}

func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// trimASCII renders TPM property bytes as text: NULs are dropped (vendors
// pad each 4-byte part with them), other non-printable bytes become '.', and
// trailing spaces go.
func trimASCII(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		switch {
		case c == 0:
			continue
		case c < 0x20 || c > 0x7e:
			c = '.'
		}
		sb.WriteByte(c)
	}
	return strings.TrimRight(sb.String(), " ")
}

// Banks lists the PCR banks of TPM_CAP_PCRS with their selection bitmaps.
// A bank may be listed with an empty bitmap (swtpm lists sha384 and sha512
// that way); AllocatedBanks leaves those out.
func (t *TPM) Banks() (map[Alg][]int, error) {
	if err := t.lock(); err != nil {
		return nil, err
	}
	defer t.unlock()
	rsp, err := tpm2.GetCapability{Capability: tpm2.TPMCapPCRs, PropertyCount: 1}.Execute(t.tr)
	if err != nil {
		return nil, tpmErr("TPM2_GetCapability(PCRS)", err)
	}
	sel, err := rsp.CapabilityData.Data.AssignedPCR()
	if err != nil {
		return nil, tpmErr("TPM2_GetCapability(PCRS)", err)
	}
	banks := map[Alg][]int{}
	for _, s := range sel.PCRSelections {
		banks[Alg(s.Hash)] = bitmapPCRs(s.PCRSelect)
	}
	return banks, nil
}

// AllocatedBanks returns, in ascending TPM_ALG_ID order, the PCR banks that
// have at least one PCR allocated. Only these may be offered as PTS
// measurement algorithms (PTS IF-M Binding §3.9.2: the selected
// algorithm is the bank the evidence and quote use).
func (t *TPM) AllocatedBanks() ([]Alg, error) {
	banks, err := t.Banks()
	if err != nil {
		return nil, err
	}
	var out []Alg
	for a, pcrs := range banks {
		if len(pcrs) > 0 {
			out = append(out, a)
		} else {
			t.log.Debug("PCR bank listed without PCRs, ignored", "bank", a)
		}
	}
	slices.Sort(out)
	return out, nil
}

// bitmapPCRs lists the PCR indices set in a TPMS_PCR_SELECTION bitmap.
func bitmapPCRs(bm []byte) []int {
	var out []int
	for i, b := range bm {
		for bit := 0; bit < 8; bit++ {
			if b&(1<<bit) != 0 {
				out = append(out, i*8+bit)
			}
		}
	}
	return out
}

// pcrBitmap builds a PCR selection bitmap of at least 3 bytes (the PC Client
// sizeofSelect).
func pcrBitmap(pcrs []int) ([]byte, error) {
	bm := make([]byte, 3)
	for _, p := range pcrs {
		if p < 0 || p >= 8*32 {
			return nil, fmt.Errorf("tpmhost: PCR index %d out of range", p)
		}
		for p/8 >= len(bm) {
			bm = append(bm, 0)
		}
		bm[p/8] |= 1 << (p % 8)
	}
	return bm, nil
}
