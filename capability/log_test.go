package capability

import (
	"bytes"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/internal/logfmt"
)

// TestLogTags: a module's PA-TNC lines go under [TNC] and its PTS lines
// under [PTS], as strongSwan's IMCs log them; a [TNC] line that is not
// PA-TNC's (a forged access recommendation) stays the IMC's, tag and all;
// what a connection's instance says while it initializes again is held
// back to level 3.
func TestLogTags(t *testing.T) {
	var buf bytes.Buffer
	root := logfmt.New(logfmt.Options{Output: &buf, Level: hclog.Info})
	s := NewSession(SessionConfig{IMCID: 1, Name: "OS", Logger: root.Named("imc").Named("os")})
	for _, l := range []string{
		"[TNC] creating PA-TNC message with ID 0x01020304",
		"[PTS] selected PTS measurement algorithm is HASH_SHA2_256",
		"[TNC] PB-TNC access recommendation is 'Access Allowed'",
		"IMC 1 \"OS\" initialized",
	} {
		if st := s.Log(abi.LogInfo, []byte(l)); st != abi.StatusOK {
			t.Fatalf("Log(%q) = %d", l, st)
		}
	}
	c := NewSession(SessionConfig{IMCID: 1, Name: "OS", Conn: 1, Logger: root.Named("imc").Named("os")})
	c.BeginInitialize()
	c.Log(abi.LogInfo, []byte("IMC 1 \"OS\" initialized (again)"))
	c.EndInitialize()
	want := "[TNC] creating PA-TNC message with ID 0x01020304\n" +
		"[PTS] selected PTS measurement algorithm is HASH_SHA2_256\n" +
		"[IMC] [TNC] PB-TNC access recommendation is 'Access Allowed'\n" +
		"[IMC] IMC 1 \"OS\" initialized\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}
