package weightfile

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/migratebot/migratebot/internal/yamlpos"
)

// ReadYAML returns the sources in a YAML weights file, in file order.
//
// The file must be a single YAML document whose top level is a mapping
// with a non-empty "sources" list; each source must be a mapping with a
// unique, non-empty "name", a "target" and a "weight" that is a decimal
// integer in 0..255, written plain (10) or quoted ("10" or '10').
func ReadYAML(content []byte) ([]Source, error) {
	ws, err := parseYAMLWeights(content)
	if err != nil {
		return nil, err
	}
	return yamlSources(ws), nil
}

// SetYAML returns content with the weight of each named source set to its
// value in weights; every other byte is unchanged.
//
// Only the weight tokens are rewritten: a quoted weight stays quoted in the
// same style, and a weight set to the value it already has is left exactly
// as written, so setting every weight to its current value returns
// identical bytes. Every name in weights must be a source in the file and
// every new weight must be in 0..255. The edit is refused with ErrAllZero
// if every source in the file would have weight 0 afterwards. On any error
// SetYAML returns nil and the error, never a partial edit.
func SetYAML(content []byte, weights map[string]int64) ([]byte, error) {
	ws, err := parseYAMLWeights(content)
	if err != nil {
		return nil, err
	}
	next, err := planWeights(yamlSources(ws), weights)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(content)+8*len(weights))
	last := 0
	for i, w := range ws {
		if next[i] == w.source.Weight {
			continue
		}
		out = append(out, content[last:w.start]...)
		out = appendYAMLWeight(out, next[i], w.quote)
		last = w.end
	}
	out = append(out, content[last:]...)
	if err := checkYAMLEdit(content, ws, out, next); err != nil {
		return nil, err
	}
	return out, nil
}

// yamlWeight is one source read from a YAML file, with where its weight
// token sits in the file's bytes.
type yamlWeight struct {
	source     Source
	line       int
	start, end int  // the weight token is content[start:end]
	quote      byte // 0 (plain), '"' or '\''
}

func yamlSources(ws []yamlWeight) []Source {
	out := make([]Source, len(ws))
	for i, w := range ws {
		out[i] = w.source
	}
	return out
}

// appendYAMLWeight appends weight w written as a YAML scalar token with the
// given quote character (0 for plain).
func appendYAMLWeight(dst []byte, w int64, quote byte) []byte {
	if quote != 0 {
		dst = append(dst, quote)
	}
	dst = strconv.AppendInt(dst, w, 10)
	if quote != 0 {
		dst = append(dst, quote)
	}
	return dst
}

// decodeYAML parses content as exactly one YAML document and returns its
// top node.
func decodeYAML(content []byte) (*yaml.Node, error) {
	doc, err := yamlpos.DecodeOne(content)
	if err != nil {
		return nil, err
	}
	return doc.Content[0], nil
}

// resolveAlias returns the node an alias refers to, or n itself.
func resolveAlias(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// parseYAMLWeights reads the sources of a YAML weights file and locates
// each weight token in content.
func parseYAMLWeights(content []byte) ([]yamlWeight, error) {
	top, err := decodeYAML(content)
	if err != nil {
		return nil, err
	}
	top = resolveAlias(top)
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: no sources list: top level is not a mapping", top.Line)
	}
	var list *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		k := resolveAlias(top.Content[i])
		if k.Kind != yaml.ScalarNode || k.Value != "sources" {
			continue
		}
		if list != nil {
			return nil, fmt.Errorf("line %d: duplicate key \"sources\"", top.Content[i].Line)
		}
		list = resolveAlias(top.Content[i+1])
	}
	switch {
	case list == nil:
		return nil, errors.New("no sources list: top level has no \"sources\" key")
	case list.Kind != yaml.SequenceNode:
		return nil, fmt.Errorf("line %d: no sources list: \"sources\" is not a list", list.Line)
	case len(list.Content) == 0:
		return nil, fmt.Errorf("line %d: no sources list: \"sources\" is empty", list.Line)
	}

	loc := newYAMLLocator(content)
	ws := make([]yamlWeight, 0, len(list.Content))
	seen := make(map[string]int, len(list.Content))
	for i, item := range list.Content {
		w, err := parseYAMLSource(item, i+1)
		if err != nil {
			return nil, err
		}
		if prev, ok := seen[w.source.Name]; ok {
			return nil, fmt.Errorf("line %d: duplicate source name %q (first at line %d)", item.Line, w.source.Name, prev)
		}
		seen[w.source.Name] = item.Line
		if err := loc.locate(&w); err != nil {
			return nil, err
		}
		if n := len(ws); n > 0 && w.start < ws[n-1].end {
			return nil, fmt.Errorf("line %d: source %q: %w: weight token overlaps the previous one", w.line, w.source.Name, errInternal)
		}
		ws = append(ws, w)
	}
	return ws, nil
}

// parseYAMLSource reads list item number n (1-based) of the sources list.
// It fills in the source and the weight's line, column and quoting; the
// byte offsets are left to yamlLocator.
func parseYAMLSource(item *yaml.Node, n int) (yamlWeight, error) {
	var w yamlWeight
	label := fmt.Sprintf("source #%d", n)
	if item.Kind == yaml.AliasNode {
		return w, fmt.Errorf("line %d: %s is a YAML alias; aliases are not supported for sources", item.Line, label)
	}
	if item.Kind != yaml.MappingNode {
		return w, fmt.Errorf("line %d: %s is not a mapping", item.Line, label)
	}
	var name, target, weight *yaml.Node
	for i := 0; i+1 < len(item.Content); i += 2 {
		k := resolveAlias(item.Content[i])
		v := item.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		var slot **yaml.Node
		switch k.Value {
		case "<<":
			return w, fmt.Errorf("line %d: %s uses a YAML merge key; not supported", item.Content[i].Line, label)
		case "name":
			slot = &name
		case "target":
			slot = &target
		case "weight":
			slot = &weight
		default:
			continue
		}
		if *slot != nil {
			return w, fmt.Errorf("line %d: %s has duplicate key %q", item.Content[i].Line, label, k.Value)
		}
		*slot = v
	}

	if name == nil {
		return w, fmt.Errorf("line %d: %s has no name", item.Line, label)
	}
	nv := resolveAlias(name)
	if nv.Kind != yaml.ScalarNode || nv.Tag == "!!null" || nv.Value == "" {
		return w, fmt.Errorf("line %d: %s has no name (name must be a non-empty string)", name.Line, label)
	}
	w.source.Name = nv.Value
	label = fmt.Sprintf("source %q", w.source.Name)

	if target == nil {
		return w, fmt.Errorf("line %d: %s has no target", item.Line, label)
	}
	tv := resolveAlias(target)
	if tv.Kind != yaml.ScalarNode || tv.Tag == "!!null" || tv.Value == "" {
		return w, fmt.Errorf("line %d: %s has no target (target must be a non-empty string)", target.Line, label)
	}
	w.source.Target = tv.Value

	if weight == nil {
		return w, fmt.Errorf("line %d: %s has no weight", item.Line, label)
	}
	w.line = weight.Line
	switch {
	case weight.Kind == yaml.AliasNode:
		return w, fmt.Errorf("line %d: %s: weight is a YAML alias; not supported", weight.Line, label)
	case weight.Kind != yaml.ScalarNode:
		return w, fmt.Errorf("line %d: %s: weight is not an integer", weight.Line, label)
	case weight.Anchor != "":
		return w, fmt.Errorf("line %d: %s: weight has a YAML anchor; not supported", weight.Line, label)
	case weight.Style&yaml.TaggedStyle != 0:
		return w, fmt.Errorf("line %d: %s: weight has a YAML tag (%s); not supported", weight.Line, label, weight.Tag)
	case weight.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return w, fmt.Errorf("line %d: %s: weight is a block scalar; write it plain or quoted", weight.Line, label)
	case weight.Style&yaml.DoubleQuotedStyle != 0:
		w.quote = '"'
	case weight.Style&yaml.SingleQuotedStyle != 0:
		w.quote = '\''
	}
	v, err := strconv.ParseInt(weight.Value, 10, 64)
	switch {
	case err != nil || weight.Tag == "!!null":
		return w, fmt.Errorf("line %d: %s: weight %q is not an integer", weight.Line, label, weight.Value)
	case strconv.FormatInt(v, 10) != weight.Value:
		// "+5", "007", "-0": integers, but not every YAML reader agrees
		// on their value (YAML 1.1 reads 010 as octal), so refuse them.
		return w, fmt.Errorf("line %d: %s: weight %q is not a plain decimal integer", weight.Line, label, weight.Value)
	case v < minWeight || v > maxWeight:
		return w, fmt.Errorf("line %d: %s: weight %d is outside %d..%d", weight.Line, label, v, minWeight, maxWeight)
	}
	w.source.Weight = v
	// Stash the column in start until the locator turns it into an offset.
	w.start = weight.Column
	return w, nil
}

// yamlLocator finds weight tokens in the content.
type yamlLocator struct{ *yamlpos.Lines }

func newYAMLLocator(content []byte) *yamlLocator { return &yamlLocator{yamlpos.NewLines(content)} }

// locate sets w.start and w.end to the byte range of the weight token;
// on entry w.start holds the token's column.
func (l *yamlLocator) locate(w *yamlWeight) error {
	col := w.start
	w.start, w.end = 0, 0
	fail := func(why string) error {
		return fmt.Errorf("line %d: source %q: %w: cannot locate the weight token: %s", w.line, w.source.Name, errInternal, why)
	}
	off, err := l.Offset(w.line, col)
	if err != nil {
		return fail(err.Error())
	}
	rest := l.Content[off:]
	if len(rest) > 0 && rest[0] == '!' {
		// A non-specific tag ("! 10") is not flagged as tagged by yaml.v3.
		return fmt.Errorf("line %d: source %q: weight has a YAML tag; not supported", w.line, w.source.Name)
	}
	want := strconv.FormatInt(w.source.Weight, 10)
	switch w.quote {
	case 0:
		if !bytes.HasPrefix(rest, []byte(want)) {
			return fail("plain scalar not found at its position")
		}
		w.start, w.end = off, off+len(want)
		return nil
	case '"':
		if len(rest) == 0 || rest[0] != '"' {
			return fail("double quote not found at its position")
		}
		for i := 1; i < len(rest); i++ {
			switch rest[i] {
			case '\\':
				i++ // skip the escaped character (or its first byte)
			case '"':
				w.start, w.end = off, off+i+1
				return nil
			}
		}
		return fail("closing double quote not found")
	default:
		if len(rest) == 0 || rest[0] != '\'' {
			return fail("single quote not found at its position")
		}
		for i := 1; i < len(rest); i++ {
			if rest[i] != '\'' {
				continue
			}
			if i+1 < len(rest) && rest[i+1] == '\'' {
				i++ // '' is an escaped quote
				continue
			}
			w.start, w.end = off, off+i+1
			return nil
		}
		return fail("closing single quote not found")
	}
}

// checkYAMLEdit re-reads edited content and verifies that it holds the
// same sources with the planned weights, that each weight kept its quoting
// and that no byte outside the weight tokens changed.
func checkYAMLEdit(orig []byte, before []yamlWeight, edited []byte, next []int64) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: edit did not verify, refusing it: %s", errInternal, fmt.Sprintf(format, args...))
	}
	after, err := parseYAMLWeights(edited)
	if err != nil {
		return fail("edited content does not read back: %v", err)
	}
	if len(after) != len(before) {
		return fail("edited content has %d sources, want %d", len(after), len(before))
	}
	prevB, prevA := 0, 0
	for i := range before {
		b, a := before[i], after[i]
		if a.source.Name != b.source.Name || a.source.Target != b.source.Target {
			return fail("source #%d changed from %q -> %q to %q -> %q", i+1, b.source.Name, b.source.Target, a.source.Name, a.source.Target)
		}
		if a.source.Weight != next[i] {
			return fail("source %q has weight %d, want %d", a.source.Name, a.source.Weight, next[i])
		}
		if a.quote != b.quote {
			return fail("source %q: weight quoting changed", a.source.Name)
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
	return nil
}
