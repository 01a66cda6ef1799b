package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "os-release", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNewOSInfo(t *testing.T) {
	tests := []struct {
		name         string
		file         string
		machine      string
		want         osInfo
		vendor       uint32
		major, minor uint32
		wantErr      bool
	}{
		{name: "debian 12", file: "debian-12", machine: "x86_64",
			want:   osInfo{Type: osDebian, Name: "Debian", Version: "12 x86_64"},
			vendor: 0x002572, major: 12, minor: 0},
		{name: "ubuntu 22.04", file: "ubuntu-22.04", machine: "x86_64",
			want:   osInfo{Type: osUbuntu, Name: "Ubuntu", Version: "22.04 x86_64"},
			vendor: 0x007132, major: 22, minor: 4},
		{name: "fedora 39 unquoted VERSION_ID", file: "fedora-39", machine: "aarch64",
			want:   osInfo{Type: osFedora, Name: "Fedora", Version: "39 aarch64"},
			vendor: 0x0076c1, major: 39, minor: 0},
		{name: "alpine 3.19.1 unquoted", file: "alpine-3.19", machine: "x86_64",
			want:   osInfo{Type: osUnknown, Name: "Alpine", Version: "3.19.1 x86_64"},
			vendor: 0, major: 3, minor: 19},
		{name: "rhel keeps the quotes of ID like strongSwan", file: "rhel-9", machine: "x86_64",
			want:   osInfo{Type: osUnknown, Name: `"rhel"`, Version: "9.3 x86_64"},
			vendor: 0, major: 9, minor: 3},
		{name: "debian sid has no VERSION_ID", file: "debian-sid", machine: "x86_64", wantErr: true},
		{name: "garbage", file: "garbage", machine: "x86_64", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newOSInfo(readFixture(t, tc.file), tc.machine)
			if tc.wantErr {
				if err == nil || !errors.Is(err, errOSRelease) {
					t.Fatalf("want errOSRelease, got %+v, %v", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if v := got.Type.vendor(); v != tc.vendor {
				t.Errorf("vendor %#06x, want %#06x", v, tc.vendor)
			}
			if ma, mi := numericVersion(got.Version); ma != tc.major || mi != tc.minor {
				t.Errorf("numeric version %d.%d, want %d.%d", ma, mi, tc.major, tc.minor)
			}
		})
	}
}

func TestOSReleaseFieldsQuirks(t *testing.T) {
	tests := []struct {
		name, in  string
		id, verID string
		wantErr   bool
	}{
		{name: "ID must start a line", in: "VARIANT_ID=x\nVERSION_ID=\"1\"\nID=foo\n", id: "foo", verID: "1"},
		{name: "only ID inside another key", in: "VARIANT_ID=x\nVERSION_ID=\"1\"\n", wantErr: true},
		{name: "first VERSION_ID anywhere wins", in: "ID=x\nXY_VERSION_ID=\"7\"\nVERSION_ID=\"8\"\n", id: "x", verID: "7"},
		{name: "single quotes", in: "ID=x\nVERSION_ID='3.1'\n", id: "x", verID: "3.1"},
		{name: "no final newline", in: "VERSION_ID=5\nID=x", id: "x", verID: "5"},
		{name: "CRLF", in: "ID=x\r\nVERSION_ID=5\r\n", id: "x", verID: "5"},
		{name: "unterminated quote", in: "ID=x\nVERSION_ID=\"5\n", wantErr: true},
		{name: "empty version", in: "ID=x\nVERSION_ID=\"\"\n", wantErr: true},
		{name: "empty ID", in: "ID=\nVERSION_ID=1\n", wantErr: true},
		{name: "empty file", in: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, ver, err := osReleaseFields([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tc.wantErr)
			}
			if id != tc.id || ver != tc.verID {
				t.Fatalf("got %q %q, want %q %q", id, ver, tc.id, tc.verID)
			}
		})
	}
}

func TestOSTypeAndMachine(t *testing.T) {
	got, err := newOSInfo([]byte("ID=raspbian\nVERSION_ID=\"11\"\n"), "armv7l")
	if err != nil {
		t.Fatal(err)
	}
	if want := (osInfo{Type: osRaspbian, Name: "Raspbian", Version: "11 armhf"}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// A recognised type replaces the name by strongSwan's official one.
	got, err = newOSInfo([]byte("ID=ubuntu-core\nVERSION_ID=\"22\"\n"), "x86_64")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Ubuntu" || got.Type != osUbuntu {
		t.Fatalf("got %+v", got)
	}
	o := newOSInfoOverride("Android", "13")
	if o.Type != osAndroid || o.Type.vendor() != 0x002b79 || o.Name != "Android" || o.Version != "13" {
		t.Fatalf("override %+v", o)
	}
}

func TestAtol(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"22.04 x86_64", 22}, {"04 x86_64", 4}, {"  17abc", 17}, {"-3", -3}, {"+8", 8},
		{"x", 0}, {"", 0}, {"99999999999999999999999", 1<<63 - 1},
	}
	for _, tc := range tests {
		if got := atol(tc.in); got != tc.want {
			t.Errorf("atol(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if ma, mi := numericVersion("12 x86_64"); ma != 12 || mi != 0 {
		t.Errorf("12 x86_64 -> %d.%d", ma, mi)
	}
}

func FuzzNewOSInfo(f *testing.F) {
	for _, n := range []string{"debian-12", "ubuntu-22.04", "fedora-39", "alpine-3.19", "rhel-9", "garbage"} {
		f.Add(readFixture(f, n))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		info, err := newOSInfo(in, "x86_64")
		if err != nil {
			if info != (osInfo{}) {
				t.Fatalf("info %+v with error %v", info, err)
			}
			return
		}
		if info.Name == "" || len(info.Version) <= len(" x86_64") {
			t.Fatalf("empty strings without error: %+v", info)
		}
		numericVersion(info.Version)
	})
}
