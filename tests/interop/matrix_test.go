package interop

import (
	"testing"
)

// side is an implementation: ours or strongSwan's.
type side string

const (
	imchostSide    side = "imchost"
	strongSwanSide side = "strongSwan"
)

// pdpOpts shape a PDP of either side.
type pdpOpts struct {
	keys     keyType
	users    map[string]string
	clientCA string
	akCA     string
	imPolicy string // imchost pdp serve --policy (TOML)
	imMaxMsg int    // imchost pdp serve --max-message-size
	// ima: request and verify the Linux IMA runtime evidence besides the
	// boot evidence (strongSwan: a 'BI' TPM attestation policy; imchost:
	// ima = true).
	ima bool
}

// anyPDP is a running PDP of either side.
type anyPDP struct {
	side side
	port int
	ca   string // the CA file a client trusts
	ss   *ssPDP
	im   *imPDP
}

func (p anyPDP) log() string {
	if p.ss != nil {
		return p.ss.log()
	}
	return p.im.log()
}

// defaultUser is the SASL PLAIN user every PDP knows unless a case says
// otherwise, and every client authenticates as: strongSwan's PDP serves no
// client that authenticates neither by password nor by certificate.
var defaultUser = map[string]string{"alice": "s3cret"}

// saslArgs is the defaultUser on either client's command line.
var saslArgs = []string{"--client", "alice", "--secret", "s3cret"}

func startPDP(t *testing.T, pr peer, s side, o pdpOpts) anyPDP {
	t.Helper()
	if o.users == nil {
		o.users = defaultUser
	}
	if s == strongSwanSide {
		ss := startStrongSwanPDP(t, pr, ssPDPOptions{keys: o.keys, users: o.users, clientCA: o.clientCA, akCA: o.akCA, ima: o.ima})
		return anyPDP{side: s, port: ss.port, ca: ss.pki.ca.file, ss: ss}
	}
	if o.ima {
		o.imPolicy = "ima = true\n" + o.imPolicy
	}
	im := startImchostPDP(t, imPDPOptions{keys: o.keys, users: o.users, clientCA: o.clientCA, akCA: o.akCA, policy: o.imPolicy, maxMsg: o.imMaxMsg})
	return anyPDP{side: s, port: im.port, ca: im.pki.ca.file, im: im}
}

// clientOpts shape one attestation by a client of either side.
type clientOpts struct {
	forwarding bool
	logPath    string            // the boot log the client sends (default the endpoint's)
	ssHash     string            // strongSwan imc-attestation hash_algorithm (default sha256)
	imaPath    string            // the IMA list the client reads (default the endpoint's, if any)
	imFiles    []string          // imchost's Attestation IMC [[imc]] files allowlist
	aikCert    string            // send the AK as this certificate (PEM)
	imArgs     []string          // added to imchost run's command line
	ssArgs     []string          // added to pt-tls-client's
	imSettings map[string]string // added to imchost's Attestation IMC settings
	imTNCCS    map[string]any    // imchost's [tnccs] values
	// noSASL leaves out the default user's name and password (which
	// imArgs/ssArgs otherwise start with).
	noSASL bool
}

// attest runs one attestation of the endpoint by the client of side c
// against pdp.
func attest(t *testing.T, pr peer, e *endpoint, c side, pdp anyPDP, o clientOpts) outcome {
	t.Helper()
	if !o.noSASL {
		o.imArgs = append(append([]string(nil), saslArgs...), o.imArgs...)
		o.ssArgs = append(append([]string(nil), saslArgs...), o.ssArgs...)
	}
	if o.imaPath == "" {
		o.imaPath = e.imaPath
	}
	if c == strongSwanSide {
		return ssOutcome(ssClient(t, pr, e, pdp.port, pdp.ca, ssClientOptions{
			forwarding: o.forwarding, logPath: o.logPath, hashAlg: o.ssHash, aikCert: o.aikCert, imaPath: o.imaPath, args: o.ssArgs}))
	}
	settings := map[string]string{}
	if o.aikCert != "" {
		settings["aik_cert"] = o.aikCert
	}
	if o.imaPath != "" {
		settings["ima_log"] = o.imaPath
	}
	for k, v := range o.imSettings {
		settings[k] = v
	}
	return imchostRun(t, e, pdp.port, pdp.ca, imRunOptions{forwarding: o.forwarding, logPath: o.logPath,
		attSettings: settings, tnccs: o.imTNCCS, attFiles: o.imFiles, args: o.imArgs}).outcome()
}

// pair is a client and a PDP.
type pair struct{ client, pdp side }

func (p pair) String() string { return string(p.client) + "-client-to-" + string(p.pdp) + "-pdp" }

var (
	// crossPairs are the interop directions.
	crossPairs = []pair{{imchostSide, strongSwanSide}, {strongSwanSide, imchostSide}}
	// allPairs adds strongSwan against itself (the reference outcome) and
	// imchost against itself.
	allPairs = []pair{{strongSwanSide, strongSwanSide}, {imchostSide, strongSwanSide}, {strongSwanSide, imchostSide}, {imchostSide, imchostSide}}
)
