package trafficfile

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the seed-* files in testdata/fuzz from fuzzSeeds")

// fuzzSeed is one seed corpus entry: the arguments of a fuzz target after
// its *testing.T, in order and of the exact types.
type fuzzSeed struct {
	name string
	args []any
}

// fuzzSeeds returns the seed corpus of each fuzz target. Most seeds are
// the testdata files (LF and CRLF) with real arguments; an empty target
// argument makes the fuzz target pick one from the file.
func fuzzSeeds(t *testing.T) map[string][]fuzzSeed {
	file := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	crlf := func(name string) []byte { return toCRLF(file(name)) }
	return map[string][]fuzzSeed{
		"FuzzSetNginxUpstream": {
			{"upstreams", []any{file("nginx/upstreams.in"), "web_api", elbHost, cutoverHost, uint8(0)}},
			{"upstreams-crlf", []any{crlf("nginx/upstreams.in"), "web_api", elbHost, cutoverHost, uint8(0)}},
			{"upstreams-ports", []any{file("nginx/upstreams.in"), "web_api", elbHost + ":8443", cutoverHost + ":9443", uint8(0)}},
			{"upstreams-pick", []any{file("nginx/upstreams.in"), "", "", "new.example", uint8(9)}},
			{"upstreams-pick-valid", []any{file("nginx/upstreams.in"), "", "", "New Host;:8o8o", uint8(0x80 | 17)}},
			{"nginx-quoted", []any{file("nginx/nginx.in"), "web_api", elbHost, cutoverHost, uint8(0)}},
			{"nginx-pick", []any{file("nginx/nginx.in"), "", "", "new.example:81", uint8(1)}},
			{"duplicate", []any{file("nginx/duplicate.in"), "web_api", elbHost, cutoverHost, uint8(0)}},
			{"unclosed", []any{file("nginx/unclosed.in"), "", "", "new.example", uint8(0)}},
			{"one-line", []any{[]byte("upstream u{server a.example:80 weight=2;server b.example;}"), "", "", "c.example", uint8(8)}},
			{"escapes", []any{[]byte("upstream \"u\" { server a\\.example; server 'a.example' backup; }\n"), "u", "a.example", "c.example", uint8(0)}},
			{"bad-new-host", []any{file("nginx/upstreams.in"), "web_api", elbHost, "a;b", uint8(0)}},
		},
		"FuzzSetProperty": {
			{"mule", []any{file("properties/mule-proxy.in"), "implementation.host", cutoverHost, uint8(0)}},
			{"mule-crlf", []any{crlf("properties/mule-proxy.in"), "implementation.host", cutoverHost, uint8(0)}},
			{"mule-pick", []any{file("properties/mule-proxy.in"), "", "new-value", uint8(5)}},
			{"mule-pick-valid", []any{file("properties/mule-proxy.in"), "", "new value\\", uint8(0x80 | 9)}},
			{"mule-continued", []any{file("properties/mule-proxy.in"), "description", "short", uint8(0)}},
			{"mule-escaped", []any{file("properties/mule-proxy.in"), "implementation.uri", "https://a.example:443/x", uint8(0)}},
			{"no-newline", []any{file("properties/no-newline.in"), "", "x", uint8(0)}},
			{"duplicate", []any{file("properties/duplicate.in"), "implementation.host", cutoverHost, uint8(0)}},
			{"malformed", []any{file("properties/malformed.in"), "", "x", uint8(0)}},
			{"continuation-quirks", []any{[]byte("\\\n#not a comment=1\na=b\\\r\n  \\\n\nc\\\n"), "", "v", uint8(1)}},
			{"separators", []any{[]byte("a b\nc:d\ne = f  \ng\n\\u0041=\\:x\\=\n"), "", "=v", uint8(3)}},
		},
		"FuzzSetYAMLValue": {
			{"mule", []any{file("yaml/mule-proxy.in"), "proxy.upstream.host", cutoverHost, uint8(0)}},
			{"mule-crlf", []any{crlf("yaml/mule-proxy.in"), "proxy.upstream.host", cutoverHost, uint8(0)}},
			{"mule-pick", []any{file("yaml/mule-proxy.in"), "", "new-value", uint8(3)}},
			{"mule-pick-int", []any{file("yaml/mule-proxy.in"), "", "42", uint8(1)}},
			{"mule-pick-valid", []any{file("yaml/mule-proxy.in"), "", "new 'value'", uint8(0x80 | 4)}},
			{"mule-flow", []any{file("yaml/mule-proxy.in"), "backends.1.host", "a.example", uint8(0)}},
			{"two-docs", []any{file("yaml/two-docs.in"), "proxy.host", "a.example", uint8(0)}},
			{"dotted", []any{file("yaml/dotted.in"), "", "a.example", uint8(0)}},
			{"bom-and-marker", []any{[]byte("\xef\xbb\xbf---\nk: v # c\nl: [a, 'b', \"c\"]\n"), "", "x", uint8(1)}},
			{"multibyte", []any{[]byte("k: {é: \"ü\", x: 'y'}\r\n"), "", "x", uint8(0)}},
		},
		"FuzzSetFastlyBackendAddress": {
			{"fastly", []any{file("fastly/fastly.in"), "web_api_origin", cutoverHost, uint8(0)}},
			{"fastly-crlf", []any{crlf("fastly/fastly.in"), "web_api_origin", cutoverHost, uint8(0)}},
			{"fastly-pick", []any{file("fastly/fastly.in"), "", "new.example", uint8(1)}},
			{"fastly-pick-compute", []any{file("fastly/fastly.in"), "", "new.example", uint8(2)}},
			{"fastly-pick-valid", []any{file("fastly/fastly.in"), "", "New Example:443", uint8(0x80 | 1)}},
			{"duplicate", []any{file("fastly/duplicate.in"), "origin", cutoverHost, uint8(0)}},
			{"broken", []any{file("fastly/broken.in"), "", cutoverHost, uint8(0)}},
			{"small", []any{[]byte("resource \"fastly_service_compute\" \"c\" {\n\tbackend {\n\t\tname\t= \"b\" # n\n\t\taddress = (\"a.example\") // x\n\t}\n}\n"), "", "c.example", uint8(0x80)}},
			{"small-crlf-comments", []any{[]byte("/* x */ resource \"fastly_service_vcl\" \"v\" {\r\n  backend {\r\n    address = \"a.example\"\r\n    name = \"b\"\r\n  }\r\n  backend { name = \"c\" }\r\n}\r\n"), "b", "a.example", uint8(0)}},
			{"heredoc", []any{[]byte("resource \"fastly_service_vcl\" \"s\" {\n  backend {\n    name = \"b\"\n    address = <<EOT\nold.example\nEOT\n  }\n}\n"), "", "new.example", uint8(0)}},
		},
		"FuzzSetCNAME": {
			{"alias", []any{file("route53/route53.in"), "web_api", cutoverHost, 60, uint8(0)}},
			{"alias-crlf", []any{crlf("route53/route53.in"), "web_api", cutoverHost, 60, uint8(0)}},
			{"cname", []any{file("route53/route53.in"), "web_api_cname", cutoverHost, 300, uint8(0)}},
			{"pick", []any{file("route53/route53.in"), "", "new.example", 0, uint8(2)}},
			{"pick-no-name", []any{file("route53/route53.in"), "", "new.example", 3600, uint8(3)}},
			{"pick-valid", []any{file("route53/route53.in"), "", "New Example.", -1, uint8(0x80 | 2)}},
			{"duplicate", []any{file("route53/duplicate.in"), "web_api", cutoverHost, 60, uint8(0)}},
			{"small-alias", []any{[]byte("resource \"aws_route53_record\" \"r\" {\n  name = \"a\"\n  type = \"A\"\n  alias {\n    name = \"b\"\n  }\n}\n"), "", "c.example", 60, uint8(0x80)}},
			{"small-tabs", []any{[]byte("resource \"aws_route53_record\" \"r\" {\r\n\tname\t= \"a\" # n\r\n\trecords = [\r\n\t\t\"x\", // old\r\n\t]\r\n\tttl = 5\r\n}\r\n"), "r", "c.example", 5, uint8(0)}},
			{"minimal", []any{[]byte("resource aws_route53_record r {\n}\n"), "", "a.example", 1, uint8(0)}},
			{"string-ttl", []any{[]byte("resource \"aws_route53_record\" \"r\" {\n  type = \"CNAME\"\n  ttl = \"60\"\n  records = tolist([\"a.example\"])\n}\n"), "r", "a.example", 60, uint8(0)}},
		},
	}
}

// marshalSeed writes a seed in the "go test fuzz v1" corpus format, with
// strings quoted by strconv.Quote as the fuzzing engine does.
func marshalSeed(args []any) ([]byte, error) {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
		case string:
			fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
		case uint8:
			fmt.Fprintf(&b, "uint8(%d)\n", v)
		case int:
			fmt.Fprintf(&b, "int(%d)\n", v)
		default:
			return nil, fmt.Errorf("unsupported seed argument type %T", a)
		}
	}
	return []byte(b.String()), nil
}

// TestFuzzSeeds checks that the seed-* files in testdata/fuzz are what
// fuzzSeeds says, and with -update-seeds writes them.
func TestFuzzSeeds(t *testing.T) {
	for target, seeds := range fuzzSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		want := map[string]bool{}
		for _, s := range seeds {
			name := "seed-" + s.name
			want[name] = true
			data, err := marshalSeed(s.args)
			if err != nil {
				t.Fatalf("%s/%s: %v", target, name, err)
			}
			path := filepath.Join(dir, name)
			if *updateSeeds {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%v (run with -update-seeds)", err)
				continue
			}
			if string(got) != string(data) {
				t.Errorf("%s is stale (run with -update-seeds)", path)
			}
		}
		files, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
		for _, f := range files {
			if !want[filepath.Base(f)] {
				t.Errorf("%s is not in fuzzSeeds; remove it or add it there", f)
			}
		}
	}
}
