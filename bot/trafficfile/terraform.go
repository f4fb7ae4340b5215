package trafficfile

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// The Terraform editors find what to edit with hclsyntax, which gives the
// byte range of every attribute, expression and block, and splice the new
// expression's bytes into the original content. They do not rewrite the
// file through hclwrite: hclwrite re-renders whitespace (it turns a tab
// before '=' or a comment into spaces), which would change bytes that the
// edit is not about. hclwrite renders the new expressions and parses the
// edited file as a last check.

// fastlyServiceTypes are the resource types whose backend blocks
// SetFastlyBackendAddress edits.
var fastlyServiceTypes = []string{"fastly_service_vcl", "fastly_service_compute"}

// SetFastlyBackendAddress returns content, Terraform source, with the
// address of the backend named backend set to address; every other byte
// is unchanged.
//
// The backend is a `backend { name = "<backend>" ... }` block directly in
// a resource "fastly_service_vcl" or "fastly_service_compute" block; its
// name must be a literal string. There must be exactly one such backend in
// the file, across all those resources. Its address attribute, whatever
// expression it is (a string, a reference, a heredoc), is replaced by the
// quoted address. Setting the address it has returns
// identical bytes. address must be a host name without a port (Fastly has
// a separate port attribute).
func SetFastlyBackendAddress(content []byte, backend, address string) ([]byte, error) {
	if backend == "" {
		return nil, errorf(ErrInvalidInput, "backend name is empty")
	}
	if err := checkHost("address", address, false); err != nil {
		return nil, err
	}
	body, err := parseHCL(content)
	if err != nil {
		return nil, err
	}
	b, err := findFastlyBackend(body, backend)
	if err != nil {
		return nil, err
	}
	attr := b.block.Body.Attributes["address"]
	if attr == nil {
		return nil, errorf(ErrNotFound, "line %d: backend %q (in %s) has no address", b.block.TypeRange.Start.Line, backend, b.service)
	}
	if v, ok := hclLiteral(attr.Expr); ok && v.Type() == cty.String && v.AsString() == address {
		return bytes.Clone(content), nil
	}
	r := attr.Expr.Range()
	ss := []splice{{r.Start.Byte, r.End.Byte, hclwrite.TokensForValue(cty.StringVal(address)).Bytes()}}
	out, err := applySplices(content, ss)
	if err != nil {
		return nil, err
	}
	if err := checkFastlyEdit(content, out, backend, address, ss); err != nil {
		return nil, refuse(err)
	}
	return out, nil
}

// fastlyBackend is a backend block and the service resource it is in.
type fastlyBackend struct {
	block   *hclsyntax.Block
	service string // "fastly_service_vcl.<label>"
}

// findFastlyBackend returns the one backend block named name.
func findFastlyBackend(body *hclsyntax.Body, name string) (fastlyBackend, error) {
	var found []fastlyBackend
	var names []string
	services := 0
	for _, res := range body.Blocks {
		if res.Type != "resource" || len(res.Labels) != 2 || !isFastlyService(res.Labels[0]) {
			continue
		}
		services++
		for _, b := range res.Body.Blocks {
			if b.Type != "backend" || len(b.Labels) != 0 {
				continue
			}
			v, ok := literalAttr(b.Body, "name")
			if !ok || v.Type() != cty.String {
				continue
			}
			names = append(names, v.AsString())
			if v.AsString() == name {
				found = append(found, fastlyBackend{b, res.Labels[0] + "." + res.Labels[1]})
			}
		}
	}
	switch {
	case services == 0:
		return fastlyBackend{}, errorf(ErrNotFound, "no resource %s in file", strings.Join(quoteAll(fastlyServiceTypes), " or "))
	case len(found) == 0:
		return fastlyBackend{}, errorf(ErrNotFound, "no backend named %q in %s resources (backends in file: %s)", name, strings.Join(fastlyServiceTypes, " or "), quoteList(names))
	case len(found) > 1:
		where := make([]string, len(found))
		for i, b := range found {
			where[i] = fmt.Sprintf("line %d in %s", b.block.TypeRange.Start.Line, b.service)
		}
		return fastlyBackend{}, errorf(ErrAmbiguous, "line %d: backend %q is defined %d times (%s)", found[1].block.TypeRange.Start.Line, name, len(found), strings.Join(where, ", "))
	}
	return found[0], nil
}

func isFastlyService(t string) bool {
	for _, s := range fastlyServiceTypes {
		if t == s {
			return true
		}
	}
	return false
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// checkFastlyEdit re-reads edited content and verifies that the backend
// now has the new address and that only the spliced bytes changed.
func checkFastlyEdit(orig, edited []byte, backend, address string, ss []splice) error {
	if _, err := checkSplices(orig, edited, ss); err != nil {
		return err
	}
	body, err := parseHCL(edited)
	if err != nil {
		return fmt.Errorf("%w: edited content does not parse: %v", errInternal, err)
	}
	if err := checkHCLWrite(edited); err != nil {
		return err
	}
	b, err := findFastlyBackend(body, backend)
	if err != nil {
		return fmt.Errorf("%w: edited content: %v", errInternal, err)
	}
	v, ok := literalAttr(b.block.Body, "address")
	if !ok || v.Type() != cty.String || v.AsString() != address {
		return fmt.Errorf("%w: backend %q address does not read back as %q", errInternal, backend, address)
	}
	return nil
}

// SetCNAME returns content, Terraform source, with the Route53 record
// resource "aws_route53_record" "<resourceLabel>" made a CNAME of target:
// type = "CNAME", records = ["<target>"] and ttl = <ttl>. Every other
// attribute, block, comment and byte is unchanged.
//
// Each of type, records and ttl that is there has its expression replaced
// (unless it already has the wanted value); those that are missing are
// added as new lines. A record's alias block cannot go with records and
// ttl, so an alias block is removed, lines and all (with a comment on its
// closing line), and the missing attributes take its place; otherwise
// they go after the type attribute (or the name attribute, or at the end
// of the block). New lines use the block's indentation and line endings
// and align their '=' with their neighbours' where they fit.
//
// There must be exactly one such resource in the file, written over
// several lines. target must be a host name without a port; ttl must be
// in 0..2147483647. Setting what the record already has returns identical
// bytes.
func SetCNAME(content []byte, resourceLabel, target string, ttl int) ([]byte, error) {
	if resourceLabel == "" {
		return nil, errorf(ErrInvalidInput, "resource label is empty")
	}
	if err := checkHost("CNAME target", target, false); err != nil {
		return nil, err
	}
	if ttl < 0 || ttl > maxTTL {
		return nil, errorf(ErrInvalidInput, "ttl %d is outside 0..%d", ttl, maxTTL)
	}
	body, err := parseHCL(content)
	if err != nil {
		return nil, err
	}
	rec, err := findRecord(body, resourceLabel)
	if err != nil {
		return nil, err
	}
	ss, err := planCNAME(content, rec, target, ttl)
	if err != nil {
		return nil, err
	}
	if len(ss) == 0 {
		return bytes.Clone(content), nil
	}
	out, err := applySplices(content, ss)
	if err != nil {
		return nil, err
	}
	if err := checkCNAMEEdit(content, rec, out, resourceLabel, target, ttl, ss); err != nil {
		return nil, refuse(err)
	}
	return out, nil
}

// maxTTL is the largest TTL Route53 accepts.
const maxTTL = 2147483647

const route53Record = "aws_route53_record"

// findRecord returns the one resource "aws_route53_record" "<label>".
func findRecord(body *hclsyntax.Body, label string) (*hclsyntax.Block, error) {
	var found []*hclsyntax.Block
	var labels []string
	for _, b := range body.Blocks {
		if b.Type != "resource" || len(b.Labels) != 2 || b.Labels[0] != route53Record {
			continue
		}
		labels = append(labels, b.Labels[1])
		if b.Labels[1] == label {
			found = append(found, b)
		}
	}
	switch len(found) {
	case 0:
		return nil, errorf(ErrNotFound, "no resource %q %q in file (%s resources: %s)", route53Record, label, route53Record, quoteList(labels))
	case 1:
		return found[0], nil
	default:
		return nil, errorf(ErrAmbiguous, "line %d: resource %q %q is defined %d times (first at line %d)", found[1].TypeRange.Start.Line, route53Record, label, len(found), found[0].TypeRange.Start.Line)
	}
}

// cnameAttr is one of the attributes SetCNAME sets.
type cnameAttr struct {
	name  string
	text  []byte               // the new expression
	equal func(cty.Value) bool // whether a literal value is already the wanted one
}

func cnameAttrs(target string, ttl int) []cnameAttr {
	return []cnameAttr{
		{"type", hclwrite.TokensForValue(cty.StringVal("CNAME")).Bytes(), func(v cty.Value) bool {
			return v.Type() == cty.String && v.AsString() == "CNAME"
		}},
		{"ttl", hclwrite.TokensForValue(cty.NumberIntVal(int64(ttl))).Bytes(), func(v cty.Value) bool {
			switch {
			case v.Type() == cty.Number:
				return v.Equals(cty.NumberIntVal(int64(ttl))).True()
			case v.Type() == cty.String:
				return v.AsString() == strconv.Itoa(ttl)
			}
			return false
		}},
		{"records", hclwrite.TokensForValue(cty.TupleVal([]cty.Value{cty.StringVal(target)})).Bytes(), func(v cty.Value) bool {
			if !v.Type().IsTupleType() && !v.Type().IsListType() || v.LengthInt() != 1 {
				return false
			}
			e := v.Index(cty.NumberIntVal(0))
			return e.IsKnown() && !e.IsNull() && e.Type() == cty.String && e.AsString() == target
		}},
	}
}

// planCNAME works out the splices that make rec a CNAME record.
func planCNAME(content []byte, rec *hclsyntax.Block, target string, ttl int) ([]splice, error) {
	label := rec.Labels[1]
	if rec.OpenBraceRange.Start.Line == rec.CloseBraceRange.Start.Line {
		return nil, fmt.Errorf("line %d: resource %q %q is written on one line; not supported", rec.TypeRange.Start.Line, route53Record, label)
	}
	lines := newLineIndex(content)
	var alias *hclsyntax.Block
	for _, b := range rec.Body.Blocks {
		switch {
		case b.Type == "alias":
			if alias != nil {
				return nil, fmt.Errorf("line %d: resource %q %q has more than one alias block", b.TypeRange.Start.Line, route53Record, label)
			}
			alias = b
		case b.Type == "dynamic" && len(b.Labels) == 1 && b.Labels[0] == "alias":
			return nil, fmt.Errorf("line %d: resource %q %q has a dynamic \"alias\" block; edit it by hand", b.TypeRange.Start.Line, route53Record, label)
		}
	}

	var ss []splice
	var missing []cnameAttr
	for _, want := range cnameAttrs(target, ttl) {
		a := rec.Body.Attributes[want.name]
		if a == nil {
			missing = append(missing, want)
			continue
		}
		if v, ok := hclLiteral(a.Expr); ok && want.equal(v) {
			continue
		}
		r := a.Expr.Range()
		ss = append(ss, splice{r.Start.Byte, r.End.Byte, want.text})
	}

	switch {
	case alias != nil:
		// Replace the alias block's lines with the missing attributes.
		start := lines.lineStart(alias.TypeRange.Start.Byte)
		indent := content[start:alias.TypeRange.Start.Byte]
		if !isBlank(indent) {
			return nil, fmt.Errorf("line %d: alias block does not start its line; not supported", alias.TypeRange.Start.Line)
		}
		end, ok := endOfLineAfter(content, alias.CloseBraceRange.End.Byte)
		if !ok {
			return nil, fmt.Errorf("line %d: unexpected text after the alias block's closing brace", alias.CloseBraceRange.Start.Line)
		}
		nl := lineEnding(content, alias.TypeRange.Start.Byte)
		ss = append(ss, splice{start, end, renderAttrs(missing, string(indent), 0, nl)})
	case len(missing) > 0:
		pos, indent, width, err := cnameInsertPoint(content, lines, rec)
		if err != nil {
			return nil, err
		}
		nl := lineEnding(content, rec.OpenBraceRange.Start.Byte)
		ss = append(ss, splice{pos, pos, renderAttrs(missing, indent, width, nl)})
	}
	sort.Slice(ss, func(i, j int) bool { return ss[i].start < ss[j].start })
	return ss, nil
}

// cnameInsertPoint returns where SetCNAME adds attributes to a record that
// has no alias block: the start of the line after the type attribute, or
// after the name attribute, or of the closing brace's line; the
// indentation to use; and the width from an attribute's name to its '='
// on the anchoring line (0 if there is none).
func cnameInsertPoint(content []byte, lines lineIndex, rec *hclsyntax.Block) (pos int, indent string, width int, err error) {
	for _, name := range []string{"type", "name"} {
		a := rec.Body.Attributes[name]
		if a == nil {
			continue
		}
		start := lines.lineStart(a.NameRange.Start.Byte)
		ind := content[start:a.NameRange.Start.Byte]
		if !isBlank(ind) {
			break
		}
		end, ok := endOfLineAfter(content, a.SrcRange.End.Byte)
		if !ok {
			break
		}
		width := a.EqualsRange.Start.Byte - a.NameRange.Start.Byte
		if gap := content[a.NameRange.End.Byte:a.EqualsRange.Start.Byte]; bytes.IndexByte(gap, '\t') >= 0 {
			width = 0 // aligned with tabs: do not guess the columns
		}
		return end, string(ind), width, nil
	}
	closing := rec.CloseBraceRange.Start.Byte
	start := lines.lineStart(closing)
	if !isBlank(content[start:closing]) {
		return 0, "", 0, fmt.Errorf("line %d: resource's closing brace does not start its line; not supported", rec.CloseBraceRange.Start.Line)
	}
	indent = string(content[start:closing]) + "  "
	// Use the indentation of the block's first attribute or block, if any.
	first := -1
	for _, a := range rec.Body.Attributes {
		if first < 0 || a.NameRange.Start.Byte < first {
			first = a.NameRange.Start.Byte
		}
	}
	for _, b := range rec.Body.Blocks {
		if first < 0 || b.TypeRange.Start.Byte < first {
			first = b.TypeRange.Start.Byte
		}
	}
	if first >= 0 {
		if ind := content[lines.lineStart(first):first]; isBlank(ind) {
			indent = string(ind)
		}
	}
	return start, indent, 0, nil
}

// renderAttrs renders attributes as lines "<indent><name> = <expr><nl>".
// The '=' are aligned at width bytes after the name's start if every name
// fits in it, or else with each other.
func renderAttrs(attrs []cnameAttr, indent string, width int, nl string) []byte {
	longest := 0
	for _, a := range attrs {
		longest = max(longest, len(a.name))
	}
	if longest+1 > width {
		width = longest + 1
	}
	var b bytes.Buffer
	for _, a := range attrs {
		b.WriteString(indent)
		b.WriteString(a.name)
		b.WriteString(strings.Repeat(" ", width-len(a.name)))
		b.WriteString("= ")
		b.Write(a.text)
		b.WriteString(nl)
	}
	return b.Bytes()
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// endOfLineAfter returns the offset just after the line break that ends
// the line holding off, provided that from off to there is only
// whitespace and an optional # or // comment.
func endOfLineAfter(content []byte, off int) (int, bool) {
	i := off
	for i < len(content) && (content[i] == ' ' || content[i] == '\t') {
		i++
	}
	if bytes.HasPrefix(content[i:], []byte("#")) || bytes.HasPrefix(content[i:], []byte("//")) {
		for i < len(content) && content[i] != '\n' && content[i] != '\r' {
			i++
		}
	}
	switch {
	case i == len(content):
		return i, true
	case content[i] == '\n':
		return i + 1, true
	case content[i] == '\r' && i+1 < len(content) && content[i+1] == '\n':
		return i + 2, true
	}
	return 0, false
}

// checkCNAMEEdit re-reads edited content and verifies that the record is
// a CNAME of target with the TTL, without an alias block, that every
// other attribute and block in it reads back byte for byte, and that only
// the spliced bytes changed.
func checkCNAMEEdit(orig []byte, before *hclsyntax.Block, edited []byte, label, target string, ttl int, ss []splice) error {
	if _, err := checkSplices(orig, edited, ss); err != nil {
		return err
	}
	for _, s := range ss {
		if s.start < before.OpenBraceRange.End.Byte || s.end > before.CloseBraceRange.Start.Byte {
			return fmt.Errorf("%w: edit outside the record's body", errInternal)
		}
	}
	body, err := parseHCL(edited)
	if err != nil {
		return fmt.Errorf("%w: edited content does not parse: %v", errInternal, err)
	}
	if err := checkHCLWrite(edited); err != nil {
		return err
	}
	after, err := findRecord(body, label)
	if err != nil {
		return fmt.Errorf("%w: edited content: %v", errInternal, err)
	}
	for _, want := range cnameAttrs(target, ttl) {
		v, ok := literalAttr(after.Body, want.name)
		if !ok || !want.equal(v) {
			return fmt.Errorf("%w: %s does not read back as %s", errInternal, want.name, want.text)
		}
	}
	if len(after.Body.Attributes) != len(before.Body.Attributes)+countMissing(before.Body) {
		return fmt.Errorf("%w: record has %d attributes after the edit, want %d", errInternal, len(after.Body.Attributes), len(before.Body.Attributes)+countMissing(before.Body))
	}
	for name, a := range before.Body.Attributes {
		if name == "type" || name == "ttl" || name == "records" {
			continue
		}
		b := after.Body.Attributes[name]
		if b == nil || !bytes.Equal(rangeBytes(orig, a.SrcRange), rangeBytes(edited, b.SrcRange)) {
			return fmt.Errorf("%w: attribute %q changed", errInternal, name)
		}
	}
	var blocksBefore, blocksAfter [][]byte
	for _, b := range before.Body.Blocks {
		if b.Type != "alias" {
			blocksBefore = append(blocksBefore, blockBytes(orig, b))
		}
	}
	for _, b := range after.Body.Blocks {
		if b.Type == "alias" {
			return fmt.Errorf("%w: record still has an alias block", errInternal)
		}
		blocksAfter = append(blocksAfter, blockBytes(edited, b))
	}
	if len(blocksAfter) != len(blocksBefore) {
		return fmt.Errorf("%w: record has %d blocks after the edit, want %d", errInternal, len(blocksAfter), len(blocksBefore))
	}
	for i := range blocksBefore {
		if !bytes.Equal(blocksBefore[i], blocksAfter[i]) {
			return fmt.Errorf("%w: block %d of the record changed", errInternal, i+1)
		}
	}
	return nil
}

func countMissing(body *hclsyntax.Body) int {
	n := 0
	for _, name := range []string{"type", "ttl", "records"} {
		if body.Attributes[name] == nil {
			n++
		}
	}
	return n
}

func rangeBytes(content []byte, r hcl.Range) []byte { return content[r.Start.Byte:r.End.Byte] }

func blockBytes(content []byte, b *hclsyntax.Block) []byte {
	return content[b.TypeRange.Start.Byte:b.CloseBraceRange.End.Byte]
}

// parseHCL parses content as Terraform (HCL native syntax).
func parseHCL(content []byte) (body *hclsyntax.Body, err error) {
	defer func() {
		if r := recover(); r != nil {
			body, err = nil, fmt.Errorf("not Terraform: parser failed: %v", r)
		}
	}()
	f, diags := hclsyntax.ParseConfig(content, "", hcl.InitialPos)
	if diags.HasErrors() {
		for _, d := range diags {
			if d.Severity != hcl.DiagError {
				continue
			}
			msg := d.Summary
			if d.Detail != "" {
				msg += ": " + d.Detail
			}
			if d.Subject != nil {
				return nil, fmt.Errorf("line %d: not Terraform: %s", d.Subject.Start.Line, msg)
			}
			return nil, fmt.Errorf("not Terraform: %s", msg)
		}
	}
	b, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil, fmt.Errorf("not Terraform: unexpected body type %T", f.Body)
	}
	return b, nil
}

// checkHCLWrite checks that hclwrite, which terraform fmt and most
// Terraform tooling use, also parses the edited content.
func checkHCLWrite(content []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: hclwrite failed on the edited content: %v", errInternal, r)
		}
	}()
	if _, diags := hclwrite.ParseConfig(content, "", hcl.InitialPos); diags.HasErrors() {
		return fmt.Errorf("%w: hclwrite does not parse the edited content: %v", errInternal, diags)
	}
	return nil
}

// hclLiteral returns the value of an expression that has no references
// and calls no functions: a literal string, number, bool or list of them.
func hclLiteral(e hclsyntax.Expression) (v cty.Value, ok bool) {
	defer func() {
		if recover() != nil {
			v, ok = cty.NilVal, false
		}
	}()
	if len(e.Variables()) > 0 {
		return cty.NilVal, false
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
		return cty.NilVal, false
	}
	return v, true
}

// literalAttr returns the literal value of attribute name in body.
func literalAttr(body *hclsyntax.Body, name string) (cty.Value, bool) {
	a := body.Attributes[name]
	if a == nil {
		return cty.NilVal, false
	}
	return hclLiteral(a.Expr)
}
