package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/logfmt"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
)

// verdict is one attestation's outcome as the CLI reports it.
type verdict struct {
	res     *tnccs.Result
	reports []host.IMCReport
}

// allowed reports whether the PDP decided and allowed access.
func (v *verdict) allowed() bool {
	return v.res != nil && v.res.Decided && v.res.Recommendation == pb.RecommendationAllowed
}

// exitCode maps the verdict to the process exit code.
func (v *verdict) exitCode() int {
	if v.allowed() {
		return exitOK
	}
	return exitNotAllows
}

// attest runs one PB-TNC connection with the host's IMCs. One process
// keeps one client so that connection IDs count up as in strongSwan.
func attest(ctx context.Context, c *tnccs.Client, h interface {
	Reports(tnccs.ConnID) []host.IMCReport
}) (*verdict, error) {
	res, err := c.Assess(ctx)
	if err != nil {
		return nil, err
	}
	return &verdict{res: res, reports: h.Reports(res.ConnID)}, nil
}

// printVerdict writes the summary a person reads at a glance: each IMC's
// assessment with its remediation, then the overall PB-TNC result.
func printVerdict(w io.Writer, v *verdict, names map[uint32]string) {
	shown := map[string]bool{} // remediation texts already printed, normalised
	for _, r := range v.reports {
		name := r.IMC
		if name == "" {
			name = names[r.IMCID]
		}
		fmt.Fprintf(w, "IMC %d %q from IMV %d: %s\n", r.IMCID, name, r.Validator, pb.AssessmentResult(r.Result))
		if r.Remediation != "" {
			printIndented(w, "  remediation"+langTag(r.Language)+": ", r.Remediation)
			shown[normalise(r.Remediation)] = true
		}
	}
	res := v.res
	for _, r := range res.Reasons {
		printIndented(w, "reason"+langTag(r.Lang)+": ", r.Text)
	}
	if res.Decided && res.AssessmentResult != pb.ResultCompliant && len(res.Reasons) == 0 {
		// strongSwan's PDP sends reasons only for what its policy found; one
		// that could not run its policy says why in its own log alone.
		fmt.Fprintln(w, "reason: none given by the PDP (its log says why)")
	}
	if rem := res.Remediation; rem != nil {
		if rem.URI != "" {
			fmt.Fprintf(w, "remediation: %s\n", logfmt.Escape(rem.URI))
		} else if !shown[normalise(rem.Text)] { // the PDP often repeats what an IMV sent its IMC
			printIndented(w, "remediation"+langTag(rem.Lang)+": ", rem.Text)
		}
	}
	for _, e := range res.Errors {
		fmt.Fprintf(w, "PB-TNC error from the PDP: %s\n", logfmt.Escape(e.String()))
	}
	if !res.Decided {
		fmt.Fprintln(w, "overall: no decision from the PDP")
		return
	}
	if res.Reassessment > 0 {
		by := "the PDP's SRETRY"
		if res.RetryBy == "client" {
			by = "our CRETRY"
		}
		fmt.Fprintf(w, "session: re-assessment %d of PB-TNC connection %d (%s)\n", res.Reassessment, res.ConnID, by)
	}
	fmt.Fprintf(w, "overall: %s, %s\n", res.AssessmentResult, res.Recommendation)
	if v.allowed() && res.AssessmentResult != pb.ResultCompliant {
		// The exit code follows the recommendation; the words must not
		// let "allowed" pass for "compliant".
		fmt.Fprintf(w, "note: the assessment was not compliant (%s); access is allowed because the PDP recommends it\n", res.AssessmentResult)
	}
}

func langTag(lang string) string {
	if lang == "" {
		return ""
	}
	return " [" + logfmt.Escape(lang) + "]"
}

// printIndented prints text after prefix, continuation lines aligned. The
// text comes from the PDP or a module: each line is escaped (no escape
// sequence reaches the terminal) and every line after the first is
// indented, so no line of it can pass for one of ours.
func printIndented(w io.Writer, prefix, text string) {
	pad := strings.Repeat(" ", len(prefix))
	text = strings.ReplaceAll(strings.TrimRight(text, "\n"), "\r\n", "\n")
	for i, line := range strings.Split(text, "\n") {
		if i == 0 {
			fmt.Fprintf(w, "%s%s\n", prefix, logfmt.Escape(line))
		} else {
			fmt.Fprintf(w, "%s%s\n", pad, logfmt.Escape(line))
		}
	}
}

// referralAddr returns the "host:port" a PB-PDP-Referral names, or "" when
// it names no PT-TLS endpoint we can dial.
func referralAddr(r *pb.MsgPDPReferral) string {
	if r == nil || r.Protocol != pb.PDPProtocolPTTLS || r.Port == 0 {
		return ""
	}
	switch {
	case r.FQDN != "":
		return net.JoinHostPort(r.FQDN, strconv.Itoa(int(r.Port)))
	case r.Addr.IsValid():
		return net.JoinHostPort(r.Addr.String(), strconv.Itoa(int(r.Port)))
	}
	return ""
}

// normalise reduces a remediation text to its words, so that "Title:
// text" and "Title\ntext" compare equal.
func normalise(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ':' || r == ' ' || r == '\n' || r == '\t' || r == '\r'
	}), " ")
}
