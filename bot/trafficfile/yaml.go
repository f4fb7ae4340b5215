package trafficfile

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/migratebot/migratebot/internal/yamlpos"
)

// SetYAMLValue returns content, a YAML file, with the scalar at path set to
// value; every other byte is unchanged.
//
// path is dotted: "proxy.upstream.host" is the key "host" of the mapping
// at key "upstream" of the mapping at key "proxy" of the top-level
// mapping. A key that itself has dots ("upstream.host") matches too, and a
// decimal segment indexes a list ("proxy.backends.0.host"). The path must
// lead to exactly one node, which must be a scalar (not a mapping, list,
// alias or block scalar, and not null), with no anchor or tag, and not
// inside an anchored node (an alias of it would change too). The file must
// be one YAML document that yaml.v3 decodes (no key twice in a mapping).
//
// Only the scalar's token is replaced, in its own quoting style: a plain
// scalar stays plain, a 'single' or "double" quoted one stays quoted the
// same way. A plain scalar must keep the type it reads as: a string stays
// a string (setting "123" where a host name was is refused, as it would
// read as a number, and so is "yes", which YAML 1.1 readers such as Mule's
// SnakeYAML read as a boolean); quote the value in the file first.
// Setting a value to the one it has returns identical bytes.
//
// value must be letters, digits and URL characters (see checkValue).
func SetYAMLValue(content []byte, path, value string) ([]byte, error) {
	segs, err := splitYAMLPath(path)
	if err != nil {
		return nil, err
	}
	if err := checkValue(value); err != nil {
		return nil, err
	}
	doc, err := decodeYAMLDoc(content)
	if err != nil {
		return nil, err
	}
	target, err := findYAMLScalar(doc, segs, path)
	if err != nil {
		return nil, err
	}
	n, flow := target.node, target.flow
	if n.Value == value {
		return bytes.Clone(content), nil
	}
	tok, err := newYAMLLocator(content).locate(n)
	if err != nil {
		return nil, fmt.Errorf("line %d: %q: %w", n.Line, path, err)
	}
	var text []byte
	switch tok.quote {
	case '"', '\'':
		text = []byte(string(tok.quote) + value + string(tok.quote))
	default:
		if err := checkPlainYAML(value, n.Tag, flow); err != nil {
			return nil, fmt.Errorf("line %d: %q: %v", n.Line, path, err)
		}
		text = []byte(value)
	}
	ss := []splice{{tok.start, tok.end, text}}
	out, err := applySplices(content, ss)
	if err != nil {
		return nil, err
	}
	if err := checkYAMLEdit(content, doc, out, n, value, ss); err != nil {
		return nil, refuse(err)
	}
	return out, nil
}

// splitYAMLPath splits a dotted path into its segments.
func splitYAMLPath(path string) ([]string, error) {
	if path == "" {
		return nil, errorf(ErrInvalidInput, "path is empty")
	}
	segs := strings.Split(path, ".")
	for _, s := range segs {
		if s == "" {
			return nil, errorf(ErrInvalidInput, "path %q has an empty segment", path)
		}
	}
	return segs, nil
}

// decodeYAMLDoc parses content as exactly one YAML document and returns
// its root node.
func decodeYAMLDoc(content []byte) (*yaml.Node, error) {
	doc, err := yamlpos.DecodeOne(content)
	if err != nil {
		return nil, err
	}
	// Decoding into Go values checks what the node tree does not: that no
	// mapping has a key twice and that aliases and merge keys are sound.
	// A file that fails this is refused rather than edited.
	var v any
	if err := yaml.Unmarshal(content, &v); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
		return nil, fmt.Errorf("%s", strings.ReplaceAll(msg, "\n  ", "; "))
	}
	return doc, nil
}

// yamlTarget is the scalar a path leads to.
type yamlTarget struct {
	node *yaml.Node
	flow bool // inside a flow collection ([...] or {...})
}

// findYAMLScalar follows segs from the document's root and returns the
// one scalar they lead to.
func findYAMLScalar(doc *yaml.Node, segs []string, path string) (yamlTarget, error) {
	found, err := walkYAML(doc.Content[0], segs, nil, false)
	if err != nil {
		var we *yamlWalkError
		if errors.As(err, &we) {
			return yamlTarget{}, errorf(we.kind, "line %d: %q: %s", we.line, path, we.msg)
		}
		return yamlTarget{}, fmt.Errorf("%q: %w", path, err)
	}
	t := found
	n := t.node
	switch {
	case n.Kind == yaml.AliasNode:
		return t, fmt.Errorf("line %d: %q is an alias (*%s); edit the anchored value instead", n.Line, path, n.Value)
	case n.Kind == yaml.MappingNode:
		return t, fmt.Errorf("line %d: %q is a mapping, not a scalar", n.Line, path)
	case n.Kind == yaml.SequenceNode:
		return t, fmt.Errorf("line %d: %q is a list, not a scalar", n.Line, path)
	case n.Kind != yaml.ScalarNode:
		return t, fmt.Errorf("line %d: %q is not a scalar", n.Line, path)
	case n.Anchor != "":
		return t, fmt.Errorf("line %d: %q has an anchor (&%s); editing it would change its aliases too", n.Line, path, n.Anchor)
	case n.Style&yaml.TaggedStyle != 0:
		return t, fmt.Errorf("line %d: %q has a tag (%s); not supported", n.Line, path, n.Tag)
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return t, fmt.Errorf("line %d: %q is a block scalar (| or >); not supported", n.Line, path)
	case n.Tag == "!!null":
		return t, fmt.Errorf("line %d: %q is null (no value); write a value in the file first", n.Line, path)
	}
	return t, nil
}

// yamlWalkError is an error found following a path; findYAMLScalar adds
// the path to it.
type yamlWalkError struct {
	line int
	msg  string
	kind error // ErrNotFound, ErrAmbiguous or nil
}

func (e *yamlWalkError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }
func (e *yamlWalkError) Unwrap() error { return e.kind }

func walkErr(kind error, line int, format string, args ...any) error {
	return &yamlWalkError{line: line, msg: fmt.Sprintf(format, args...), kind: kind}
}

// walkYAML follows segs from n. anchored is the anchor of an ancestor, if
// any.
func walkYAML(n *yaml.Node, segs []string, anchored *yaml.Node, flow bool) (yamlTarget, error) {
	if len(segs) == 0 {
		if anchored != nil {
			return yamlTarget{}, walkErr(nil, n.Line, "it is inside a node with an anchor (&%s, line %d); editing it would change its aliases too", anchored.Anchor, anchored.Line)
		}
		return yamlTarget{node: n, flow: flow}, nil
	}
	if n.Kind == yaml.AliasNode {
		return yamlTarget{}, walkErr(nil, n.Line, "path goes through an alias (*%s); not supported", n.Value)
	}
	if n.Anchor != "" && anchored == nil {
		anchored = n
	}
	flow = flow || n.Style&yaml.FlowStyle != 0
	switch n.Kind {
	case yaml.MappingNode:
		type candidate struct {
			key, value *yaml.Node
			used       int // segments the key matches
		}
		var cands []candidate
		merge := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				continue
			}
			if k.Value == "<<" && k.Tag == "!!merge" {
				merge = true
				continue
			}
			for j := 1; j <= len(segs); j++ {
				if k.Value == strings.Join(segs[:j], ".") {
					cands = append(cands, candidate{k, n.Content[i+1], j})
				}
			}
		}
		if len(cands) == 0 {
			if merge {
				return yamlTarget{}, walkErr(nil, n.Line, "no key %q here, and this mapping has a merge key (<<); not supported", segs[0])
			}
			return yamlTarget{}, walkErr(ErrNotFound, n.Line, "no key %q", segs[0])
		}
		var found []yamlTarget
		var foundKeys []*yaml.Node
		var firstErr error
		for _, c := range cands {
			t, err := walkYAML(c.value, segs[c.used:], anchored, flow)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			found = append(found, t)
			foundKeys = append(foundKeys, c.key)
		}
		switch len(found) {
		case 0:
			return yamlTarget{}, firstErr
		case 1:
			return found[0], nil
		default:
			return yamlTarget{}, walkErr(ErrAmbiguous, foundKeys[1].Line, "more than one key leads there (%q at line %d and %q at line %d)", foundKeys[0].Value, foundKeys[0].Line, foundKeys[1].Value, foundKeys[1].Line)
		}
	case yaml.SequenceNode:
		i, err := strconv.Atoi(segs[0])
		if err != nil || strconv.Itoa(i) != segs[0] {
			return yamlTarget{}, walkErr(ErrNotFound, n.Line, "%q is not a list index", segs[0])
		}
		if i < 0 || i >= len(n.Content) {
			return yamlTarget{}, walkErr(ErrNotFound, n.Line, "list has %d items, no index %d", len(n.Content), i)
		}
		return walkYAML(n.Content[i], segs[1:], anchored, flow)
	default:
		return yamlTarget{}, walkErr(ErrNotFound, n.Line, "no key %q: not a mapping", segs[0])
	}
}

// checkPlainYAML checks that value, written as a plain scalar where a
// scalar with tag oldTag was, reads back as itself with the same tag.
func checkPlainYAML(value, oldTag string, flow bool) error {
	probes := []string{"- " + value + "\n"}
	if flow {
		probes = append(probes, "["+value+"]\n", "{k: "+value+"}\n")
	}
	for _, p := range probes {
		var doc yaml.Node
		err := yaml.Unmarshal([]byte(p), &doc)
		var n *yaml.Node
		if err == nil && len(doc.Content) == 1 {
			c := doc.Content[0]
			switch {
			case c.Kind == yaml.SequenceNode && len(c.Content) == 1:
				n = c.Content[0]
			case c.Kind == yaml.MappingNode && len(c.Content) == 2:
				n = c.Content[1]
			}
		}
		if n == nil || n.Kind != yaml.ScalarNode || n.Value != value || n.Style != 0 {
			return fmt.Errorf("new value %q cannot be written as a plain (unquoted) scalar here; quote the old value in the file first", value)
		}
		if n.Tag != oldTag {
			return fmt.Errorf("new value %q would read as %s, not %s like the old value; quote the old value in the file first", value, n.Tag, oldTag)
		}
	}
	if oldTag == "!!str" && yaml11NonString.MatchString(value) {
		return fmt.Errorf("new value %q would not read as a string in YAML 1.1 (SnakeYAML, which Mule uses, reads it as a boolean, number or null); quote the old value in the file first", value)
	}
	return nil
}

// yaml11NonString matches the plain scalars that YAML 1.1 readers resolve
// to something other than a string where yaml.v3 (YAML 1.2) may read a
// string: SnakeYAML's patterns for booleans ("yes", "off"), null, integers
// (base 2, 8, 16 and 60, with '_') and floats, and YAML 1.1's "y" and "n".
var yaml11NonString = regexp.MustCompile(`^(?:` +
	`y|Y|n|N|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF` +
	`|~|null|Null|NULL` +
	`|[-+]?0b_*[0-1]+[0-1_]*|[-+]?0_*[0-7]+[0-7_]*|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x_*[0-9a-fA-F]+[0-9a-fA-F_]*|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+` +
	`|[-+]?(?:\.[0-9]+|[0-9_]+(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)` +
	`)$`)

// checkYAMLEdit re-reads edited content and verifies that its node tree
// is the one before the edit with the target scalar's value replaced, at
// the same position and in the same style, and that only the spliced bytes
// changed.
func checkYAMLEdit(orig []byte, before *yaml.Node, edited []byte, target *yaml.Node, value string, ss []splice) error {
	if _, err := checkSplices(orig, edited, ss); err != nil {
		return err
	}
	after, err := decodeYAMLDoc(edited)
	if err != nil {
		return fmt.Errorf("%w: edited content does not read back: %v", errInternal, err)
	}
	found := false
	var cmp func(b, a *yaml.Node) error
	cmp = func(b, a *yaml.Node) error {
		want := b.Value
		if b == target {
			found = true
			want = value
			if a.Line != b.Line || a.Column != b.Column {
				return fmt.Errorf("%w: edited scalar moved from %d:%d to %d:%d", errInternal, b.Line, b.Column, a.Line, a.Column)
			}
		}
		if a.Kind != b.Kind || a.Style != b.Style || a.Tag != b.Tag || a.Value != want || a.Anchor != b.Anchor ||
			a.HeadComment != b.HeadComment || a.LineComment != b.LineComment || a.FootComment != b.FootComment ||
			len(a.Content) != len(b.Content) {
			return fmt.Errorf("%w: node at line %d changed (%v %s %q -> %v %s %q)", errInternal, b.Line, b.Kind, b.Tag, b.Value, a.Kind, a.Tag, a.Value)
		}
		if (a.Alias == nil) != (b.Alias == nil) {
			return fmt.Errorf("%w: alias at line %d changed", errInternal, b.Line)
		}
		for i := range b.Content {
			if err := cmp(b.Content[i], a.Content[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := cmp(before, after); err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: edited scalar not found", errInternal)
	}
	return nil
}

// yamlToken is where a scalar's token is in the content.
type yamlToken struct {
	start, end int
	quote      byte // 0 (plain), '"' or '\''
}

// yamlLocator finds scalar tokens in the content.
type yamlLocator struct{ *yamlpos.Lines }

func newYAMLLocator(content []byte) *yamlLocator { return &yamlLocator{yamlpos.NewLines(content)} }

// locate returns the byte range of scalar n's token: for a quoted scalar,
// from its opening to its closing quote; for a plain one, its text, which
// must be on one line.
func (l *yamlLocator) locate(n *yaml.Node) (yamlToken, error) {
	fail := func(why string) (yamlToken, error) {
		return yamlToken{}, fmt.Errorf("%w: cannot locate the scalar: %s", errInternal, why)
	}
	off, err := l.Offset(n.Line, n.Column)
	if err != nil {
		return fail(err.Error())
	}
	rest := l.Content[off:]
	if len(rest) > 0 && rest[0] == '!' {
		// A non-specific tag ("! value") is not flagged as tagged.
		return yamlToken{}, errors.New("scalar has a tag; not supported")
	}
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		if len(rest) == 0 || rest[0] != '"' {
			return fail("double quote not found at its position")
		}
		for i := 1; i < len(rest); i++ {
			switch rest[i] {
			case '\\':
				i++ // skip the escaped character (or its first byte)
			case '"':
				return yamlToken{off, off + i + 1, '"'}, nil
			}
		}
		return fail("closing double quote not found")
	case n.Style&yaml.SingleQuotedStyle != 0:
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
			return yamlToken{off, off + i + 1, '\''}, nil
		}
		return fail("closing single quote not found")
	default:
		if !bytes.HasPrefix(rest, []byte(n.Value)) || n.Value == "" {
			// The text differs from the value when a plain scalar is
			// folded over several lines.
			return yamlToken{}, errors.New("plain scalar spans several lines; not supported")
		}
		return yamlToken{off, off + len(n.Value), 0}, nil
	}
}
