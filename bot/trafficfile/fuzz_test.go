package trafficfile

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"
)

// The fuzz targets check each editor's contract on arbitrary input: it
// either fails, returning nil and an error that is not a failed
// self-check, or returns content that differs from the input only in the
// intended value's bytes (located here from the input) and that reads back
// with the new value. They also check that setting the value it has
// returns identical bytes and that repeating an edit changes nothing.
//
// An empty target argument (upstream, key, path, backend, label) is
// filled in from what the file has, picked by index, and when pick's top
// bit is set the new value is made valid (fuzzHost, fuzzValue), so that
// most runs edit something real. The seed corpora are in testdata/fuzz/<Name>/; the
// seed-* files there are written by TestFuzzSeeds (run it with
// -update-seeds after changing fuzzSeeds); other files are inputs the
// fuzzer found and are kept as they are.
//
// Run one for a while with, e.g.:
//
//	go test -run='^$' -fuzz='^FuzzSetCNAME$' -fuzztime=30s -fuzzminimizetime=2s ./bot/trafficfile/
//
// (-fuzzminimizetime keeps the engine from spending most of the run
// minimizing each new input of the larger Terraform seeds.)

// fuzzHost turns s into a valid host name (with a port if s has one and
// port is set), so that the fuzzer spends runs on edits that go through as
// well as on invalid input. The targets use it when pick's top bit is set.
func fuzzHost(s string, port bool) string {
	name, p, hasPort := strings.Cut(s, ":")
	var labels []string
	for _, l := range strings.Split(strings.ToLower(name), ".") {
		l = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			return -1
		}, l)
		l = strings.Trim(l, "-")
		if len(l) > 63 {
			l = l[:63]
		}
		if l != "" && len(strings.Join(append(labels, l), ".")) <= maxHostLen {
			labels = append(labels, l)
		}
	}
	if len(labels) == 0 {
		labels = []string{"x"}
	}
	h := strings.Join(labels, ".")
	if port && hasPort {
		n := 0
		for _, c := range p {
			if c >= '0' && c <= '9' {
				n = (n*10 + int(c-'0')) % 65536
			}
		}
		h += ":" + strconv.Itoa(max(n, 1))
	}
	return h
}

// fuzzValue turns s into a valid value for SetProperty and SetYAMLValue.
func fuzzValue(s string) string {
	v := strings.Map(func(r rune) rune {
		if r < 0x80 && isValueByte(byte(r)) {
			return r
		}
		return -1
	}, s)
	if len(v) > maxValueLen {
		v = v[:maxValueLen]
	}
	if v == "" {
		v = "x"
	}
	return v
}

// checkEditError checks the error side of the contract.
func checkEditError(t *testing.T, out []byte, err error) {
	t.Helper()
	if out != nil {
		t.Fatalf("returned %q with error %v", out, err)
	}
	if errors.Is(err, errInternal) {
		t.Fatalf("self-check failed: %v", err)
	}
}

// checkSpliced checks that out is in with in[start:end] replaced by text.
func checkSpliced(t *testing.T, in, out []byte, start, end int, text string) {
	t.Helper()
	want := string(in[:start]) + text + string(in[end:])
	if string(out) != want {
		t.Fatalf("output is not the input with bytes %d..%d (%q) replaced by %q:\ninput:  %q\noutput: %q", start, end, in[start:end], text, in, out)
	}
}

func FuzzSetNginxUpstream(f *testing.F) {
	f.Fuzz(func(t *testing.T, content []byte, upstream, oldHost, newHost string, pick uint8) {
		if pick&0x80 != 0 {
			newHost = fuzzHost(newHost, true)
		}
		if parsed, err := parseNginx(content); err == nil {
			names := nginxUpstreamNames(parsed)
			if upstream == "" && len(names) > 0 {
				upstream = names[int(pick)%len(names)]
			}
			if up, err := parsed.upstream(upstream); err == nil && oldHost == "" {
				if ss := parsed.servers(up); len(ss) > 0 {
					oldHost = ss[int(pick/8)%len(ss)].addr
				}
			}
		}
		in := bytes.Clone(content)
		out, err := SetNginxUpstream(content, upstream, oldHost, newHost)
		if !bytes.Equal(content, in) {
			t.Fatal("SetNginxUpstream modified its input")
		}
		if err != nil {
			checkEditError(t, out, err)
			return
		}

		// Work out which address tokens must change, and to what.
		before, err := parseNginx(content)
		if err != nil {
			t.Fatalf("input does not parse, yet the edit succeeded: %v", err)
		}
		up, err := before.upstream(upstream)
		if err != nil {
			t.Fatalf("upstream not found, yet the edit succeeded: %v", err)
		}
		oh, op := splitHostPort(oldHost)
		nh, np := splitHostPort(newHost)
		wantRaw := map[int]string{} // token start -> new raw bytes
		for _, s := range before.servers(up) {
			if !s.ok || !hostsEqual(s.host, oh) || op != "" && s.port != op {
				continue
			}
			addr := s.addr
			switch {
			case hostsEqual(s.host, nh) && (np == "" || s.port == np):
			case np == "":
				addr = nh + s.addr[len(s.host):]
			default:
				addr = newHost
			}
			if s.word.quote != 0 {
				addr = string(s.word.quote) + addr + string(s.word.quote)
			}
			wantRaw[s.word.start] = addr
		}
		if len(wantRaw) == 0 {
			t.Fatal("edit succeeded with no matching server")
		}

		// Token by token: same kinds, same bytes between tokens, same
		// bytes in every token but the matched addresses.
		after, err := parseNginx(out)
		if err != nil {
			t.Fatalf("output does not parse: %v\noutput: %q", err, out)
		}
		if len(after.tokens) != len(before.tokens) {
			t.Fatalf("output has %d tokens, input %d", len(after.tokens), len(before.tokens))
		}
		prevB, prevA := 0, 0
		for i, b := range before.tokens {
			a := after.tokens[i]
			if a.kind != b.kind {
				t.Fatalf("token %d changed kind", i)
			}
			if !bytes.Equal(content[prevB:b.start], out[prevA:a.start]) {
				t.Fatalf("bytes before token %d changed: %q -> %q", i, content[prevB:b.start], out[prevA:a.start])
			}
			want, ok := wantRaw[b.start]
			if !ok {
				want = before.raw(b)
			}
			if got := after.raw(a); got != want {
				t.Fatalf("token %d is %q, want %q", i, got, want)
			}
			prevB, prevA = b.end, a.end
		}
		if !bytes.Equal(content[prevB:], out[prevA:]) {
			t.Fatalf("bytes after the last token changed")
		}

		// Setting the hosts the servers have changes nothing.
		if same, err := SetNginxUpstream(content, upstream, oldHost, oldHost); err != nil || !bytes.Equal(same, content) {
			t.Fatalf("no-op edit: err %v, changed %v", err, !bytes.Equal(same, content))
		}
		if again, err := SetNginxUpstream(out, upstream, newHost, newHost); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("repeated edit: err %v, changed %v", err, !bytes.Equal(again, out))
		}
	})
}

func nginxUpstreamNames(f *nginxFile) []string {
	var names []string
	var walk func([]*nginxDirective)
	walk = func(ds []*nginxDirective) {
		for _, d := range ds {
			if d.hasBlock && len(d.words) == 2 && d.words[0].value == "upstream" {
				names = append(names, d.words[1].value)
			}
			walk(d.block)
		}
	}
	walk(f.top)
	return names
}

func FuzzSetProperty(f *testing.F) {
	f.Fuzz(func(t *testing.T, content []byte, key, value string, pick uint8) {
		if pick&0x80 != 0 {
			value = fuzzValue(value)
		}
		props, rerr := readProperties(content, newLineIndex(content))
		if key == "" && rerr == nil && len(props) > 0 {
			key = props[int(pick)%len(props)].key
		}
		in := bytes.Clone(content)
		out, err := SetProperty(content, key, value)
		if !bytes.Equal(content, in) {
			t.Fatal("SetProperty modified its input")
		}
		if err != nil {
			checkEditError(t, out, err)
			return
		}
		if rerr != nil {
			t.Fatalf("input does not read, yet the edit succeeded: %v", rerr)
		}
		i := -1
		for j, p := range props {
			if p.key == key {
				if i >= 0 {
					t.Fatalf("key %q is in the input twice, yet the edit succeeded", key)
				}
				i = j
			}
		}
		if i < 0 {
			t.Fatalf("key %q is not in the input, yet the edit succeeded", key)
		}
		p := props[i]
		if p.value == value {
			if !bytes.Equal(out, content) {
				t.Fatalf("setting the current value changed bytes: %q -> %q", content, out)
			}
		} else {
			// Only the value's bytes changed, to a single-line value.
			if !bytes.HasPrefix(out, content[:p.valueStart]) || !bytes.HasSuffix(out[p.valueStart:], content[p.valueEnd:]) {
				t.Fatalf("bytes outside the value of %q (line %d) changed:\ninput:  %q\noutput: %q", key, p.line, content, out)
			}
			raw := out[p.valueStart : len(out)-(len(content)-p.valueEnd)]
			if bytes.ContainsAny(raw, "\r\n") {
				t.Fatalf("new value bytes %q have a line break", raw)
			}
		}
		// The output reads back with the new value and everything else
		// as it was.
		after, err := readProperties(out, newLineIndex(out))
		if err != nil {
			t.Fatalf("output does not read: %v", err)
		}
		if len(after) != len(props) {
			t.Fatalf("output has %d keys, input %d", len(after), len(props))
		}
		for j, a := range after {
			want := props[j].value
			if j == i {
				want = value
			}
			if a.key != props[j].key || a.value != want {
				t.Fatalf("entry %d reads %q=%q, want %q=%q", j, a.key, a.value, props[j].key, want)
			}
		}
		if again, err := SetProperty(out, key, value); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("repeated edit: err %v, changed %v", err, !bytes.Equal(again, out))
		}
	})
}

func FuzzSetYAMLValue(f *testing.F) {
	f.Fuzz(func(t *testing.T, content []byte, path, value string, pick uint8) {
		if pick&0x80 != 0 {
			value = fuzzValue(value)
		}
		doc, derr := decodeYAMLDoc(content)
		if path == "" && derr == nil {
			if paths := yamlScalarPaths(doc.Content[0], "", 0); len(paths) > 0 {
				path = paths[int(pick)%len(paths)]
			}
		}
		in := bytes.Clone(content)
		out, err := SetYAMLValue(content, path, value)
		if !bytes.Equal(content, in) {
			t.Fatal("SetYAMLValue modified its input")
		}
		if err != nil {
			checkEditError(t, out, err)
			return
		}
		if derr != nil {
			t.Fatalf("input does not parse, yet the edit succeeded: %v", derr)
		}
		segs, _ := splitYAMLPath(path)
		target, err := findYAMLScalar(doc, segs, path)
		if err != nil {
			t.Fatalf("path not found in the input, yet the edit succeeded: %v", err)
		}
		n := target.node
		if n.Value == value {
			if !bytes.Equal(out, content) {
				t.Fatalf("setting the current value changed bytes: %q -> %q", content, out)
			}
			return
		}
		tok, err := newYAMLLocator(content).locate(n)
		if err != nil {
			t.Fatalf("cannot locate the scalar in the input, yet the edit succeeded: %v", err)
		}
		text := value
		if tok.quote != 0 {
			text = string(tok.quote) + value + string(tok.quote)
		}
		checkSpliced(t, content, out, tok.start, tok.end, text)

		// The output reads back, with yaml.v3 on its own too.
		var anyOut any
		if err := yaml.Unmarshal(out, &anyOut); err != nil {
			t.Fatalf("output does not unmarshal: %v\noutput: %q", err, out)
		}
		docOut, err := decodeYAMLDoc(out)
		if err != nil {
			t.Fatalf("output does not parse: %v", err)
		}
		got, err := findYAMLScalar(docOut, segs, path)
		if err != nil || got.node.Value != value || got.node.Tag != n.Tag || got.node.Style != n.Style {
			t.Fatalf("output does not read back: %v %+v", err, got.node)
		}
		if again, err := SetYAMLValue(out, path, value); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("repeated edit: err %v, changed %v", err, !bytes.Equal(again, out))
		}
	})
}

// yamlScalarPaths lists dotted paths to scalars under n.
func yamlScalarPaths(n *yaml.Node, prefix string, depth int) []string {
	if depth > 8 {
		return nil
	}
	join := func(seg string) string {
		if prefix == "" {
			return seg
		}
		return prefix + "." + seg
	}
	var out []string
	switch n.Kind {
	case yaml.ScalarNode:
		if prefix != "" {
			out = append(out, prefix)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value != "" {
				out = append(out, yamlScalarPaths(n.Content[i+1], join(k.Value), depth+1)...)
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			out = append(out, yamlScalarPaths(c, join(strconv.Itoa(i)), depth+1)...)
		}
	}
	return out
}

func FuzzSetFastlyBackendAddress(f *testing.F) {
	f.Fuzz(func(t *testing.T, content []byte, backend, address string, pick uint8) {
		if pick&0x80 != 0 {
			address = fuzzHost(address, false)
		}
		body, perr := parseHCL(content)
		if backend == "" && perr == nil {
			if names := fastlyBackendNames(body); len(names) > 0 {
				backend = names[int(pick)%len(names)]
			}
		}
		in := bytes.Clone(content)
		out, err := SetFastlyBackendAddress(content, backend, address)
		if !bytes.Equal(content, in) {
			t.Fatal("SetFastlyBackendAddress modified its input")
		}
		if err != nil {
			checkEditError(t, out, err)
			return
		}
		if perr != nil {
			t.Fatalf("input does not parse, yet the edit succeeded: %v", perr)
		}
		b, err := findFastlyBackend(body, backend)
		if err != nil {
			t.Fatalf("backend not found in the input, yet the edit succeeded: %v", err)
		}
		attr := b.block.Body.Attributes["address"]
		if v, ok := hclLiteral(attr.Expr); ok && v.Type() == cty.String && v.AsString() == address {
			if !bytes.Equal(out, content) {
				t.Fatalf("setting the current address changed bytes: %q -> %q", content, out)
			}
			return
		}
		r := attr.Expr.Range()
		checkSpliced(t, content, out, r.Start.Byte, r.End.Byte, `"`+address+`"`)

		bodyOut, err := parseHCL(out)
		if err != nil {
			t.Fatalf("output does not parse: %v", err)
		}
		bOut, err := findFastlyBackend(bodyOut, backend)
		if err != nil {
			t.Fatalf("backend not in the output: %v", err)
		}
		v, diags := bOut.block.Body.Attributes["address"].Expr.Value(nil)
		if diags.HasErrors() || v.Type() != cty.String || v.AsString() != address {
			t.Fatalf("address reads back as %#v (%v), want %q", v, diags, address)
		}
		if again, err := SetFastlyBackendAddress(out, backend, address); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("repeated edit: err %v, changed %v", err, !bytes.Equal(again, out))
		}
	})
}

func fastlyBackendNames(body *hclsyntax.Body) []string {
	var names []string
	for _, res := range body.Blocks {
		if res.Type != "resource" || len(res.Labels) != 2 || !isFastlyService(res.Labels[0]) {
			continue
		}
		for _, b := range res.Body.Blocks {
			if v, ok := literalAttr(b.Body, "name"); ok && b.Type == "backend" && v.Type() == cty.String {
				names = append(names, v.AsString())
			}
		}
	}
	return names
}

func FuzzSetCNAME(f *testing.F) {
	f.Fuzz(func(t *testing.T, content []byte, label, target string, ttl int, pick uint8) {
		if pick&0x80 != 0 {
			target = fuzzHost(target, false)
			ttl = ttl & 0x7fffffff
		}
		body, perr := parseHCL(content)
		if label == "" && perr == nil {
			var labels []string
			for _, b := range body.Blocks {
				if b.Type == "resource" && len(b.Labels) == 2 && b.Labels[0] == route53Record {
					labels = append(labels, b.Labels[1])
				}
			}
			if len(labels) > 0 {
				label = labels[int(pick)%len(labels)]
			}
		}
		in := bytes.Clone(content)
		out, err := SetCNAME(content, label, target, ttl)
		if !bytes.Equal(content, in) {
			t.Fatal("SetCNAME modified its input")
		}
		if err != nil {
			checkEditError(t, out, err)
			return
		}
		if perr != nil {
			t.Fatalf("input does not parse, yet the edit succeeded: %v", perr)
		}
		rec, err := findRecord(body, label)
		if err != nil {
			t.Fatalf("record not found in the input, yet the edit succeeded: %v", err)
		}

		// Only bytes inside the record's body changed.
		pre := 0
		for pre < len(content) && pre < len(out) && content[pre] == out[pre] {
			pre++
		}
		suf := 0
		for suf < len(content)-pre && suf < len(out)-pre && content[len(content)-1-suf] == out[len(out)-1-suf] {
			suf++
		}
		if pre < len(content) || pre < len(out) {
			if pre < rec.OpenBraceRange.End.Byte || len(content)-suf > rec.CloseBraceRange.Start.Byte {
				t.Fatalf("bytes %d..%d changed, outside the record's body %d..%d", pre, len(content)-suf, rec.OpenBraceRange.End.Byte, rec.CloseBraceRange.Start.Byte)
			}
		}

		// The record reads back as a CNAME, without an alias, with every
		// other attribute and block as it was.
		bodyOut, err := parseHCL(out)
		if err != nil {
			t.Fatalf("output does not parse: %v\noutput: %q", err, out)
		}
		recOut, err := findRecord(bodyOut, label)
		if err != nil {
			t.Fatalf("record not in the output: %v", err)
		}
		attrs := recOut.Body.Attributes
		for name, want := range map[string]cty.Value{
			"type":    cty.StringVal("CNAME"),
			"ttl":     cty.NumberIntVal(int64(ttl)),
			"records": cty.TupleVal([]cty.Value{cty.StringVal(target)}),
		} {
			a := attrs[name]
			if a == nil {
				t.Fatalf("output record has no %s", name)
			}
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("output %s does not evaluate: %v", name, diags)
			}
			if name == "ttl" && v.Type() == cty.String {
				continue // ttl = "60" was already there and is the same
			}
			if v.Type().IsListType() {
				v = cty.TupleVal(v.AsValueSlice())
			}
			if !v.RawEquals(want) && !(v.Type() == cty.Number && v.Equals(want).True()) {
				t.Fatalf("output %s = %#v, want %#v", name, v, want)
			}
		}
		for name, a := range rec.Body.Attributes {
			if name == "type" || name == "ttl" || name == "records" {
				continue
			}
			b := attrs[name]
			if b == nil || !bytes.Equal(rangeBytes(content, a.SrcRange), rangeBytes(out, b.SrcRange)) {
				t.Fatalf("attribute %s changed", name)
			}
		}
		var blocks []string
		for _, b := range rec.Body.Blocks {
			if b.Type != "alias" {
				blocks = append(blocks, string(blockBytes(content, b)))
			}
		}
		var blocksOut []string
		for _, b := range recOut.Body.Blocks {
			if b.Type == "alias" {
				t.Fatal("output record has an alias block")
			}
			blocksOut = append(blocksOut, string(blockBytes(out, b)))
		}
		if strings.Join(blocks, "\x00") != strings.Join(blocksOut, "\x00") {
			t.Fatalf("blocks changed: %q -> %q", blocks, blocksOut)
		}
		if again, err := SetCNAME(out, label, target, ttl); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("repeated edit: err %v, changed %v", err, !bytes.Equal(again, out))
		}
	})
}
