package weightfile

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// hclResourceType is the Terraform resource type of a weighted source.
const hclResourceType = "aws_route53_record"

// ReadHCL returns the sources in a Terraform weights file, in file order.
//
// A source is a top-level block
//
//	resource "aws_route53_record" "<label>" {
//	  set_identifier = "<name>"
//	  weighted_routing_policy {
//	    weight = <0..255>
//	  }
//	  ...
//	}
//
// Its Name is the set_identifier (a string literal, unique in the file) and
// its Target the first element of records when that is a string literal,
// else the alias block's name (its value if a string literal, else its text
// as written), else "". The weight must be a decimal integer literal.
// Blocks without a weighted_routing_policy (other records, other resources,
// variables, locals, data blocks) are ignored; the file must hold at least
// one source.
func ReadHCL(content []byte) ([]Source, error) {
	f, err := parseHCL(content)
	if err != nil {
		return nil, err
	}
	return hclSources(f.sources), nil
}

// SetHCL returns content with the weight of each named source set to its
// value in weights; every other byte is unchanged.
//
// Only the weight number tokens are rewritten, and a weight set to the value
// it already has is left exactly as written. Every name in weights must be
// the set_identifier of a source in the file and every new weight must be in
// 0..255. The edit is refused with ErrAllZero if any weighted record set
// (the sources with the same zone_id, name and type, as written) would have
// every weight 0 afterwards. On any error SetHCL returns nil and the error.
func SetHCL(content []byte, weights map[string]int64) ([]byte, error) {
	f, err := parseHCL(content)
	if err != nil {
		return nil, err
	}
	next, err := planSetWeights(hclSources(f.sources), hclSets(f.sources), weights)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(content)+4*len(weights))
	last := 0
	for i, s := range f.sources {
		if next[i] == s.source.Weight {
			continue
		}
		out = append(out, content[last:s.start]...)
		out = strconv.AppendInt(out, next[i], 10)
		last = s.end
	}
	out = append(out, content[last:]...)
	if err := checkHCLSet(content, f, out, next); err != nil {
		return nil, err
	}
	return out, nil
}

// RemoveHCL returns content without the resource block of the named source
// (by set_identifier). Removed with it are the comment lines directly above
// it (no blank line between), the rest of the line of its closing brace
// and one blank line after it, or, when the block is the last thing in the
// file, one blank line before it. Every other byte is unchanged.
//
// The edit is refused if the source is not in the file, if it is the only
// source of its record set, or with ErrAllZero if a record set would be
// left with every weight 0. On any error RemoveHCL returns nil.
func RemoveHCL(content []byte, name string) ([]byte, error) {
	f, err := parseHCL(content)
	if err != nil {
		return nil, err
	}
	at, err := planRemove(hclSources(f.sources), hclSets(f.sources), name)
	if err != nil {
		return nil, err
	}
	toks, err := f.tokens()
	if err != nil {
		return nil, err
	}
	start, end, err := hclRemovalRange(content, toks, f.sources[at])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(content)-(end-start))
	out = append(append(out, content[:start]...), content[end:]...)
	if err := checkHCLRemove(toks, f, at, start, end, out); err != nil {
		return nil, err
	}
	return out, nil
}

// hclFile is a parsed Terraform weights file.
type hclFile struct {
	content []byte
	sources []hclSource
}

// tokens returns the file's tokens, comments and newlines included.
func (f *hclFile) tokens() (hclsyntax.Tokens, error) {
	toks, diags := hclsyntax.LexConfig(f.content, "file", hcl.InitialPos)
	if err := hclDiagError(diags); err != nil {
		return nil, fmt.Errorf("%w: the file parses but does not scan: %v", errInternal, err)
	}
	return toks, nil
}

// hclSource is one source read from a Terraform file, with where its
// weight token and its resource block sit in the file's bytes.
type hclSource struct {
	source     Source
	set        string // its record set: zone_id, name and type as written
	addr       string // aws_route53_record.<label>
	line       int    // line of the weight token
	start, end int    // the weight token is content[start:end]
	block      *hclsyntax.Block
}

func hclSources(hs []hclSource) []Source {
	out := make([]Source, len(hs))
	for i, h := range hs {
		out[i] = h.source
	}
	return out
}

func hclSets(hs []hclSource) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.set
	}
	return out
}

// parseHCL parses content as HCL and reads its weighted sources.
func parseHCL(content []byte) (f *hclFile, err error) {
	defer func() {
		// A panic in the parser is a parse failure of this input, not a
		// reason to take the bot down.
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("not valid HCL: parser failed: %v", r)
		}
	}()
	file, diags := hclsyntax.ParseConfig(content, "file", hcl.InitialPos)
	if err := hclDiagError(diags); err != nil {
		return nil, err
	}
	body, ok := file.Body.(*hclsyntax.Body)
	if !ok {
		return nil, errors.New("not valid HCL: no native syntax body")
	}
	f = &hclFile{content: content}
	seen := map[string]int{}
	for _, b := range body.Blocks {
		if b.Type != "resource" || len(b.Labels) == 0 || b.Labels[0] != hclResourceType {
			continue
		}
		s, ok, err := parseHCLSource(content, b)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if prev, ok := seen[s.source.Name]; ok {
			return nil, fmt.Errorf("line %d: %s: duplicate set_identifier %q (first at line %d)", b.TypeRange.Start.Line, s.addr, s.source.Name, prev)
		}
		seen[s.source.Name] = b.TypeRange.Start.Line
		if n := len(f.sources); n > 0 && s.start < f.sources[n-1].end {
			return nil, fmt.Errorf("line %d: source %q: %w: weight token overlaps the previous one", s.line, s.source.Name, errInternal)
		}
		f.sources = append(f.sources, s)
	}
	if len(f.sources) == 0 {
		return nil, fmt.Errorf("no weighted records: no resource %q has a weighted_routing_policy block", hclResourceType)
	}
	return f, nil
}

// hclDiagError turns the error diagnostics of a parse into one error that
// says where the first one is.
func hclDiagError(diags hcl.Diagnostics) error {
	errs := diags.Errs()
	if len(errs) == 0 {
		return nil
	}
	var d *hcl.Diagnostic
	if !errors.As(errs[0], &d) {
		return fmt.Errorf("not valid HCL: %v", errs[0])
	}
	msg := d.Summary
	if d.Detail != "" {
		msg += ": " + d.Detail
	}
	if len(errs) > 1 {
		msg += fmt.Sprintf(" (and %d more errors)", len(errs)-1)
	}
	if d.Subject != nil {
		return fmt.Errorf("line %d: not valid HCL: %s", d.Subject.Start.Line, msg)
	}
	return fmt.Errorf("not valid HCL: %s", msg)
}

// parseHCLSource reads an aws_route53_record resource block. It reports
// false if the block is not a weighted source.
func parseHCLSource(content []byte, b *hclsyntax.Block) (hclSource, bool, error) {
	var s hclSource
	line := b.TypeRange.Start.Line
	var policies []*hclsyntax.Block
	for _, nb := range b.Body.Blocks {
		switch {
		case nb.Type == "weighted_routing_policy":
			policies = append(policies, nb)
		case nb.Type == "dynamic" && len(nb.Labels) == 1 && nb.Labels[0] == "weighted_routing_policy":
			return s, false, fmt.Errorf("line %d: %s: weighted_routing_policy is a dynamic block; not supported", nb.TypeRange.Start.Line, blockAddr(b))
		}
	}
	if len(policies) == 0 {
		return s, false, nil
	}
	if len(b.Labels) != 2 {
		return s, false, fmt.Errorf("line %d: resource %q has %d labels, want 2", line, hclResourceType, len(b.Labels))
	}
	s.addr = blockAddr(b)
	s.block = b
	attrs := b.Body.Attributes
	for _, meta := range []string{"count", "for_each"} {
		if a, ok := attrs[meta]; ok {
			return s, false, fmt.Errorf("line %d: %s uses %s; a weighted source must be a single record", a.NameRange.Start.Line, s.addr, meta)
		}
	}
	if len(policies) > 1 {
		return s, false, fmt.Errorf("line %d: %s has more than one weighted_routing_policy block", policies[1].TypeRange.Start.Line, s.addr)
	}
	id, ok := attrs["set_identifier"]
	if !ok {
		return s, false, fmt.Errorf("line %d: %s has a weighted_routing_policy block but no set_identifier", line, s.addr)
	}
	name, ok := literalString(id.Expr)
	switch {
	case !ok:
		return s, false, fmt.Errorf("line %d: %s: set_identifier is not a string literal (%s)", id.NameRange.Start.Line, s.addr, shortText(content, id.Expr))
	case name == "":
		return s, false, fmt.Errorf("line %d: %s: set_identifier is empty", id.NameRange.Start.Line, s.addr)
	}
	s.source.Name = name
	label := fmt.Sprintf("source %q (%s)", name, s.addr)

	p := policies[0]
	if len(p.Labels) != 0 {
		return s, false, fmt.Errorf("line %d: %s: weighted_routing_policy block has labels", p.TypeRange.Start.Line, label)
	}
	wa, ok := p.Body.Attributes["weight"]
	if !ok {
		return s, false, fmt.Errorf("line %d: %s: weighted_routing_policy has no weight", p.TypeRange.Start.Line, label)
	}
	w, err := hclWeight(content, wa.Expr)
	if err != nil {
		return s, false, fmt.Errorf("line %d: %s: %v", wa.Expr.Range().Start.Line, label, err)
	}
	r := wa.Expr.Range()
	s.source.Weight, s.line, s.start, s.end = w, r.Start.Line, r.Start.Byte, r.End.Byte

	s.source.Target = hclTarget(content, b.Body)
	var set []string
	for _, key := range []string{"zone_id", "name", "type"} {
		if a, ok := attrs[key]; ok {
			set = append(set, key+" = "+exprText(content, a.Expr))
		}
	}
	s.set = "{" + strings.Join(set, ", ") + "}"
	return s, true, nil
}

func blockAddr(b *hclsyntax.Block) string {
	return strings.Join(b.Labels, ".")
}

// hclWeight reads a weight expression, which must be a decimal integer
// literal in 0..255.
func hclWeight(content []byte, expr hclsyntax.Expression) (int64, error) {
	text := exprText(content, expr)
	switch e := expr.(type) {
	case *hclsyntax.LiteralValueExpr:
		if e.Val.Type() != cty.Number || e.Val.IsNull() {
			return 0, fmt.Errorf("weight is not an integer literal (%s)", shortText(content, expr))
		}
		if !isPlainDecimal(text) {
			if e.Val.AsBigFloat().IsInt() {
				return 0, fmt.Errorf("weight %s is not a plain decimal integer", text)
			}
			return 0, fmt.Errorf("weight %s is not an integer", text)
		}
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil || v < minWeight || v > maxWeight {
			return 0, fmt.Errorf("weight %s is outside %d..%d", text, minWeight, maxWeight)
		}
		return v, nil
	case *hclsyntax.UnaryOpExpr:
		// -5 parses as the negation of the literal 5.
		if lit, ok := e.Val.(*hclsyntax.LiteralValueExpr); ok && e.Op == hclsyntax.OpNegate && lit.Val.Type() == cty.Number && !lit.Val.IsNull() {
			if lit.Val.AsBigFloat().Sign() != 0 {
				return 0, fmt.Errorf("weight %s is outside %d..%d", text, minWeight, maxWeight)
			}
			return 0, fmt.Errorf("weight %s is not a plain decimal integer", text)
		}
	}
	return 0, fmt.Errorf("weight is not an integer literal (%s)", shortText(content, expr))
}

// isPlainDecimal reports whether s is digits with no leading zero.
func isPlainDecimal(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// hclTarget returns what a weighted record points at: the first of its
// records when that is a string literal, else its alias name, else "".
func hclTarget(content []byte, body *hclsyntax.Body) string {
	if a, ok := body.Attributes["records"]; ok {
		if t, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok && len(t.Exprs) > 0 {
			if s, ok := literalString(t.Exprs[0]); ok {
				return s
			}
		}
	}
	for _, nb := range body.Blocks {
		if nb.Type != "alias" {
			continue
		}
		if a, ok := nb.Body.Attributes["name"]; ok {
			if s, ok := literalString(a.Expr); ok {
				return s
			}
			return exprText(content, a.Expr)
		}
		break
	}
	return ""
}

// literalString returns the value of a quoted string (or heredoc) with no
// interpolation.
func literalString(expr hclsyntax.Expression) (string, bool) {
	t, ok := expr.(*hclsyntax.TemplateExpr)
	if !ok {
		return "", false
	}
	if len(t.Parts) == 0 {
		return "", true
	}
	if !t.IsStringLiteral() {
		return "", false
	}
	v := t.Parts[0].(*hclsyntax.LiteralValueExpr).Val
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

// exprText returns an expression as written.
func exprText(content []byte, expr hclsyntax.Expression) string {
	r := expr.Range()
	if r.Start.Byte < 0 || r.End.Byte > len(content) || r.Start.Byte > r.End.Byte {
		return ""
	}
	return string(content[r.Start.Byte:r.End.Byte])
}

// shortText returns an expression as written, shortened for a message.
func shortText(content []byte, expr hclsyntax.Expression) string {
	s := exprText(content, expr)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i] + " ..."
	}
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// hclRemovalRange returns the byte range [start, end) of whole lines that
// removing source s takes out of content; see RemoveHCL.
func hclRemovalRange(content []byte, toks hclsyntax.Tokens, s hclSource) (int, int, error) {
	b := s.block
	fail := func(line int, why string) (int, int, error) {
		return 0, 0, fmt.Errorf("line %d: cannot remove source %q (%s) exactly: %s; remove it by hand", line, s.source.Name, s.addr, why)
	}
	first := tokenAt(toks, b.TypeRange.Start.Byte)
	last := tokenAt(toks, b.CloseBraceRange.Start.Byte)
	if first < 0 || last < 0 || toks[last].Type != hclsyntax.TokenCBrace {
		return 0, 0, fmt.Errorf("line %d: source %q: %w: cannot find the tokens of its block", b.TypeRange.Start.Line, s.source.Name, errInternal)
	}
	start := hclLineStart(content, b.TypeRange.Start.Byte)
	if !blank(content[start:b.TypeRange.Start.Byte]) {
		return fail(b.TypeRange.Start.Line, "its block does not start on a line of its own")
	}

	// Comment lines directly above the block go with it.
	for j := first - 1; j >= 0; {
		t := toks[j]
		if t.Type == hclsyntax.TokenComment && bytes.HasSuffix(t.Bytes, []byte("\n")) {
			// A # or // comment, which ends with its line.
			ls := hclLineStart(content, t.Range.Start.Byte)
			if !blank(content[ls:t.Range.Start.Byte]) {
				break
			}
			start, first, j = ls, j, j-1
			continue
		}
		if t.Type == hclsyntax.TokenNewline && j > 0 && toks[j-1].Type == hclsyntax.TokenComment && !bytes.HasSuffix(toks[j-1].Bytes, []byte("\n")) {
			// A /* */ comment alone on its line(s).
			c := toks[j-1]
			ls := hclLineStart(content, c.Range.Start.Byte)
			if !blank(content[ls:c.Range.Start.Byte]) || !blank(content[c.Range.End.Byte:t.Range.Start.Byte]) {
				break
			}
			start, first, j = ls, j-1, j-2
			continue
		}
		break
	}

	// The rest of the closing brace's line: blanks and comments, then the
	// line break (or the end of the file).
	end := b.CloseBraceRange.End.Byte
	k := last + 1
	for {
		t := toks[k]
		if !blank(content[end:t.Range.Start.Byte]) {
			return fail(t.Range.Start.Line, "something follows its closing brace on the same line")
		}
		switch {
		case t.Type == hclsyntax.TokenEOF:
			end = len(content)
		case t.Type == hclsyntax.TokenNewline:
			end, k = t.Range.End.Byte, k+1
		case t.Type == hclsyntax.TokenComment && bytes.HasSuffix(t.Bytes, []byte("\n")):
			end, k = t.Range.End.Byte, k+1
		case t.Type == hclsyntax.TokenComment && !bytes.ContainsAny(t.Bytes, "\r\n"):
			end, k = t.Range.End.Byte, k+1
			continue
		default:
			return fail(t.Range.Start.Line, "something follows its closing brace on the same line")
		}
		break
	}

	// And one blank line after it, or, at the end of the file, before it.
	switch t := toks[k]; {
	case t.Type == hclsyntax.TokenNewline && blank(content[end:t.Range.Start.Byte]):
		end = t.Range.End.Byte
	case t.Type == hclsyntax.TokenEOF && first > 0:
		p := toks[first-1]
		if p.Type == hclsyntax.TokenNewline && p.Range.End.Byte == start {
			if ls := hclLineStart(content, p.Range.Start.Byte); blank(content[ls:p.Range.Start.Byte]) && (first < 2 || tokenEndsLine(toks[first-2])) {
				start = ls
			}
		}
	}
	return start, end, nil
}

// tokenEndsLine reports whether t ends a line, so that a newline token
// after it is a blank line of its own.
func tokenEndsLine(t hclsyntax.Token) bool {
	return t.Type == hclsyntax.TokenNewline || (t.Type == hclsyntax.TokenComment && bytes.HasSuffix(t.Bytes, []byte("\n")))
}

// tokenAt returns the index of the token starting at byte off, or -1.
func tokenAt(toks hclsyntax.Tokens, off int) int {
	i := sort.Search(len(toks), func(i int) bool { return toks[i].Range.Start.Byte >= off })
	if i < len(toks) && toks[i].Range.Start.Byte == off && toks[i].Type != hclsyntax.TokenEOF {
		return i
	}
	return -1
}

// hclLineStart returns the offset of the start of the line holding pos; a
// UTF-8 byte order mark is not part of the first line.
func hclLineStart(content []byte, pos int) int {
	i := bytes.LastIndexByte(content[:pos], '\n') + 1
	if i == 0 && pos >= 3 && bytes.HasPrefix(content, []byte("\xef\xbb\xbf")) {
		i = 3
	}
	return i
}

// blank reports whether b is only spaces and tabs, the white space the
// HCL scanner skips within a line.
func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// sameTokens reports whether two token lists are the same tokens (type and
// bytes, not position); if not, it returns the index of the first that
// differs.
func sameTokens(a, b hclsyntax.Tokens) (int, bool) {
	if len(a) != len(b) {
		return min(len(a), len(b)), false
	}
	for i := range a {
		if a[i].Type != b[i].Type || !bytes.Equal(a[i].Bytes, b[i].Bytes) {
			return i, false
		}
	}
	return 0, true
}

// checkHCLSet re-reads edited content and verifies that it holds the same
// sources with the planned weights, in the same record sets, that no byte
// outside the weight tokens changed and that it is the same tokens but for
// the changed weights.
func checkHCLSet(orig []byte, before *hclFile, edited []byte, next []int64) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: edit did not verify, refusing it: %s", errInternal, fmt.Sprintf(format, args...))
	}
	after, err := parseHCL(edited)
	if err != nil {
		return fail("edited content does not read back: %v", err)
	}
	if len(after.sources) != len(before.sources) {
		return fail("edited content has %d sources, want %d", len(after.sources), len(before.sources))
	}
	prevB, prevA := 0, 0
	for i := range before.sources {
		b, a := before.sources[i], after.sources[i]
		if a.source.Name != b.source.Name || a.source.Target != b.source.Target || a.set != b.set || a.addr != b.addr {
			return fail("source #%d changed from %q -> %q to %q -> %q", i+1, b.source.Name, b.source.Target, a.source.Name, a.source.Target)
		}
		if a.source.Weight != next[i] {
			return fail("source %q has weight %d, want %d", a.source.Name, a.source.Weight, next[i])
		}
		if a.source.Weight == b.source.Weight && !bytes.Equal(orig[b.start:b.end], edited[a.start:a.end]) {
			return fail("source %q: unchanged weight token was rewritten", a.source.Name)
		}
		if !bytes.Equal(orig[prevB:b.start], edited[prevA:a.start]) {
			return fail("bytes before the weight of source %q changed", a.source.Name)
		}
		prevB, prevA = b.end, a.end
	}
	if !bytes.Equal(orig[prevB:], edited[prevA:]) {
		return fail("bytes after the last weight changed")
	}
	// Token by token, with the weight tokens cut out, nothing changed.
	strip := func(f *hclFile) (hclsyntax.Tokens, error) {
		toks, err := f.tokens()
		if err != nil {
			return nil, err
		}
		weight := map[int]bool{}
		for _, s := range f.sources {
			weight[s.start] = true
		}
		var out hclsyntax.Tokens
		for _, t := range toks {
			if !weight[t.Range.Start.Byte] {
				out = append(out, t)
			}
		}
		return out, nil
	}
	beforeToks, err := strip(before)
	if err != nil {
		return err
	}
	afterToks, err := strip(after)
	if err != nil {
		return err
	}
	if i, ok := sameTokens(beforeToks, afterToks); !ok {
		return fail("tokens differ from token #%d", i+1)
	}
	return nil
}

// checkHCLRemove re-reads edited content, which is the original (with
// tokens toks) without its bytes [start, end), and verifies that it holds the sources of orig but the
// one at index at, unchanged and in order, and that exactly the tokens in
// the removed range are gone.
func checkHCLRemove(toks hclsyntax.Tokens, before *hclFile, at, start, end int, edited []byte) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: removal did not verify, refusing it: %s", errInternal, fmt.Sprintf(format, args...))
	}
	after, err := parseHCL(edited)
	if err != nil {
		return fail("edited content does not read back: %v", err)
	}
	want := make([]hclSource, 0, len(before.sources)-1)
	want = append(append(want, before.sources[:at]...), before.sources[at+1:]...)
	if len(after.sources) != len(want) {
		return fail("edited content has %d sources, want %d", len(after.sources), len(want))
	}
	for i := range want {
		b, a := want[i], after.sources[i]
		if a.source != b.source || a.set != b.set || a.addr != b.addr {
			return fail("source #%d is %+v in %s, want %+v in %s", i+1, a.source, a.set, b.source, b.set)
		}
	}
	afterToks, err := after.tokens()
	if err != nil {
		return err
	}
	var kept hclsyntax.Tokens
	for _, t := range toks {
		switch {
		case t.Range.End.Byte <= start || t.Range.Start.Byte >= end:
			kept = append(kept, t)
		case t.Range.Start.Byte < start || t.Range.End.Byte > end:
			return fail("token at line %d straddles the removed range", t.Range.Start.Line)
		}
	}
	if i, ok := sameTokens(kept, afterToks); !ok {
		return fail("tokens differ from token #%d", i+1)
	}
	return nil
}
