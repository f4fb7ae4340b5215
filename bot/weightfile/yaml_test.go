package weightfile

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// exampleYAML is the format's reference example.
const exampleYAML = `# DNS sources for web-api in kprod. Managed by migratebot; reviewed by platform.
record: web-api.kprod.acme.example
ttl: 60
sources:
  - name: legacy-elb      # classic ELB, to be retired
    target: web-api-1234.us-east-1.elb.amazonaws.com
    weight: 100
  - name: k8s
    target: web-api.k8s.kprod.acme.example
    weight: 0  # new platform
`

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

type setCase struct {
	name    string
	in      string
	weights map[string]int64
	want    string   // expected output; "" means identical to in
	read    []Source // expected ReadYAML(in); nil means don't check
}

var setCases = []setCase{
	{
		name:    "example",
		in:      exampleYAML,
		weights: map[string]int64{"legacy-elb": 90, "k8s": 10},
		want:    strings.Replace(strings.Replace(exampleYAML, "weight: 100", "weight: 90", 1), "weight: 0 ", "weight: 10 ", 1),
		read: []Source{
			{Name: "legacy-elb", Target: "web-api-1234.us-east-1.elb.amazonaws.com", Weight: 100},
			{Name: "k8s", Target: "web-api.k8s.kprod.acme.example", Weight: 0},
		},
	},
	{
		name:    "example, one source only",
		in:      exampleYAML,
		weights: map[string]int64{"k8s": 5},
		want:    strings.Replace(exampleYAML, "weight: 0 ", "weight: 5 ", 1),
	},
	{
		name:    "example, full cutover",
		in:      exampleYAML,
		weights: map[string]int64{"legacy-elb": 0, "k8s": 100},
		want:    strings.Replace(strings.Replace(exampleYAML, "weight: 100", "weight: 0", 1), "weight: 0 ", "weight: 100 ", 1),
	},
	{
		name:    "same values return identical bytes",
		in:      exampleYAML,
		weights: map[string]int64{"legacy-elb": 100, "k8s": 0},
	},
	{
		name:    "empty weights map returns identical bytes",
		in:      exampleYAML,
		weights: map[string]int64{},
	},
	{
		name: "flow style items",
		in: `sources:
  - {name: a, target: a.example, weight: 10}   # a
  - {name: b, target: b.example, weight: 90}
`,
		weights: map[string]int64{"a": 100, "b": 0},
		want: `sources:
  - {name: a, target: a.example, weight: 100}   # a
  - {name: b, target: b.example, weight: 0}
`,
		read: []Source{{"a", "a.example", 10}, {"b", "b.example", 90}},
	},
	{
		name:    "flow style list, weight first, no spaces",
		in:      "sources: [{weight: 7, name: a, target: x}, {name: b, target: y, weight: 93}]\nttl: 60\n",
		weights: map[string]int64{"a": 50, "b": 50},
		want:    "sources: [{weight: 50, name: a, target: x}, {name: b, target: y, weight: 50}]\nttl: 60\n",
	},
	{
		name:    "flow style on several lines",
		in:      "sources: [\n  {name: a,\n   target: x,\n   weight: 1},\n  {name: b, target: y,\n   weight:\n     99}\n]\n",
		weights: map[string]int64{"a": 2, "b": 98},
		want:    "sources: [\n  {name: a,\n   target: x,\n   weight: 2},\n  {name: b, target: y,\n   weight:\n     98}\n]\n",
	},
	{
		name:    "double-quoted weights keep their quotes",
		in:      "sources:\n  - name: a\n    target: x\n    weight: \"25\"\n  - name: b\n    target: y\n    weight: \"75\"\n",
		weights: map[string]int64{"a": 100, "b": 0},
		want:    "sources:\n  - name: a\n    target: x\n    weight: \"100\"\n  - name: b\n    target: y\n    weight: \"0\"\n",
		read:    []Source{{"a", "x", 25}, {"b", "y", 75}},
	},
	{
		name:    "single-quoted weights keep their quotes",
		in:      "sources:\n  - name: a\n    target: x\n    weight: '25' # q\n  - {name: b, target: y, weight: '75'}\n",
		weights: map[string]int64{"a": 5, "b": 95},
		want:    "sources:\n  - name: a\n    target: x\n    weight: '5' # q\n  - {name: b, target: y, weight: '95'}\n",
	},
	{
		name:    "mixed quoting",
		in:      "sources:\n- {name: a, target: x, weight: 1}\n- {name: b, target: y, weight: \"2\"}\n- {name: c, target: z, weight: '3'}\n",
		weights: map[string]int64{"a": 10, "b": 20, "c": 30},
		want:    "sources:\n- {name: a, target: x, weight: 10}\n- {name: b, target: y, weight: \"20\"}\n- {name: c, target: z, weight: '30'}\n",
	},
	{
		name:    "double-quoted weight with escapes is rewritten plainly",
		in:      "sources:\n  - name: a\n    target: x\n    weight: \"\\x32\\x35\"\n  - name: b\n    target: y\n    weight: 75\n",
		weights: map[string]int64{"a": 30, "b": 70},
		want:    "sources:\n  - name: a\n    target: x\n    weight: \"30\"\n  - name: b\n    target: y\n    weight: 70\n",
		read:    []Source{{"a", "x", 25}, {"b", "y", 75}},
	},
	{
		name:    "CRLF line endings",
		in:      crlf(exampleYAML),
		weights: map[string]int64{"legacy-elb": 75, "k8s": 25},
		want:    crlf(strings.Replace(strings.Replace(exampleYAML, "weight: 100", "weight: 75", 1), "weight: 0 ", "weight: 25 ", 1)),
	},
	{
		name:    "CR line endings",
		in:      "sources:\r  - name: a\r    target: x\r    weight: 1\r  - name: b\r    target: y\r    weight: 2\r",
		weights: map[string]int64{"b": 3},
		want:    "sources:\r  - name: a\r    target: x\r    weight: 1\r  - name: b\r    target: y\r    weight: 3\r",
	},
	{
		name:    "leading document marker",
		in:      "---\n" + exampleYAML,
		weights: map[string]int64{"k8s": 1},
		want:    "---\n" + strings.Replace(exampleYAML, "weight: 0 ", "weight: 1 ", 1),
	},
	{
		name:    "document markers with comments and end marker",
		in:      "# head\n--- # start\nsources:\n  - {name: a, target: x, weight: 1}\n... # end\n",
		weights: map[string]int64{"a": 2},
		want:    "# head\n--- # start\nsources:\n  - {name: a, target: x, weight: 2}\n... # end\n",
	},
	{
		name:    "UTF-8 byte order mark",
		in:      "\ufeffsources:\n  - {name: a, target: x, weight: 1}\n",
		weights: map[string]int64{"a": 200},
		want:    "\ufeffsources:\n  - {name: a, target: x, weight: 200}\n",
	},
	{
		name: "four-space indentation, unindented and wide dashes",
		in: `meta:
    owner: platform
sources:
-   name: a
    target: x
    weight: 40
-     name: b
      target: y
      weight: 60
`,
		weights: map[string]int64{"a": 41, "b": 59},
		want: `meta:
    owner: platform
sources:
-   name: a
    target: x
    weight: 41
-     name: b
      target: y
      weight: 59
`,
	},
	{
		name: "weight before name, other keys around",
		in: `sources:
  - weight: 30
    name: a
    target: x
    set_identifier: a-id
  - health_check: {weight: 9, path: /healthz}
    weight: 70
    name: b
    target: y
`,
		weights: map[string]int64{"a": 31, "b": 69},
		want: `sources:
  - weight: 31
    name: a
    target: x
    set_identifier: a-id
  - health_check: {weight: 9, path: /healthz}
    weight: 69
    name: b
    target: y
`,
		read: []Source{{"a", "x", 30}, {"b", "y", 70}},
	},
	{
		name: "comments everywhere",
		in: `# weight: 1 (a comment, not a weight)
sources: # the list
  # before a
  - name: a # a's name
    # between keys
    target: x   # a's target
    weight: 10 # weight: 20
    # after a
  - # b on the next line
    name: b
    target: y
    weight:   # the value is below
      90
# trailing
`,
		weights: map[string]int64{"a": 20, "b": 80},
		want: `# weight: 1 (a comment, not a weight)
sources: # the list
  # before a
  - name: a # a's name
    # between keys
    target: x   # a's target
    weight: 20 # weight: 20
    # after a
  - # b on the next line
    name: b
    target: y
    weight:   # the value is below
      80
# trailing
`,
	},
	{
		name:    "multi-byte characters before the weight on its line",
		in:      "sources:\n  - {name: café-ü, target: 例え.example, weight: 10} # ñ\n  - {name: b, target: y, weight: 0}\n",
		weights: map[string]int64{"café-ü": 9, "b": 1},
		want:    "sources:\n  - {name: café-ü, target: 例え.example, weight: 9} # ñ\n  - {name: b, target: y, weight: 1}\n",
	},
	{
		name:    "quoted keys and names",
		in:      "\"sources\":\n  - \"name\": \"a b\"\n    'target': 'x'\n    \"weight\": 5\n",
		weights: map[string]int64{"a b": 6},
		want:    "\"sources\":\n  - \"name\": \"a b\"\n    'target': 'x'\n    \"weight\": 6\n",
		read:    []Source{{"a b", "x", 5}},
	},
	{
		name:    "anchors and aliases outside weights",
		in:      "defaults: &zone acme.example\nsources:\n  - &first {name: a, target: *zone, weight: 1}\n  - {name: b, target: *zone, weight: 2}\ncopy: *first\n",
		weights: map[string]int64{"a": 3},
		want:    "defaults: &zone acme.example\nsources:\n  - &first {name: a, target: *zone, weight: 3}\n  - {name: b, target: *zone, weight: 2}\ncopy: *first\n",
		read:    []Source{{"a", "acme.example", 1}, {"b", "acme.example", 2}},
	},
	{
		name:    "NEL, LS and PS line breaks",
		in:      "sources:\u0085  - name: a\u2028    target: x\u0085    weight: 1\u2029  - {name: b, target: y, weight: 2}\n",
		weights: map[string]int64{"a": 10, "b": 20},
		want:    "sources:\u0085  - name: a\u2028    target: x\u0085    weight: 10\u2029  - {name: b, target: y, weight: 20}\n",
	},
	{
		name:    "JSON",
		in:      `{"sources": [{"name": "a", "target": "x", "weight": 1}, {"name":"b","target":"y","weight":2}]}`,
		weights: map[string]int64{"a": 10, "b": 20},
		want:    `{"sources": [{"name": "a", "target": "x", "weight": 10}, {"name":"b","target":"y","weight":20}]}`,
	},
	{
		name:    "explicit keys, tab separator, quoted weight over two lines",
		in:      "sources:\n  - ? name\n    : a\n    ? target\n    : x\n    ? weight\n    : 1\n  - {name: b, target: y, weight:\t\"2\\\n      \"}\n",
		weights: map[string]int64{"a": 10, "b": 20},
		want:    "sources:\n  - ? name\n    : a\n    ? target\n    : x\n    ? weight\n    : 10\n  - {name: b, target: y, weight:\t\"20\"}\n",
	},
	{
		name:    "sources list behind an alias",
		in:      "all: &s\n  - {name: a, target: x, weight: 1}\n  - {name: b, target: y, weight: 2}\nsources: *s\n",
		weights: map[string]int64{"b": 3},
		want:    "all: &s\n  - {name: a, target: x, weight: 1}\n  - {name: b, target: y, weight: 3}\nsources: *s\n",
	},
	{
		name:    "no trailing newline",
		in:      "sources:\n  - name: a\n    target: x\n    weight: 1",
		weights: map[string]int64{"a": 255},
		want:    "sources:\n  - name: a\n    target: x\n    weight: 255",
	},
	{
		name:    "numeric name",
		in:      "sources:\n  - {name: 1, target: x, weight: 1}\n  - {name: 2, target: y, weight: 1}\n",
		weights: map[string]int64{"2": 0},
		want:    "sources:\n  - {name: 1, target: x, weight: 1}\n  - {name: 2, target: y, weight: 0}\n",
	},
}

func TestSetYAML(t *testing.T) {
	for _, tc := range setCases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.in
			}
			in := []byte(tc.in)
			got, err := SetYAML(in, tc.weights)
			if err != nil {
				t.Fatalf("SetYAML: %v", err)
			}
			if string(in) != tc.in {
				t.Fatal("SetYAML modified its input")
			}
			if diff := cmp.Diff(want, string(got)); diff != "" {
				t.Errorf("SetYAML output mismatch (-want +got):\n%s", diff)
			}
			assertOnlyWeightTokensChanged(t, in, got)

			after, err := ReadYAML(got)
			if err != nil {
				t.Fatalf("ReadYAML(output): %v", err)
			}
			before, err := ReadYAML(in)
			if err != nil {
				t.Fatalf("ReadYAML(input): %v", err)
			}
			if tc.read != nil {
				if diff := cmp.Diff(tc.read, before); diff != "" {
					t.Errorf("ReadYAML(input) mismatch (-want +got):\n%s", diff)
				}
			}
			for i := range before {
				if w, ok := tc.weights[before[i].Name]; ok {
					before[i].Weight = w
				}
			}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("ReadYAML(output) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// weightTokens returns the byte ranges of the weight tokens in content.
func weightTokens(t testing.TB, content []byte) [][2]int {
	t.Helper()
	ws, err := parseYAMLWeights(content)
	if err != nil {
		t.Fatalf("parseYAMLWeights: %v", err)
	}
	spans := make([][2]int, len(ws))
	for i, w := range ws {
		spans[i] = [2]int{w.start, w.end}
	}
	return spans
}

// outsideTokens splits content into the pieces before, between and after
// the given token ranges.
func outsideTokens(content []byte, spans [][2]int) []string {
	var pieces []string
	last := 0
	for _, s := range spans {
		pieces = append(pieces, string(content[last:s[0]]))
		last = s[1]
	}
	return append(pieces, string(content[last:]))
}

// assertOnlyWeightTokensChanged checks that, with the weight tokens cut out
// of both at the positions each file's own parse gives, in and out are the
// same bytes; that a weight token whose value is unchanged is unchanged; and
// that a changed one spells its new weight in the old token's quoting.
func assertOnlyWeightTokensChanged(t testing.TB, in, out []byte) {
	t.Helper()
	inSpans, outSpans := weightTokens(t, in), weightTokens(t, out)
	if len(inSpans) != len(outSpans) {
		t.Fatalf("%d weight tokens in input, %d in output", len(inSpans), len(outSpans))
	}
	if diff := cmp.Diff(outsideTokens(in, inSpans), outsideTokens(out, outSpans)); diff != "" {
		t.Errorf("bytes outside the weight tokens changed (-in +out):\n%s", diff)
	}
	before, err := ReadYAML(in)
	if err != nil {
		t.Fatalf("ReadYAML(input): %v", err)
	}
	after, err := ReadYAML(out)
	if err != nil {
		t.Fatalf("ReadYAML(output): %v", err)
	}
	for i := range outSpans {
		inTok := string(in[inSpans[i][0]:inSpans[i][1]])
		outTok := string(out[outSpans[i][0]:outSpans[i][1]])
		if before[i].Weight == after[i].Weight {
			if inTok != outTok {
				t.Errorf("source %q: weight %d unchanged but its token %s became %s", after[i].Name, after[i].Weight, inTok, outTok)
			}
			continue
		}
		q := ""
		if c := inTok[0]; c == '"' || c == '\'' {
			q = string(c)
		}
		if want := q + strconv.FormatInt(after[i].Weight, 10) + q; outTok != want {
			t.Errorf("source %q: weight token %s became %s, want %s", after[i].Name, inTok, outTok, want)
		}
	}
}

func TestReadYAML(t *testing.T) {
	got, err := ReadYAML([]byte(exampleYAML))
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{
		{Name: "legacy-elb", Target: "web-api-1234.us-east-1.elb.amazonaws.com", Weight: 100},
		{Name: "k8s", Target: "web-api.k8s.kprod.acme.example", Weight: 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadYAML mismatch (-want +got):\n%s", diff)
	}
	// A file whose weights are all 0 is readable (it is only refused as
	// the result of an edit).
	got, err = ReadYAML([]byte("sources:\n  - {name: a, target: x, weight: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Source{{"a", "x", 0}}, got); diff != "" {
		t.Errorf("ReadYAML mismatch (-want +got):\n%s", diff)
	}
}

type errCase struct {
	name    string
	in      string
	weights map[string]int64
	// readOK: the file itself is valid, so ReadYAML succeeds and only
	// the requested edit is refused.
	readOK  bool
	wantErr string // substring of the error
	wantIs  error  // if set, errors.Is(err, wantIs) must hold
}

var errCases = []errCase{
	{name: "not YAML", in: "sources: [\n", wantErr: "not YAML"},
	{name: "not YAML, bad indentation", in: "sources:\n  - name: a\n target: x\n", wantErr: "not YAML"},
	{name: "not UTF-8", in: "sources:\n  - {name: \xff, target: x, weight: 1}\n", wantErr: "not valid UTF-8"},
	{name: "empty", in: "", wantErr: "no document"},
	{name: "only a comment", in: "# nothing\n", wantErr: "no document"},
	{name: "multiple documents", in: "sources:\n  - {name: a, target: x, weight: 1}\n---\nsources: []\n", wantErr: "a second YAML document"},
	{name: "multiple documents, second empty", in: "sources:\n  - {name: a, target: x, weight: 1}\n---\n", wantErr: "a second YAML document"},
	{name: "top level is a list", in: "- {name: a, target: x, weight: 1}\n", wantErr: "no sources list: top level is not a mapping"},
	{name: "top level is a scalar", in: "hello\n", wantErr: "no sources list"},
	{name: "no sources key", in: "record: a.example\nsource:\n  - {name: a, target: x, weight: 1}\n", wantErr: `no sources list: top level has no "sources" key`},
	{name: "sources is a mapping", in: "sources:\n  a: {target: x, weight: 1}\n", wantErr: `"sources" is not a list`},
	{name: "sources is null", in: "sources:\n", wantErr: `"sources" is not a list`},
	{name: "sources is empty", in: "sources: []\n", wantErr: `"sources" is empty`},
	{name: "duplicate sources key", in: "sources:\n  - {name: a, target: x, weight: 1}\nsources:\n  - {name: b, target: y, weight: 1}\n", wantErr: `duplicate key "sources"`},
	{name: "source is a scalar", in: "sources:\n  - a\n", wantErr: "source #1 is not a mapping"},
	{name: "source without name", in: "sources:\n  - {target: x, weight: 1}\n", wantErr: "source #1 has no name"},
	{name: "source with empty name", in: "sources:\n  - {name: '', target: x, weight: 1}\n", wantErr: "source #1 has no name"},
	{name: "source with null name", in: "sources:\n  - {name: ~, target: x, weight: 1}\n", wantErr: "source #1 has no name"},
	{name: "source without target", in: "sources:\n  - {name: a, weight: 1}\n", wantErr: `source "a" has no target`},
	{name: "source without weight", in: "sources:\n  - {name: a, target: x}\n", wantErr: `source "a" has no weight`},
	{name: "duplicate source name", in: "sources:\n  - {name: a, target: x, weight: 1}\n  - {name: a, target: y, weight: 1}\n", wantErr: `line 3: duplicate source name "a" (first at line 2)`},
	{name: "duplicate weight key", in: "sources:\n  - {name: a, target: x, weight: 1, weight: 2}\n", wantErr: `source #1 has duplicate key "weight"`},
	{name: "duplicate name key", in: "sources:\n  - name: a\n    name: b\n    target: x\n    weight: 1\n", wantErr: `line 3: source #1 has duplicate key "name"`},
	{
		name:    "weight is not an integer",
		in:      strings.Replace(exampleYAML, "weight: 0 ", "weight: abc ", 1),
		weights: map[string]int64{"legacy-elb": 50},
		wantErr: `line 10: source "k8s": weight "abc" is not an integer`,
	},
	{name: "weight is a float", in: "sources:\n  - {name: a, target: x, weight: 1.5}\n", wantErr: `source "a": weight "1.5" is not an integer`},
	{name: "weight is null", in: "sources:\n  - name: a\n    target: x\n    weight:\n", wantErr: `source "a": weight "" is not an integer`},
	{name: "weight is a quoted word", in: "sources:\n  - {name: a, target: x, weight: \"ten\"}\n", wantErr: `source "a": weight "ten" is not an integer`},
	{name: "weight is a list", in: "sources:\n  - {name: a, target: x, weight: [1]}\n", wantErr: `source "a": weight is not an integer`},
	{name: "weight is hex", in: "sources:\n  - {name: a, target: x, weight: 0x10}\n", wantErr: `source "a": weight "0x10" is not an integer`},
	{name: "weight has leading zero", in: "sources:\n  - {name: a, target: x, weight: 010}\n", wantErr: `source "a": weight "010" is not a plain decimal integer`},
	{name: "weight has plus sign", in: "sources:\n  - {name: a, target: x, weight: +5}\n", wantErr: `source "a": weight "+5" is not a plain decimal integer`},
	{name: "weight in file above 255", in: "sources:\n  - {name: a, target: x, weight: 256}\n", wantErr: `source "a": weight 256 is outside 0..255`},
	{name: "weight in file negative", in: "sources:\n  - {name: a, target: x, weight: -1}\n", wantErr: `source "a": weight -1 is outside 0..255`},
	{name: "weight is an alias", in: "w: &w 5\nsources:\n  - {name: a, target: x, weight: *w}\n", wantErr: `source "a": weight is a YAML alias`},
	{name: "weight has an anchor", in: "sources:\n  - {name: a, target: x, weight: &w 5}\n  - {name: b, target: y, weight: *w}\n", wantErr: `source "a": weight has a YAML anchor`},
	{name: "weight has a tag", in: "sources:\n  - {name: a, target: x, weight: !!int 5}\n", wantErr: `source "a": weight has a YAML tag (!!int)`},
	{name: "weight has a non-specific tag", in: "sources:\n  - {name: a, target: x, weight: ! 5}\n", wantErr: `source "a": weight has a YAML tag`},
	{name: "weight is a block scalar", in: "sources:\n  - name: a\n    target: x\n    weight: |-\n      5\n", wantErr: `source "a": weight is a block scalar`},
	{name: "source is an alias", in: "x: &s {name: a, target: x, weight: 1}\nsources:\n  - *s\n", wantErr: "source #1 is a YAML alias"},
	{name: "source uses a merge key", in: "x: &s {target: x, weight: 1}\nsources:\n  - {<<: *s, name: a}\n", wantErr: "source #1 uses a YAML merge key"},
	{
		name:    "named source not in file",
		in:      exampleYAML,
		weights: map[string]int64{"k8s": 10, "eks": 90},
		readOK:  true,
		wantErr: `source "eks" not in file (file has "legacy-elb", "k8s")`,
	},
	{
		name:    "new weight above 255",
		in:      exampleYAML,
		weights: map[string]int64{"k8s": 256},
		readOK:  true,
		wantErr: `source "k8s": new weight 256 is outside 0..255`,
	},
	{
		name:    "new weight negative",
		in:      exampleYAML,
		weights: map[string]int64{"legacy-elb": -1, "k8s": 100},
		readOK:  true,
		wantErr: `source "legacy-elb": new weight -1 is outside 0..255`,
	},
	{
		name:    "all zero after the edit",
		in:      exampleYAML,
		weights: map[string]int64{"legacy-elb": 0},
		readOK:  true,
		wantIs:  ErrAllZero,
	},
	{
		name:    "all zero counting sources not edited",
		in:      "sources:\n  - {name: a, target: x, weight: 0}\n  - {name: b, target: y, weight: 0}\n  - {name: c, target: z, weight: 100}\n",
		weights: map[string]int64{"c": 0},
		readOK:  true,
		wantIs:  ErrAllZero,
	},
	{
		name:    "all zero already and nothing set",
		in:      "sources:\n  - {name: a, target: x, weight: 0}\n  - {name: b, target: y, weight: 0}\n",
		weights: map[string]int64{"a": 0},
		readOK:  true,
		wantIs:  ErrAllZero,
	},
}

func TestSetYAMLErrors(t *testing.T) {
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			weights := tc.weights
			if weights == nil {
				weights = map[string]int64{"a": 1}
			}
			got, err := SetYAML([]byte(tc.in), weights)
			if err == nil {
				t.Fatalf("SetYAML succeeded with %q, want an error", got)
			}
			if got != nil {
				t.Errorf("SetYAML returned %q with its error, want nil", got)
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("SetYAML error = %q, want it to contain %q", err, tc.wantErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("SetYAML error = %q, want errors.Is %v", err, tc.wantIs)
			}
			if errors.Is(err, errInternal) {
				t.Errorf("SetYAML error = %q: an internal error", err)
			}

			sources, rerr := ReadYAML([]byte(tc.in))
			switch {
			case tc.readOK && rerr != nil:
				t.Errorf("ReadYAML: %v", rerr)
			case !tc.readOK && rerr == nil:
				t.Errorf("ReadYAML succeeded with %v, want an error", sources)
			case !tc.readOK && rerr.Error() != err.Error():
				t.Errorf("ReadYAML error = %q, want the same as SetYAML's %q", rerr, err)
			case !tc.readOK && sources != nil:
				t.Errorf("ReadYAML returned %v with its error, want nil", sources)
			}
		})
	}
}

func TestSetYAMLDoesNotAliasInput(t *testing.T) {
	in := []byte(exampleYAML)
	out, err := SetYAML(in, map[string]int64{"k8s": 0})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in, out) {
		t.Fatalf("no-op edit changed bytes")
	}
	out[0] = 'X'
	if in[0] == 'X' {
		t.Fatal("SetYAML returned its input slice; want a copy")
	}
}
