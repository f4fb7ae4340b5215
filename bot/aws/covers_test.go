package aws

import "testing"

func TestCovers(t *testing.T) {
	tests := []struct {
		name    string
		domains []string
		host    string
		want    bool
	}{
		// Exact names.
		{name: "exact", domains: []string{"www.example.com"}, host: "www.example.com", want: true},
		{name: "another name", domains: []string{"www.example.com"}, host: "api.example.com", want: false},
		{name: "one of several", domains: []string{"a.example.com", "b.example.com", "c.example.com"}, host: "b.example.com", want: true},
		{name: "no names", domains: nil, host: "www.example.com", want: false},
		{name: "a suffix is not a match", domains: []string{"example.com"}, host: "www.example.com", want: false},
		{name: "a longer name is not a match", domains: []string{"www.example.com"}, host: "example.com", want: false},
		{name: "label boundary", domains: []string{"example.com"}, host: "badexample.com", want: false},

		// Case.
		{name: "host in capitals", domains: []string{"www.example.com"}, host: "WWW.Example.COM", want: true},
		{name: "name in capitals", domains: []string{"WWW.EXAMPLE.COM"}, host: "www.example.com", want: true},
		{name: "wildcard in capitals", domains: []string{"*.EXAMPLE.com"}, host: "Api.example.COM", want: true},

		// Trailing dots.
		{name: "host with trailing dot", domains: []string{"www.example.com"}, host: "www.example.com.", want: true},
		{name: "name with trailing dot", domains: []string{"www.example.com."}, host: "www.example.com", want: true},
		{name: "wildcard with trailing dot", domains: []string{"*.example.com."}, host: "a.example.com", want: true},
		{name: "both with trailing dots", domains: []string{"*.example.com."}, host: "a.example.com.", want: true},
		{name: "two trailing dots", domains: []string{"www.example.com"}, host: "www.example.com..", want: false},

		// Wildcards (RFC 6125 6.4.3).
		{name: "wildcard covers one label", domains: []string{"*.example.com"}, host: "a.example.com", want: true},
		{name: "wildcard does not cover two labels", domains: []string{"*.example.com"}, host: "a.b.example.com", want: false},
		{name: "wildcard does not cover the bare domain", domains: []string{"*.example.com"}, host: "example.com", want: false},
		{name: "wildcard and bare domain together", domains: []string{"example.com", "*.example.com"}, host: "example.com", want: true},
		{name: "wildcard for another domain", domains: []string{"*.example.org"}, host: "a.example.com", want: false},
		{name: "wildcard one level down", domains: []string{"*.kprod.acme.example"}, host: "web-api-cutover.kprod.acme.example", want: true},
		{name: "wildcard only in the leftmost label", domains: []string{"a.*.example.com"}, host: "a.b.example.com", want: false},
		{name: "partial-label wildcard suffix", domains: []string{"f*.example.com"}, host: "foo.example.com", want: false},
		{name: "partial-label wildcard prefix", domains: []string{"*o.example.com"}, host: "foo.example.com", want: false},
		{name: "two wildcards", domains: []string{"*.*.example.com"}, host: "a.b.example.com", want: false},
		{name: "wildcard over a TLD", domains: []string{"*.com"}, host: "example.com", want: false},
		{name: "bare wildcard", domains: []string{"*"}, host: "localhost", want: false},
		{name: "wildcard never covers an IPv4 address", domains: []string{"*.0.0.1"}, host: "10.0.0.1", want: false},
		{name: "an IP address named exactly", domains: []string{"10.0.0.1"}, host: "10.0.0.1", want: true},
		{name: "wildcard host, same wildcard", domains: []string{"*.example.com"}, host: "*.example.com", want: true},
		{name: "wildcard host, one name only", domains: []string{"a.example.com"}, host: "*.example.com", want: false},
		{name: "wildcard host, wildcard above", domains: []string{"*.example.com"}, host: "*.b.example.com", want: false},
		{name: "host with a star inside", domains: []string{"*.example.com"}, host: "a*.example.com", want: false},

		// Malformed.
		{name: "empty host", domains: []string{"www.example.com"}, host: "", want: false},
		{name: "host is a dot", domains: []string{"."}, host: ".", want: false},
		{name: "empty label in host", domains: []string{"*.example.com"}, host: ".example.com", want: false},
		{name: "empty label inside host", domains: []string{"a..example.com"}, host: "a..example.com", want: false},
		{name: "empty names are skipped", domains: []string{"", "www.example.com"}, host: "www.example.com", want: true},

		// IDN: compared as given, in A-label form.
		{name: "A-label", domains: []string{"xn--bcher-kva.example"}, host: "XN--BCHER-KVA.example", want: true},
		{name: "A-label under a wildcard", domains: []string{"*.acme.example"}, host: "xn--bcher-kva.acme.example", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Covers(tt.domains, tt.host); got != tt.want {
				t.Errorf("Covers(%q, %q) = %v, want %v", tt.domains, tt.host, got, tt.want)
			}
		})
	}
}

func TestDedupNames(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{name: "none", in: nil, want: []string{}},
		{name: "domain name repeated as first SAN", in: []string{"a.example.com", "a.example.com", "*.example.com"}, want: []string{"a.example.com", "*.example.com"}},
		{name: "case and trailing dot", in: []string{"A.example.com", "a.EXAMPLE.com.", "b.example.com"}, want: []string{"A.example.com", "b.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dedupNames(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("dedupNames(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("dedupNames(%q) = %q, want %q", tt.in, got, tt.want)
				}
			}
		})
	}
}
