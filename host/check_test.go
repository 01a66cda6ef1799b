package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/tnccs"
)

func fileSHA(t testing.TB, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestChecksBothWays(t *testing.T) {
	sum := fileSHA(t, modPath("hello"))
	wrong := strings.Repeat("0", 64)
	tests := []struct {
		name    string
		imc     IMCConfig
		wantErr error
	}{
		{"pin matches", IMCConfig{Path: modPath("hello"), SHA256: strings.ToUpper(sum), Grants: helloGrants}, nil},
		{"pin differs", IMCConfig{Path: modPath("hello"), SHA256: wrong, Grants: helloGrants}, ErrPin},
		{"grants cover imports", IMCConfig{Path: modPath("ungranted"), Grants: []string{"send", "subscribe", "tpm_quote"}}, nil},
		{"grant missing", IMCConfig{Path: modPath("ungranted"), Grants: []string{"send", "subscribe"}}, ErrGrant},
		{"hello lacks log grant", IMCConfig{Path: modPath("hello"), Grants: []string{"send", "subscribe", "config_get", "log_level"}}, ErrGrant},
		{"ABI marker v1", IMCConfig{Path: modPath("hello"), Grants: helloGrants}, nil},
		{"no ABI marker", IMCConfig{Path: modPath("noabi"), Grants: helloGrants}, ErrABI},
		{"ABI marker v2", IMCConfig{Path: modPath("wrongabi"), Grants: helloGrants}, ErrABI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.imc.Name = "X"
			h, _ := newTestHost(t, tc.imc)
			err := h.LoadIMCs(context.Background())
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
			if loaded := len(h.List()) == 1; loaded != (tc.wantErr == nil) {
				t.Fatalf("loaded = %v", loaded)
			}
			if tc.wantErr == nil {
				if l := h.List(); l[0].SHA256 != fileSHA(t, tc.imc.Path) {
					t.Errorf("sha256 %s", l[0].SHA256)
				}
			}
		})
	}
}

func TestCheck(t *testing.T) {
	info, err := Check(context.Background(), modPath("hello"), CheckOptions{CompilationCache: testCache})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"config_get", "log", "log_level", "result_take", "send", "subscribe"}
	if !slices.Equal(info.Imports, want) || len(info.Subscriptions) != 1 || info.Subscriptions[0] != helloType {
		t.Fatalf("info %+v", info)
	}
	if _, err := Check(context.Background(), modPath("hello"), CheckOptions{CompilationCache: testCache, Grants: []string{"send"}}); !errors.Is(err, ErrGrant) {
		t.Fatalf("check with narrow grants: %v", err)
	}
	if _, err := Check(context.Background(), modPath("wrongabi"), CheckOptions{CompilationCache: testCache}); !errors.Is(err, ErrABI) {
		t.Fatalf("check wrongabi: %v", err)
	}
}

// cacheFiles lists the files of a compilation cache directory with their
// inode numbers: both caches write a new file and rename it over the old
// one, so the same inode is the same file, read and not written again.
func cacheFiles(t *testing.T, dir string) map[string]uint64 {
	out := map[string]uint64{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				out[p] = fi.Sys().(*syscall.Stat_t).Ino
			}
		}
		return nil
	})
	return out
}

// TestCompilationCacheReused: the first start fills the cache directory,
// the second start reads it and writes nothing.
func TestCompilationCacheReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	start := func() {
		cfg := &Config{IMCs: []IMCConfig{{Name: "Hello", Path: modPath("hello"), Grants: helloGrants}}}
		cfg.Wasm.CacheDir = dir
		if h := loadedHost(t, cfg, Options{}); h.CacheDir() != dir {
			t.Fatalf("cache dir %q", h.CacheDir())
		}
	}
	start()
	first := cacheFiles(t, dir)
	if len(first) == 0 {
		t.Fatal("the first start wrote no cache file")
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir mode %v, %v", st.Mode(), err)
	}
	start()
	second := cacheFiles(t, dir)
	if len(second) != len(first) {
		t.Fatalf("second start changed the cache: %d -> %d files", len(first), len(second))
	}
	for p, ino := range second {
		if ino != first[p] {
			t.Errorf("%s rewritten at the second start (cache miss)", p)
		}
	}
}

func TestCacheDirFallback(t *testing.T) {
	// Even root cannot create a directory under a regular file.
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o644)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	log, logs := testLogger(t)
	cfg := &Config{}
	cfg.Wasm.CacheDir = filepath.Join(blocker, "cache")
	h, err := New(cfg, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	want := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "imchost")
	if h.CacheDir() != want || !strings.Contains(logs.String(), "is not writable") {
		t.Fatalf("cache dir %q, log %s", h.CacheDir(), logs.String())
	}
}

func TestSessionHostFunctions(t *testing.T) {
	var sent []string
	s := capability.NewSession(capability.SessionConfig{
		IMCID: 3, Conn: 1, Settings: Settings{"k": "v"}, MaxMessageSize: 8, SendTypes: []abi.MsgType{helloType},
		Platform: capability.Platform{System: capability.NewSystem(testutil.Data("root"))},
		Send:     func(m tnccs.PAMessage) error { sent = append(sent, string(m.Body)); return nil },
	})
	msg := func(body string) []byte {
		return append(abi.AppendMessageHeader(nil, abi.MessageHeader{Type: helloType, Validator: 2}), body...)
	}
	tests := []struct {
		name string
		fn   string
		in   []byte
		want abi.Status
	}{
		{"send", abi.FnSend, msg("\x01\x00\x00\x00abcd"), abi.StatusOK},
		{"send over connection max", abi.FnSend, msg("123456789"), abi.StatusTooLarge},
		{"send short header", abi.FnSend, []byte{1, 2, 3}, abi.StatusInvalid},
		{"send unknown flag", abi.FnSend, abi.AppendMessageHeader(nil, abi.MessageHeader{Flags: 2}), abi.StatusInvalid},
		{"subscribe outside initialize", abi.FnSubscribe, abi.AppendMsgTypes(nil, []abi.MsgType{helloType}), abi.StatusState},
		{"config_get", abi.FnConfigGet, []byte("k"), abi.StatusOK},
		{"config_get missing", abi.FnConfigGet, []byte("nope"), abi.StatusNotFound},
		{"os_release", abi.FnOSRelease, nil, abi.StatusOK},
		{"hash sha256", abi.FnHash, abi.AppendHashRequest(nil, abi.HashRequest{Alg: abi.AlgSHA256, Data: []byte("abc")}), abi.StatusOK},
		{"hash unknown", abi.FnHash, abi.AppendHashRequest(nil, abi.HashRequest{Alg: 0x99}), abi.StatusUnsupported},
		{"random", abi.FnRandom, abi.AppendUint32(nil, 32), abi.StatusOK},
		{"random too much", abi.FnRandom, abi.AppendUint32(nil, abi.MaxRandomLen+1), abi.StatusTooLarge},
		{"tpm without TPM", abi.FnTPMBanks, nil, abi.StatusUnavailable},
		{"dh unknown group", abi.FnDHCreate, abi.AppendDHCreateRequest(nil, abi.DHCreateRequest{Group: 99}), abi.StatusUnsupported},
		{"dh_finish unknown key", abi.FnDHFinish, abi.AppendDHFinishRequest(nil, abi.DHFinishRequest{Handle: 9, HashAlg: abi.AlgSHA256}), abi.StatusNotFound},
		{"symlinks relative", abi.FnSymlinks, []byte("etc"), abi.StatusInvalid},
		{"unknown function", "nope", nil, abi.StatusInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, st := s.Call(tc.fn, tc.in); st != tc.want {
				t.Fatalf("status %d, want %d", st, tc.want)
			}
		})
	}
	if len(sent) != 1 || sent[0] != "\x01\x00\x00\x00abcd" {
		t.Fatalf("sent %q", sent)
	}
	out, _ := s.Call(abi.FnHash, abi.AppendHashRequest(nil, abi.HashRequest{Alg: abi.AlgSHA256, Data: []byte("abc")}))
	if hex.EncodeToString(out) != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("sha256(abc) = %x", out)
	}
	s.BeginInitialize()
	if _, st := s.Call(abi.FnSubscribe, abi.AppendMsgTypes(nil, []abi.MsgType{helloType, helloType})); st != abi.StatusOK {
		t.Fatal(st)
	}
	s.EndInitialize()
	if got := s.Subscriptions(); len(got) != 1 {
		t.Fatalf("subscriptions %v", got)
	}
}
