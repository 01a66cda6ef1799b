package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Referrals is [pdp] referrals: which PB-PDP-Referrals `imchost run
// --interval` follows. A referral makes the client dial another address
// (still TLS-verified against the configured CA), so a site can restrict
// that to its own PDPs:
//
//	referrals = true                                   # follow any (the default)
//	referrals = false                                  # never follow
//	referrals = ["pdp2.example.org", "*.pdp.example.org:271"]
//
// A list entry is a host name or address, with an optional port; "*." at
// its start stands for any labels in front (not the bare domain).
type Referrals struct {
	Off   bool     // referrals = false
	Allow []string // the list; empty (and not Off) means any
}

// UnmarshalTOML implements toml.Unmarshaler.
func (r *Referrals) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case bool:
		*r = Referrals{Off: !v}
		return nil
	case []any:
		out := Referrals{Allow: []string{}}
		for _, x := range v {
			s, ok := x.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return fmt.Errorf("referrals: entry %v is not a host name", x)
			}
			if _, _, err := splitReferral(s); err != nil {
				return err
			}
			out.Allow = append(out.Allow, strings.ToLower(s))
		}
		if len(out.Allow) == 0 {
			out.Off = true // an empty list allows nothing
		}
		*r = out
		return nil
	}
	return fmt.Errorf("referrals must be true, false or a list of host names, not %T", v)
}

func splitReferral(s string) (host string, port int, err error) {
	host = s
	if h, p, e := net.SplitHostPort(s); e == nil {
		host = h
		if port, err = strconv.Atoi(p); err != nil || port <= 0 || port > 65535 {
			return "", 0, fmt.Errorf("referrals: entry %q: bad port", s)
		}
	}
	return host, port, nil
}

// Allows reports whether the client may follow a referral to host:port.
func (r *Referrals) Allows(host string, port uint16) bool {
	if r == nil || (!r.Off && len(r.Allow) == 0) {
		return true
	}
	if r.Off {
		return false
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, a := range r.Allow {
		h, p, err := splitReferral(a)
		if err != nil || (p != 0 && p != int(port)) {
			continue
		}
		if h == host {
			return true
		}
		if suffix, ok := strings.CutPrefix(h, "*"); ok && strings.HasPrefix(suffix, ".") &&
			strings.HasSuffix(host, suffix) && len(host) > len(suffix) {
			return true
		}
	}
	return false
}
