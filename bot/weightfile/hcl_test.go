package weightfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// exampleHCL is what templates/dns_source.tf.tmpl renders, at 100/0.
const exampleHCL = `# Weighted cutover entry for web-api (kprod), added by migratebot.
# Traffic is pointed at web-api-cutover.kprod.acme.example; the weights below move it from the old
# load balancer to the new platform, one reviewed step at a time.

resource "aws_route53_record" "web_api_cutover_kprod_acme_example_legacy_elb" {
  zone_id        = var.zone_id
  name           = "web-api-cutover.kprod.acme.example"
  type           = "CNAME"
  ttl            = 60
  set_identifier = "legacy-elb"
  records        = ["web-api-1234.us-east-1.elb.amazonaws.com"]

  weighted_routing_policy {
    weight = 100
  }
}

resource "aws_route53_record" "web_api_cutover_kprod_acme_example_k8s" {
  zone_id        = var.zone_id
  name           = "web-api-cutover.kprod.acme.example"
  type           = "CNAME"
  ttl            = 60
  set_identifier = "k8s"
  records        = ["web-api.k8s.kprod.acme.example"]

  weighted_routing_policy {
    weight = 0
  }
}
`

// realisticHCL has two weighted record sets among other blocks, with
// aligned "=" signs, every kind of comment and a heredoc.
var realisticHCL = mustReadFile("testdata/remove/tf-realistic.in")

func mustReadFile(name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// replace replaces old by new in s, which must hold old exactly once, so
// that a typo in a test's expected output cannot go unnoticed.
func replace(s, old, new string) string {
	if n := strings.Count(s, old); n != 1 {
		panic("replace: " + old + " occurs " + string(rune('0'+n)) + " times")
	}
	return strings.Replace(s, old, new, 1)
}

// weightedHCL is a weighted record for tests, with body lines added.
func weightedHCL(label, id, weight string, extra ...string) string {
	s := "resource \"aws_route53_record\" \"" + label + "\" {\n  name           = \"svc.example\"\n  type           = \"A\"\n"
	if id != "" {
		s += "  set_identifier = " + id + "\n"
	}
	for _, e := range extra {
		s += "  " + e + "\n"
	}
	if weight != "" {
		s += "  weighted_routing_policy {\n    weight = " + weight + "\n  }\n"
	}
	return s + "}\n"
}

func TestReadHCL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Source
	}{
		{
			name: "template",
			in:   exampleHCL,
			want: []Source{
				{Name: "legacy-elb", Target: "web-api-1234.us-east-1.elb.amazonaws.com", Weight: 100},
				{Name: "k8s", Target: "web-api.k8s.kprod.acme.example", Weight: 0},
			},
		},
		{
			name: "realistic: two record sets, aliases, other blocks ignored",
			in:   realisticHCL,
			want: []Source{
				{Name: "legacy-elb", Target: "web-api-1234.us-east-1.elb.amazonaws.com", Weight: 100},
				{Name: "k8s", Target: "web-api.k8s.kprod.acme.example", Weight: 0},
				{Name: "blue", Target: "data.aws_lb.new.dns_name", Weight: 10},
				{Name: "green", Target: "dualstack.green-123.us-east-1.elb.amazonaws.com", Weight: 90},
			},
		},
		{
			name: "targets",
			in: weightedHCL("a", `"records-literal"`, "1", `records = ["192.0.2.1", "192.0.2.2"]`) +
				weightedHCL("b", `"records-interpolated"`, "1", `records = ["${aws_eip.b.public_ip}"]`) +
				weightedHCL("c", `"records-expression-and-alias"`, "1", `records = [aws_eip.c.public_ip]`, "alias {", "  name = aws_lb.c.dns_name", "  zone_id = aws_lb.c.zone_id", "}") +
				weightedHCL("d", `"empty-records"`, "1", `records = []`) +
				weightedHCL("e", `"records-variable"`, "1", `records = var.ips`) +
				weightedHCL("f", `"nothing"`, "1") +
				weightedHCL("g", `"alias-literal"`, "1", "alias {", `  name = "d-123.cloudfront.net"`, "}") +
				weightedHCL("h", `"alias-multiline"`, "1", "alias {", "  name = (", "    aws_lb.h.dns_name", "  )", "}"),
			want: []Source{
				{"records-literal", "192.0.2.1", 1},
				{"records-interpolated", "", 1},
				{"records-expression-and-alias", "aws_lb.c.dns_name", 1},
				{"empty-records", "", 1},
				{"records-variable", "", 1},
				{"nothing", "", 1},
				{"alias-literal", "d-123.cloudfront.net", 1},
				{"alias-multiline", "(\n      aws_lb.h.dns_name\n    )", 1},
			},
		},
		{
			name: "set_identifier spellings",
			in: weightedHCL("a", `"with \"quotes\" and \\ backslash"`, "1") +
				weightedHCL("b", "<<EOT\nheredoc\nEOT", "2") +
				weightedHCL("c", `"ünïcødé"`, "3"),
			want: []Source{{`with "quotes" and \ backslash`, "", 1}, {"heredoc\n", "", 2}, {"ünïcødé", "", 3}},
		},
		{
			name: "ignored blocks",
			in: "variable \"w\" {\n  default = 5\n}\n" +
				"locals {\n  weighted_routing_policy = 1\n}\n" +
				"data \"aws_route53_record\" \"x\" {\n  set_identifier = \"data\"\n  weighted_routing_policy {\n    weight = 1\n  }\n}\n" +
				"resource \"aws_route53_record_set\" \"x\" {\n  set_identifier = \"other-type\"\n  weighted_routing_policy {\n    weight = 1\n  }\n}\n" +
				"module \"dns\" {\n  source = \"./dns\"\n  set_identifier = \"module\"\n}\n" +
				weightedHCL("plain", "", "") +
				weightedHCL("failover", `"failover"`, "", "failover_routing_policy {", "  type = \"PRIMARY\"", "}") +
				weightedHCL("only", `"only"`, "0") +
				"resource \"aws_route53_record\" \"nested\" {\n  set_identifier = \"n\"\n  lifecycle {\n    weighted_routing_policy {\n      weight = 1\n    }\n  }\n}\n",
			want: []Source{{"only", "", 0}},
		},
		{
			name: "one-line blocks and weight spellings",
			in: "resource \"aws_route53_record\" \"a\" {\n  set_identifier = \"a\"\n  weighted_routing_policy { weight = 255 }\n}\n" +
				"resource \"aws_route53_record\" \"b\" {\n  set_identifier = \"b\"\n  weighted_routing_policy {\n    weight = /* c */ 0 # d\n  }\n}\n",
			want: []Source{{"a", "", 255}, {"b", "", 0}},
		},
		{
			name: "CRLF and BOM",
			in:   "\ufeff" + crlf(exampleHCL),
			want: []Source{
				{Name: "legacy-elb", Target: "web-api-1234.us-east-1.elb.amazonaws.com", Weight: 100},
				{Name: "k8s", Target: "web-api.k8s.kprod.acme.example", Weight: 0},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadHCL([]byte(tc.in))
			if err != nil {
				t.Fatalf("ReadHCL: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ReadHCL mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadHCLRecordSets(t *testing.T) {
	f, err := parseHCL([]byte(realisticHCL))
	if err != nil {
		t.Fatal(err)
	}
	web := `{zone_id = var.zone_id, name = "web-api.kprod.acme.example", type = "CNAME"}`
	api := `{zone_id = var.zone_id, name = "api.kprod.acme.example", type = "A"}`
	if diff := cmp.Diff([]string{web, web, api, api}, hclSets(f.sources)); diff != "" {
		t.Errorf("record sets mismatch (-want +got):\n%s", diff)
	}
}

var setHCLCases = []setCase{
	{
		name:    "template",
		in:      exampleHCL,
		weights: map[string]int64{"legacy-elb": 90, "k8s": 10},
		want:    replace(replace(exampleHCL, "weight = 100", "weight = 90"), "weight = 0", "weight = 10"),
	},
	{
		name:    "template, one source only",
		in:      exampleHCL,
		weights: map[string]int64{"k8s": 5},
		want:    replace(exampleHCL, "weight = 0", "weight = 5"),
	},
	{
		name:    "template, full cutover",
		in:      exampleHCL,
		weights: map[string]int64{"legacy-elb": 0, "k8s": 100},
		want:    replace(replace(replace(exampleHCL, "weight = 100", "weight = OLD"), "weight = 0", "weight = 100"), "weight = OLD", "weight = 0"),
	},
	{
		name:    "same values return identical bytes",
		in:      exampleHCL,
		weights: map[string]int64{"legacy-elb": 100, "k8s": 0},
	},
	{
		name:    "empty weights map returns identical bytes",
		in:      exampleHCL,
		weights: map[string]int64{},
	},
	{
		name:    "realistic, both record sets",
		in:      realisticHCL,
		weights: map[string]int64{"legacy-elb": 75, "k8s": 25, "blue": 100, "green": 0},
		want: replace(replace(replace(replace(realisticHCL,
			"weight = 100 # old", "weight = 75 # old"),
			"{ weight = 0 }", "{ weight = 25 }"),
			"weight = /* was 5 */ 10", "weight = /* was 5 */ 100"),
			"weight = 90", "weight = 0"),
	},
	{
		name:    "realistic, one record set; the heredoc's text is not a weight",
		in:      realisticHCL,
		weights: map[string]int64{"blue": 1, "green": 99},
		want:    replace(replace(realisticHCL, "/* was 5 */ 10", "/* was 5 */ 1"), "weight = 90", "weight = 99"),
	},
	{
		name:    "tabs and no trailing newline",
		in:      mustReadFile("testdata/remove/tf-tabs.in"),
		weights: map[string]int64{"a": 100, "b": 20, "c": 0},
		want: replace(replace(replace(mustReadFile("testdata/remove/tf-tabs.in"),
			"weight\t= 1\n", "weight\t= 100\n"), "weight\t= 2\n", "weight\t= 20\n"), "{ weight = 3 }", "{ weight = 0 }"),
	},
	{
		name:    "CRLF line endings",
		in:      crlf(exampleHCL),
		weights: map[string]int64{"legacy-elb": 60, "k8s": 40},
		want:    crlf(replace(replace(exampleHCL, "weight = 100", "weight = 60"), "weight = 0", "weight = 40")),
	},
	{
		name:    "UTF-8 byte order mark",
		in:      "\ufeff" + exampleHCL,
		weights: map[string]int64{"k8s": 1},
		want:    "\ufeff" + replace(exampleHCL, "weight = 0", "weight = 1"),
	},
	{
		name: "record sets told apart by zone_id",
		in: "resource \"aws_route53_record\" \"pub\" {\n  zone_id = var.public\n  name = \"a.example\"\n  type = \"A\"\n  set_identifier = \"pub\"\n  weighted_routing_policy { weight = 0 }\n}\n" +
			"resource \"aws_route53_record\" \"pub2\" {\n  zone_id = var.public\n  name = \"a.example\"\n  type = \"A\"\n  set_identifier = \"pub2\"\n  weighted_routing_policy { weight = 100 }\n}\n" +
			"resource \"aws_route53_record\" \"priv\" {\n  zone_id = var.private\n  name = \"a.example\"\n  type = \"A\"\n  set_identifier = \"priv\"\n  weighted_routing_policy { weight = 5 }\n}\n",
		weights: map[string]int64{"pub": 50, "pub2": 50, "priv": 6},
		want: "resource \"aws_route53_record\" \"pub\" {\n  zone_id = var.public\n  name = \"a.example\"\n  type = \"A\"\n  set_identifier = \"pub\"\n  weighted_routing_policy { weight = 50 }\n}\n" +
			"resource \"aws_route53_record\" \"pub2\" {\n  zone_id = var.public\n  name = \"a.example\"\n  type = \"A\"\n  set_identifier = \"pub2\"\n  weighted_routing_policy { weight = 50 }\n}\n" +
			"resource \"aws_route53_record\" \"priv\" {\n  zone_id = var.private\n  name = \"a.example\"\n  type = \"A\"\n  set_identifier = \"priv\"\n  weighted_routing_policy { weight = 6 }\n}\n",
	},
}

func TestSetHCL(t *testing.T) {
	for _, tc := range setHCLCases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.in
			}
			in := []byte(tc.in)
			got, err := SetHCL(in, tc.weights)
			if err != nil {
				t.Fatalf("SetHCL: %v", err)
			}
			if string(in) != tc.in {
				t.Fatal("SetHCL modified its input")
			}
			if diff := cmp.Diff(want, string(got)); diff != "" {
				t.Errorf("SetHCL output mismatch (-want +got):\n%s", diff)
			}
			assertOnlyHCLWeightTokensChanged(t, in, got)

			before, err := ReadHCL(in)
			if err != nil {
				t.Fatalf("ReadHCL(input): %v", err)
			}
			after, err := ReadHCL(got)
			if err != nil {
				t.Fatalf("ReadHCL(output): %v", err)
			}
			for i := range before {
				if w, ok := tc.weights[before[i].Name]; ok {
					before[i].Weight = w
				}
			}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("ReadHCL(output) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

var hclErrCases = []errCase{
	{name: "not HCL: unclosed block", in: "resource \"aws_route53_record\" \"a\" {\n  set_identifier = \"a\"\n", wantErr: "line 1: not valid HCL: Unclosed configuration block"},
	{name: "not HCL: missing newline", in: "resource \"aws_route53_record\" \"a\" {\n  set_identifier = \"a\" weighted_routing_policy { weight = 1 }\n}\n", wantErr: "line 2: not valid HCL: Missing newline after argument"},
	{name: "not HCL: duplicate attribute", in: weightedHCL("a", `"a"`, "1", `set_identifier = "b"`), wantErr: "line 5: not valid HCL: Attribute redefined"},
	{name: "not HCL: duplicate weight", in: weightedHCL("a", `"a"`, "1\n    weight = 2"), wantErr: "line 7: not valid HCL: Attribute redefined: The argument \"weight\" was already set at file:6,5-11."},
	{name: "not HCL: invalid UTF-8", in: weightedHCL("a", "\"\xff\"", "1"), wantErr: "line 4: not valid HCL: Invalid character encoding"},
	{name: "not HCL: CR line endings", in: strings.ReplaceAll(weightedHCL("a", `"a"`, "1"), "\n", "\r"), wantErr: "line 1: not valid HCL: Invalid character"},
	{name: "CR line endings after a comment: all one comment", in: strings.ReplaceAll(exampleHCL, "\n", "\r"), wantErr: "no weighted records"},
	{name: "not HCL: YAML", in: "sources:\n  - {name: a, target: x, weight: 1}\n", wantErr: "not valid HCL"},
	{name: "empty", in: "", wantErr: `no weighted records: no resource "aws_route53_record" has a weighted_routing_policy block`},
	{name: "no weighted records", in: weightedHCL("a", `"a"`, ""), wantErr: "no weighted records"},
	{name: "weight is a variable", in: weightedHCL("a", `"a"`, "var.w"), wantErr: `line 6: source "a" (aws_route53_record.a): weight is not an integer literal (var.w)`},
	{name: "weight is a string", in: weightedHCL("a", `"a"`, `"10"`), wantErr: `source "a" (aws_route53_record.a): weight is not an integer literal ("10")`},
	{name: "weight is a function call", in: weightedHCL("a", `"a"`, "max(1, 2)"), wantErr: `weight is not an integer literal (max(1, 2))`},
	{name: "weight is parenthesized", in: weightedHCL("a", `"a"`, "(5)"), wantErr: `weight is not an integer literal ((5))`},
	{name: "weight is arithmetic", in: weightedHCL("a", `"a"`, "5 + 5"), wantErr: `weight is not an integer literal (5 + 5)`},
	{name: "weight is a multi-line expression", in: weightedHCL("a", `"a"`, "(\n      5\n    )"), wantErr: `weight is not an integer literal (( ...)`},
	{name: "weight is null", in: weightedHCL("a", `"a"`, "null"), wantErr: `weight is not an integer literal (null)`},
	{name: "weight is a bool", in: weightedHCL("a", `"a"`, "true"), wantErr: `weight is not an integer literal (true)`},
	{name: "weight is a fraction", in: weightedHCL("a", `"a"`, "1.5"), wantErr: `weight 1.5 is not an integer`},
	{name: "weight has an exponent", in: weightedHCL("a", `"a"`, "1e2"), wantErr: `weight 1e2 is not a plain decimal integer`},
	{name: "weight has a leading zero", in: weightedHCL("a", `"a"`, "010"), wantErr: `weight 010 is not a plain decimal integer`},
	{name: "weight is 10.0", in: weightedHCL("a", `"a"`, "10.0"), wantErr: `weight 10.0 is not a plain decimal integer`},
	{name: "weight above 255", in: weightedHCL("a", `"a"`, "256"), wantErr: `line 6: source "a" (aws_route53_record.a): weight 256 is outside 0..255`},
	{name: "weight huge", in: weightedHCL("a", `"a"`, "99999999999999999999999"), wantErr: `weight 99999999999999999999999 is outside 0..255`},
	{name: "weight negative", in: weightedHCL("a", `"a"`, "-1"), wantErr: `weight -1 is outside 0..255`},
	{name: "weight minus zero", in: weightedHCL("a", `"a"`, "-0"), wantErr: `weight -0 is not a plain decimal integer`},
	{name: "no weight", in: "resource \"aws_route53_record\" \"a\" {\n  set_identifier = \"a\"\n  weighted_routing_policy {}\n}\n", wantErr: `line 3: source "a" (aws_route53_record.a): weighted_routing_policy has no weight`},
	{name: "no set_identifier", in: weightedHCL("a", "", "1"), wantErr: `line 1: aws_route53_record.a has a weighted_routing_policy block but no set_identifier`},
	{name: "set_identifier interpolated", in: weightedHCL("a", `"${var.side}"`, "1"), wantErr: `line 4: aws_route53_record.a: set_identifier is not a string literal ("${var.side}")`},
	{name: "set_identifier a variable", in: weightedHCL("a", `var.side`, "1"), wantErr: `set_identifier is not a string literal (var.side)`},
	{name: "set_identifier empty", in: weightedHCL("a", `""`, "1"), wantErr: `line 4: aws_route53_record.a: set_identifier is empty`},
	{name: "duplicate set_identifier", in: weightedHCL("a", `"x"`, "1") + "\n" + weightedHCL("b", `"x"`, "2"), wantErr: `line 10: aws_route53_record.b: duplicate set_identifier "x" (first at line 1)`},
	{name: "two weighted_routing_policy blocks", in: weightedHCL("a", `"a"`, "1", "weighted_routing_policy {", "  weight = 2", "}"), wantErr: `line 8: aws_route53_record.a has more than one weighted_routing_policy block`},
	{name: "dynamic weighted_routing_policy", in: weightedHCL("a", `"a"`, "", "dynamic \"weighted_routing_policy\" {", "  for_each = [1]", "  content {", "    weight = 1", "  }", "}"), wantErr: `line 5: aws_route53_record.a: weighted_routing_policy is a dynamic block; not supported`},
	{name: "count", in: weightedHCL("a", `"a"`, "1", "count = 2"), wantErr: `line 5: aws_route53_record.a uses count; a weighted source must be a single record`},
	{name: "for_each", in: weightedHCL("a", `"a"`, "1", "for_each = toset([\"x\"])"), wantErr: `aws_route53_record.a uses for_each`},
	{name: "one label", in: "resource \"aws_route53_record\" {\n  set_identifier = \"a\"\n  weighted_routing_policy { weight = 1 }\n}\n", wantErr: `line 1: resource "aws_route53_record" has 1 labels, want 2`},
	{name: "labeled weighted_routing_policy", in: "resource \"aws_route53_record\" \"a\" {\n  set_identifier = \"a\"\n  weighted_routing_policy \"x\" { weight = 1 }\n}\n", wantErr: `line 3: source "a" (aws_route53_record.a): weighted_routing_policy block has labels`},
	{
		name:    "named source not in file",
		in:      exampleHCL,
		weights: map[string]int64{"k8s": 10, "eks": 90},
		readOK:  true,
		wantErr: `source "eks" not in file (file has "legacy-elb", "k8s")`,
	},
	{
		name:    "a resource label is not a set_identifier",
		in:      exampleHCL,
		weights: map[string]int64{"web_api_cutover_kprod_acme_example_k8s": 10},
		readOK:  true,
		wantErr: `source "web_api_cutover_kprod_acme_example_k8s" not in file`,
	},
	{
		name:    "new weight above 255",
		in:      exampleHCL,
		weights: map[string]int64{"k8s": 256},
		readOK:  true,
		wantErr: `source "k8s": new weight 256 is outside 0..255`,
	},
	{
		name:    "new weight negative",
		in:      exampleHCL,
		weights: map[string]int64{"legacy-elb": -1, "k8s": 100},
		readOK:  true,
		wantErr: `source "legacy-elb": new weight -1 is outside 0..255`,
	},
	{
		name:    "all zero after the edit",
		in:      exampleHCL,
		weights: map[string]int64{"legacy-elb": 0},
		readOK:  true,
		wantIs:  ErrAllZero,
		wantErr: `refusing edit: record set {zone_id = var.zone_id, name = "web-api-cutover.kprod.acme.example", type = "CNAME"}: all weights would be 0`,
	},
	{
		name:    "one record set all zero, the other fine",
		in:      realisticHCL,
		weights: map[string]int64{"blue": 0, "green": 0, "legacy-elb": 50, "k8s": 50},
		readOK:  true,
		wantIs:  ErrAllZero,
		wantErr: `record set {zone_id = var.zone_id, name = "api.kprod.acme.example", type = "A"}`,
	},
	{
		name:    "a record set not edited is all zero already",
		in:      replace(realisticHCL, "weight = 100 # old", "weight = 0 # old"),
		weights: map[string]int64{"blue": 50, "green": 50},
		readOK:  true,
		wantIs:  ErrAllZero,
		wantErr: `record set {zone_id = var.zone_id, name = "web-api.kprod.acme.example", type = "CNAME"}`,
	},
}

func TestSetHCLErrors(t *testing.T) {
	for _, tc := range hclErrCases {
		t.Run(tc.name, func(t *testing.T) {
			weights := tc.weights
			if weights == nil {
				weights = map[string]int64{"a": 1}
			}
			got, err := SetHCL([]byte(tc.in), weights)
			if err == nil {
				t.Fatalf("SetHCL succeeded with %q, want an error", got)
			}
			if got != nil {
				t.Errorf("SetHCL returned %q with its error, want nil", got)
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("SetHCL error = %q, want it to contain %q", err, tc.wantErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("SetHCL error = %q, want errors.Is %v", err, tc.wantIs)
			}
			if errors.Is(err, errInternal) {
				t.Errorf("SetHCL error = %q: an internal error", err)
			}

			sources, rerr := ReadHCL([]byte(tc.in))
			switch {
			case tc.readOK && rerr != nil:
				t.Errorf("ReadHCL: %v", rerr)
			case !tc.readOK && rerr == nil:
				t.Errorf("ReadHCL succeeded with %v, want an error", sources)
			case !tc.readOK && rerr.Error() != err.Error():
				t.Errorf("ReadHCL error = %q, want the same as SetHCL's %q", rerr, err)
			case !tc.readOK && sources != nil:
				t.Errorf("ReadHCL returned %v with its error, want nil", sources)
			}
		})
	}
}

func TestSetHCLDoesNotAliasInput(t *testing.T) {
	in := []byte(exampleHCL)
	out, err := SetHCL(in, map[string]int64{"k8s": 0})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in, out) {
		t.Fatalf("no-op edit changed bytes")
	}
	out[0] = 'X'
	if in[0] == 'X' {
		t.Fatal("SetHCL returned its input slice; want a copy")
	}
}

// removeCases are golden tests: testdata/remove/<in>.in with source remove
// removed must be testdata/remove/<in>.remove-<remove>.want, byte for byte.
// transform, if set, is applied to both files first.
var removeCases = []struct {
	name      string
	format    string
	in        string
	remove    string
	transform func(string) string
}{
	{name: "terraform: template, old side at 0", format: "terraform", in: "tf-template", remove: "legacy-elb"},
	{name: "terraform: template, CRLF", format: "terraform", in: "tf-template", remove: "legacy-elb", transform: crlf},
	{name: "terraform: template, byte order mark", format: "terraform", in: "tf-template", remove: "legacy-elb", transform: bom},
	{name: "terraform: block comment attached, blank line after", format: "terraform", in: "tf-realistic", remove: "k8s"},
	{name: "terraform: comment after the closing brace", format: "terraform", in: "tf-realistic", remove: "blue"},
	{name: "terraform: other record set", format: "terraform", in: "tf-realistic", remove: "green"},
	{name: "terraform: realistic, CRLF", format: "terraform", in: "tf-realistic", remove: "k8s", transform: crlf},
	{name: "terraform: tabs, first block, no blank line after", format: "terraform", in: "tf-tabs", remove: "a"},
	{name: "terraform: tabs, comment attached, comment after brace", format: "terraform", in: "tf-tabs", remove: "b"},
	{name: "terraform: tabs, last block, no final newline", format: "terraform", in: "tf-tabs", remove: "c"},
	{name: "terraform: first line of the file, one of two blank lines", format: "terraform", in: "tf-spacing", remove: "first"},
	{name: "terraform: first line of the file, byte order mark", format: "terraform", in: "tf-spacing", remove: "first", transform: bom},
	{name: "terraform: multi-line comment and line comment attached", format: "terraform", in: "tf-spacing", remove: "second"},
	{name: "terraform: detached comment stays, heredoc after", format: "terraform", in: "tf-spacing", remove: "third"},
	{name: "terraform: spacing, CRLF", format: "terraform", in: "tf-spacing", remove: "second", transform: crlf},
	{name: "yaml: example, old side at 0", format: "yaml", in: "yaml-example", remove: "legacy-elb"},
	{name: "yaml: example, CRLF", format: "yaml", in: "yaml-example", remove: "legacy-elb", transform: crlf},
	{name: "yaml: comments before and after stay", format: "yaml", in: "yaml-comments", remove: "a"},
	{name: "yaml: dash line with only a comment", format: "yaml", in: "yaml-comments", remove: "b"},
	{name: "yaml: dash alone on its line, last item", format: "yaml", in: "yaml-comments", remove: "c"},
	{name: "yaml: comments, CRLF", format: "yaml", in: "yaml-comments", remove: "b", transform: crlf},
	{name: "yaml: flow mapping item", format: "yaml", in: "yaml-styles", remove: "flow"},
	{name: "yaml: quoted scalar with a # line", format: "yaml", in: "yaml-styles", remove: "quoted"},
	{name: "yaml: block scalar with a # line", format: "yaml", in: "yaml-styles", remove: "block"},
	{name: "yaml: styles, byte order mark", format: "yaml", in: "yaml-styles", remove: "quoted", transform: bom},
	{name: "yaml: last item, no final newline", format: "yaml", in: "yaml-no-final-newline", remove: "b"},
	{name: "yaml: list behind an alias", format: "yaml", in: "yaml-alias", remove: "b"},
	{name: "yaml: flow item behind an alias", format: "yaml", in: "yaml-alias", remove: "c"},
	{name: "yaml: blank line after it would join a |+ scalar before it", format: "yaml", in: "yaml-block-scalar-before", remove: "b"},
}

func bom(s string) string { return "\ufeff" + s }

func TestRemove(t *testing.T) {
	for _, tc := range removeCases {
		t.Run(tc.name, func(t *testing.T) {
			in := mustReadFile(filepath.Join("testdata", "remove", tc.in+".in"))
			want := mustReadFile(filepath.Join("testdata", "remove", tc.in+".remove-"+tc.remove+".want"))
			if tc.transform != nil {
				in, want = tc.transform(in), tc.transform(want)
			}
			inBytes := []byte(in)
			got, err := Remove(tc.format, inBytes, tc.remove)
			if err != nil {
				t.Fatalf("Remove: %v", err)
			}
			if string(inBytes) != in {
				t.Fatal("Remove modified its input")
			}
			if diff := cmp.Diff(want, string(got)); diff != "" {
				t.Errorf("Remove output mismatch (-want +got):\n%s", diff)
			}
			direct := RemoveYAML
			if tc.format == "terraform" {
				direct = RemoveHCL
			}
			if again, err := direct(inBytes, tc.remove); err != nil || !bytes.Equal(again, got) {
				t.Errorf("direct call: %q, %v; want the same as Remove", again, err)
			}
			before, err := Read(tc.format, inBytes)
			if err != nil {
				t.Fatalf("Read(input): %v", err)
			}
			after, err := Read(tc.format, got)
			if err != nil {
				t.Fatalf("Read(output): %v", err)
			}
			var rest []Source
			for _, s := range before {
				if s.Name != tc.remove {
					rest = append(rest, s)
				}
			}
			if diff := cmp.Diff(rest, after); diff != "" {
				t.Errorf("Read(output) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRemoveGoldenFilesUsed keeps testdata/remove free of stale files.
func TestRemoveGoldenFilesUsed(t *testing.T) {
	used := map[string]bool{}
	for _, tc := range removeCases {
		used[tc.in+".in"] = true
		used[tc.in+".remove-"+tc.remove+".want"] = true
	}
	files, err := filepath.Glob(filepath.Join("testdata", "remove", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !used[filepath.Base(f)] {
			t.Errorf("%s is not used by any remove case", f)
		}
	}
}

func TestRemoveErrors(t *testing.T) {
	twoSets := "resource \"aws_route53_record\" \"a\" {\n  name           = \"a.example\"\n  set_identifier = \"a\"\n  weighted_routing_policy { weight = 100 }\n}\n" +
		"resource \"aws_route53_record\" \"b\" {\n  name           = \"b.example\"\n  set_identifier = \"b\"\n  weighted_routing_policy { weight = 0 }\n}\n" +
		"resource \"aws_route53_record\" \"c\" {\n  name           = \"b.example\"\n  set_identifier = \"c\"\n  weighted_routing_policy { weight = 100 }\n}\n"
	tests := []struct {
		name    string
		format  string
		in      string
		remove  string
		wantErr string
		wantIs  error
	}{
		{name: "yaml: not in file", format: "yaml", in: exampleYAML, remove: "eks", wantErr: `source "eks" not in file (file has "legacy-elb", "k8s")`},
		{name: "yaml: only source", format: "yaml", in: "sources:\n  - {name: a, target: x, weight: 100}\n", remove: "a", wantErr: `refusing to remove source "a": it is the only source in the file`},
		{name: "yaml: the rest would be all zero", format: "yaml", in: exampleYAML, remove: "legacy-elb", wantIs: ErrAllZero, wantErr: `refusing to remove source "legacy-elb": all weights would be 0`},
		{name: "yaml: all zero counting every other source", format: "yaml", in: "sources:\n  - {name: a, target: x, weight: 0}\n  - {name: b, target: y, weight: 0}\n  - {name: c, target: z, weight: 5}\n", remove: "c", wantIs: ErrAllZero},
		{name: "yaml: flow-style list", format: "yaml", in: "sources: [{name: a, target: x, weight: 1}, {name: b, target: y, weight: 2}]\n", remove: "a", wantErr: `line 1: cannot remove source "a" exactly: "sources" is a flow-style list ([...]); only a block-style list ("- " items) can be edited; remove it by hand`},
		{name: "yaml: flow-style list over lines", format: "yaml", in: "sources: [\n  {name: a, target: x, weight: 1},\n  {name: b, target: y, weight: 2},\n]\n", remove: "b", wantErr: "flow-style list"},
		{name: "yaml: anchor used elsewhere", format: "yaml", in: mustReadFile("testdata/remove/yaml-alias.in"), remove: "a", wantErr: `line 2: cannot remove source "a": the alias *t at line 6 refers to an anchor in it`},
		{name: "yaml: item anchor used elsewhere", format: "yaml", in: "sources:\n  - &a {name: a, target: x, weight: 1}\n  - {name: b, target: y, weight: 2}\ncopy: *a\n", remove: "a", wantErr: `the alias *a at line 4 refers to an anchor in it`},
		{name: "yaml: comment after it would join a block scalar", format: "yaml", in: "sources:\n  - name: a\n    weight: 1\n    target: |\n      a\n  - name: b\n    weight: 1\n    target: b\n      # deep comment\n  - {name: c, target: c, weight: 1}\n", remove: "b", wantErr: `line 9: cannot remove source "b" exactly: the comment on the line after it would become part of the block scalar at line 4; remove it by hand`},
		{name: "yaml: not YAML", format: "yaml", in: "sources: [\n", remove: "a", wantErr: "not YAML"},
		{name: "yaml: bad weight elsewhere", format: "yaml", in: "sources:\n  - {name: a, target: x, weight: 1}\n  - {name: b, target: y, weight: x}\n", remove: "a", wantErr: `line 3: source "b": weight "x" is not an integer`},
		{name: "terraform: not in file", format: "terraform", in: realisticHCL, remove: "eu", wantErr: `source "eu" not in file (file has "legacy-elb", "k8s", "blue", "green")`},
		{name: "terraform: resource label is not a name", format: "terraform", in: realisticHCL, remove: "api_blue", wantErr: `source "api_blue" not in file`},
		{name: "terraform: only source of its record set", format: "terraform", in: twoSets, remove: "a", wantErr: `refusing to remove source "a": it is the only source of record set {name = "a.example"}`},
		{name: "terraform: the rest of its set would be all zero", format: "terraform", in: twoSets, remove: "c", wantIs: ErrAllZero, wantErr: `refusing to remove source "c": record set {name = "b.example"}: all weights would be 0`},
		{name: "terraform: realistic, old side still at 100", format: "terraform", in: realisticHCL, remove: "legacy-elb", wantIs: ErrAllZero},
		{name: "terraform: another set is all zero already", format: "terraform", in: replace(twoSets, "weight = 100 }\n}\nresource \"aws_route53_record\" \"b\"", "weight = 0 }\n}\nresource \"aws_route53_record\" \"b\""), remove: "b", wantIs: ErrAllZero, wantErr: `record set {name = "a.example"}`},
		{name: "terraform: comment before the block on its line", format: "terraform", in: "/* x */ " + weightedHCL("a", `"a"`, "0") + weightedHCL("b", `"b"`, "100"), remove: "a", wantErr: `line 1: cannot remove source "a" (aws_route53_record.a) exactly: its block does not start on a line of its own; remove it by hand`},
		{name: "terraform: multi-line comment after the closing brace", format: "terraform", in: replace(twoSets, "weight = 0 }\n}\n", "weight = 0 }\n} /* a\nb */\n"), remove: "b", wantErr: `line 10: cannot remove source "b" (aws_route53_record.b) exactly: something follows its closing brace on the same line`},
		{name: "terraform: not HCL", format: "terraform", in: "resource {", remove: "a", wantErr: "not valid HCL"},
		{name: "terraform: bad weight elsewhere", format: "terraform", in: replace(twoSets, "weight = 0", "weight = var.w"), remove: "a", wantErr: `line 9: source "b" (aws_route53_record.b): weight is not an integer literal (var.w)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Remove(tc.format, []byte(tc.in), tc.remove)
			if err == nil {
				t.Fatalf("Remove succeeded with %q, want an error", got)
			}
			if got != nil {
				t.Errorf("Remove returned %q with its error, want nil", got)
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Remove error = %q, want it to contain %q", err, tc.wantErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Remove error = %q, want errors.Is %v", err, tc.wantIs)
			}
			if errors.Is(err, errInternal) {
				t.Errorf("Remove error = %q: an internal error", err)
			}
		})
	}
}

func TestDispatch(t *testing.T) {
	files := map[string]string{"yaml": exampleYAML, "terraform": exampleHCL}
	for _, format := range []string{"yaml", "terraform"} {
		t.Run(format, func(t *testing.T) {
			in := []byte(files[format])
			sources, err := Read(format, in)
			if err != nil {
				t.Fatal(err)
			}
			want := []Source{
				{Name: "legacy-elb", Target: "web-api-1234.us-east-1.elb.amazonaws.com", Weight: 100},
				{Name: "k8s", Target: "web-api.k8s.kprod.acme.example", Weight: 0},
			}
			if diff := cmp.Diff(want, sources); diff != "" {
				t.Errorf("Read mismatch (-want +got):\n%s", diff)
			}
			set, err := Set(format, in, map[string]int64{"legacy-elb": 0, "k8s": 100})
			if err != nil {
				t.Fatal(err)
			}
			removed, err := Remove(format, set, "legacy-elb")
			if err != nil {
				t.Fatal(err)
			}
			after, err := Read(format, removed)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want[1:2], []Source{{Name: after[0].Name, Target: after[0].Target}}); diff != "" || len(after) != 1 || after[0].Weight != 100 {
				t.Errorf("after cutover and removal: %+v", after)
			}
			if _, err := Set(format, in, map[string]int64{"legacy-elb": 0}); !errors.Is(err, ErrAllZero) {
				t.Errorf("Set to all zero: error %v, want ErrAllZero", err)
			}
		})
	}
	for _, format := range []string{"", "json", "YAML", "tf", "hcl"} {
		t.Run("unknown format "+format, func(t *testing.T) {
			want := `unknown weights file format "` + format + `" (want "yaml" or "terraform")`
			if got, err := Read(format, []byte(exampleYAML)); err == nil || err.Error() != want || got != nil {
				t.Errorf("Read: %v, %v; want nil, %s", got, err, want)
			}
			if got, err := Set(format, []byte(exampleYAML), nil); err == nil || err.Error() != want || got != nil {
				t.Errorf("Set: %q, %v; want nil, %s", got, err, want)
			}
			if got, err := Remove(format, []byte(exampleYAML), "k8s"); err == nil || err.Error() != want || got != nil {
				t.Errorf("Remove: %q, %v; want nil, %s", got, err, want)
			}
		})
	}
}
