package main

import (
	"reflect"
	"testing"
)

// mapConfig is a settings source for tests of the parser alone.
type mapConfig map[string]string

func (m mapConfig) Config(k string) (string, bool) { v, ok := m[k]; return v, ok }

func TestLoadSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     mapConfig
		want    settings
		wantErr bool
	}{
		{name: "defaults", cfg: mapConfig{}, want: settings{
			measSet: measSHA1 | measSHA256 | measSHA384 | measSHA512, hashAlgorithm: "auto", nonceLen: 20, maxMessageSize: 65490,
			dhPrefs: []uint16{dhIKE19, dhIKE20, dhIKE14, dhIKE5, dhIKE2}}},
		{name: "reference client", cfg: mapConfig{"hash_algorithm": "sha256", "nonce_len": "20",
			"max_message_size": "32722", "aik_handle": "0x81010003"}, want: settings{
			measSet: measSHA1 | measSHA256, hashAlgorithm: "sha256", nonceLen: 20, maxMessageSize: 32722,
			dhPrefs: []uint16{dhIKE19, dhIKE20, dhIKE14, dhIKE5, dhIKE2}}},
		{name: "sha1 only, ecp384 first", cfg: mapConfig{"hash_algorithm": "SHA1", "dh_groups": "ecp384, ecp256"},
			want: settings{measSet: measSHA1, hashAlgorithm: "sha1", nonceLen: 20, maxMessageSize: 65490,
				dhPrefs: []uint16{dhIKE20, dhIKE19}}},
		{name: "no mandatory group", cfg: mapConfig{"dh_groups": "modp2048", "mandatory_dh_groups": "no"},
			want: settings{measSet: measSHA1 | measSHA256 | measSHA384 | measSHA512, hashAlgorithm: "auto", nonceLen: 20, maxMessageSize: 65490,
				dhPrefs: []uint16{dhIKE14}}},
		{name: "strongSwan's cap", cfg: mapConfig{"hash_algorithm": "sha384"}, want: settings{
			measSet: measSHA1 | measSHA256 | measSHA384, hashAlgorithm: "sha384", nonceLen: 20, maxMessageSize: 65490,
			dhPrefs: []uint16{dhIKE19, dhIKE20, dhIKE14, dhIKE5, dhIKE2}}},
		{name: "missing mandatory group", cfg: mapConfig{"dh_groups": "modp2048"}, wantErr: true},
		{name: "unknown group", cfg: mapConfig{"dh_groups": "ecp521"}, wantErr: true},
		{name: "unknown hash", cfg: mapConfig{"hash_algorithm": "md5"}, wantErr: true},
		{name: "nonce too short", cfg: mapConfig{"nonce_len": "16"}, wantErr: true},
		{name: "nonce too long", cfg: mapConfig{"nonce_len": "256"}, wantErr: true},
		{name: "nonce not a number", cfg: mapConfig{"nonce_len": "twenty"}, wantErr: true},
		{name: "message size too small", cfg: mapConfig{"max_message_size": "10"}, wantErr: true},
		{name: "bad bool", cfg: mapConfig{"mandatory_dh_groups": "maybe"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := loadSettings(tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestEvidenceTime(t *testing.T) {
	for _, tc := range []struct {
		ctime int64
		want  string
	}{
		{0, "0000-00-00T00:00:00Z"},
		{-5, "0000-00-00T00:00:00Z"},
		{1795720553, "2026-11-26T19:15:53Z"}, // the recorded run's evidence time
	} {
		if got := evidenceTime(tc.ctime).String(); got != tc.want {
			t.Errorf("evidenceTime(%d) = %s, want %s", tc.ctime, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	if got := capsString(capV | capD | capT); got != ".VDT." {
		t.Errorf("caps %q", got)
	}
	if got := capsString(capC | capX); got != "C...X" {
		t.Errorf("caps %q", got)
	}
	if got := colonHex([]byte{0x06, 0x15, 0xff}); got != "06:15:ff" {
		t.Errorf("colonHex %q", got)
	}
	if measName(measSHA256) != "HASH_SHA2_256" || dhName(dhIKE19) != "ECP_256" || dhIKE(dhIKE14) != 14 {
		t.Error("names")
	}
}
