package aws

import (
	"net/netip"
	"strings"
)

// Covers reports whether a certificate naming domains (its DNS subject
// alternative names) is valid for host, by the rules of RFC 6125 section 6.4
// as browsers and Go's crypto/tls apply them:
//
//   - names compare case-insensitively (ASCII), ignoring one trailing dot;
//   - a wildcard is a leftmost label of exactly "*" and stands for exactly
//     one non-empty label: *.example.com covers a.example.com, but neither
//     a.b.example.com nor example.com;
//   - a "*" anywhere else (a.*.example.com, f*.example.com) matches nothing;
//   - a wildcard needs two labels after it (*.com covers nothing) and never
//     covers an IP address;
//   - a host or name with an empty label (a..b, .a, a.b..) matches nothing.
//
// Internationalised names are compared as given: pass A-labels (xn--...).
func Covers(domains []string, host string) bool {
	h, ok := normalizeName(host)
	if !ok {
		return false
	}
	// A wildcard host (*.example.com, as a DNS record may be) is covered
	// only by the same wildcard: it stands for every name below it.
	hostLabel, hostParent, _ := strings.Cut(h, ".")
	if strings.Contains(hostParent, "*") || (strings.Contains(hostLabel, "*") && hostLabel != "*") {
		return false
	}
	_, err := netip.ParseAddr(h)
	isIP := err == nil
	for _, d := range domains {
		p, ok := normalizeName(d)
		if !ok {
			continue
		}
		if p == h {
			return true
		}
		parent, ok := strings.CutPrefix(p, "*.")
		if !ok || isIP || hostLabel == "*" || strings.Contains(parent, "*") || !strings.Contains(parent, ".") {
			continue
		}
		if hostParent == parent {
			return true
		}
	}
	return false
}

// normalizeName lower-cases name (ASCII) and drops one trailing dot; ok is
// false for an empty name or one with an empty label.
func normalizeName(name string) (string, bool) {
	name = toLowerASCII(strings.TrimSuffix(name, "."))
	if name == "" {
		return "", false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return "", false
		}
	}
	return name, true
}

func toLowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
