package weightfile

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// RemoveYAML returns content without the named source's list item: its
// lines from the one with its "- " through its last line, comments on
// those lines included. Comment and blank lines before the "- " line or
// after the item's last line stay, and every other byte is unchanged.
//
// The sources list must be block style ("- " items); a flow-style list
// ([...]) is refused. The edit is also refused if the source is not in the
// file, if it is the only source, if an alias elsewhere refers to an anchor
// inside it, or with ErrAllZero if every remaining source would have weight
// 0. On any error RemoveYAML returns nil.
func RemoveYAML(content []byte, name string) ([]byte, error) {
	ws, err := parseYAMLWeights(content)
	if err != nil {
		return nil, err
	}
	at, err := planRemove(yamlSources(ws), nil, name)
	if err != nil {
		return nil, err
	}
	top, list, err := yamlSourcesList(content)
	if err != nil {
		return nil, err
	}
	start, end, err := yamlItemRange(content, top, list, at, name)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(content)-(end-start))
	out = append(append(out, content[:start]...), content[end:]...)
	if err := checkYAMLRemove(top, list, at, ws, out); err != nil {
		return nil, err
	}
	return out, nil
}

// yamlSourcesList returns the top-level node and the sources list of a
// file that parseYAMLWeights has accepted.
func yamlSourcesList(content []byte) (top, list *yaml.Node, err error) {
	top, err = decodeYAML(content)
	if err != nil {
		return nil, nil, err
	}
	m := resolveAlias(top)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := resolveAlias(m.Content[i]); k.Kind == yaml.ScalarNode && k.Value == "sources" {
			list = resolveAlias(m.Content[i+1])
		}
	}
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil, nil, fmt.Errorf("%w: sources list not found again", errInternal)
	}
	return top, list, nil
}

// yamlItemRange returns the byte range [start, end) of the whole lines of
// item at of the block-style list.
func yamlItemRange(content []byte, top, list *yaml.Node, at int, name string) (int, int, error) {
	item := list.Content[at]
	fail := func(line int, why string) (int, int, error) {
		return 0, 0, fmt.Errorf("line %d: cannot remove source %q exactly: %s; remove it by hand", line, name, why)
	}
	if list.Style&yaml.FlowStyle != 0 {
		return fail(list.Line, `"sources" is a flow-style list ([...]); only a block-style list ("- " items) can be edited`)
	}
	inItem := map[*yaml.Node]bool{}
	walkYAML(item, func(n *yaml.Node) { inItem[n] = true })
	var aliasErr error
	walkYAML(top, func(n *yaml.Node) {
		if aliasErr == nil && n.Kind == yaml.AliasNode && !inItem[n] && inItem[n.Alias] {
			aliasErr = fmt.Errorf("line %d: cannot remove source %q: the alias *%s at line %d refers to an anchor in it", item.Line, name, n.Value, n.Line)
		}
	})
	if aliasErr != nil {
		return 0, 0, aliasErr
	}

	lines := newYAMLLines(content)
	// Every item starts on a "- " line; all the dashes line up.
	dashLine := func(n *yaml.Node) (line, col int, ok bool) {
		li := n.Line - 1
		off, ok := lines.offset(li, n.Column)
		if !ok {
			return 0, 0, false
		}
		prefix := content[lines.start(li):off]
		if col, ok := dashPrefix(prefix); ok {
			return li, col, true
		}
		if !blank(prefix) {
			return 0, 0, false
		}
		for li--; li >= 0; li-- {
			text := lines.text(li)
			if t := bytes.TrimLeft(text, " \t"); len(t) == 0 || t[0] == '#' {
				continue
			}
			if col, ok := dashOnly(text); ok {
				return li, col, true
			}
			return 0, 0, false
		}
		return 0, 0, false
	}
	first, col, ok := dashLine(item)
	if !ok {
		return fail(item.Line, `cannot find the "- " that starts its list item`)
	}
	if at > 0 {
		prev, pcol, ok := dashLine(list.Content[at-1])
		if !ok || pcol != col || prev >= first {
			return fail(item.Line, "the list items' dashes do not line up")
		}
	}

	// The item ends before the next item's "- " line, or before whatever
	// follows the list.
	last := lines.count()
	if at+1 < len(list.Content) {
		next, ncol, ok := dashLine(list.Content[at+1])
		if !ok || ncol != col || next <= first {
			return fail(list.Content[at+1].Line, "the list items' dashes do not line up")
		}
		last = next
	} else {
		inList := map[*yaml.Node]bool{}
		var maxLine, maxCol int
		walkYAML(list, func(n *yaml.Node) {
			inList[n] = true
			if n.Line > maxLine || (n.Line == maxLine && n.Column > maxCol) {
				maxLine, maxCol = n.Line, n.Column
			}
		})
		after := 0
		walkYAML(top, func(n *yaml.Node) {
			if !inList[n] && (n.Line > maxLine || (n.Line == maxLine && n.Column > maxCol)) && (after == 0 || n.Line < after) {
				after = n.Line
			}
		})
		if after != 0 {
			if after == maxLine {
				return fail(after, "something follows the list on the item's last line")
			}
			last = after - 1
		} else {
			for li := first + 1; li < lines.count(); li++ {
				if isDocumentMarker(lines.text(li)) {
					last = li
					break
				}
			}
		}
	}

	// Comment and blank lines after the item's last line stay, but not
	// those that are part of a quoted or block scalar at its end.
	floor, err := yamlItemFloor(content, lines, item, last)
	if err != nil {
		return fail(item.Line, err.Error())
	}
	limit := last
	for last-1 > first && last-1 > floor {
		if t := bytes.TrimLeft(lines.text(last-1), " \t"); len(t) != 0 && t[0] != '#' {
			break
		}
		last--
	}

	// If the item before ends in a block scalar, the lines kept after this
	// item would follow that scalar and could join it: blank lines (part
	// of a |+ value) go with this item, and a comment indented deeper
	// than that item's keys is refused.
	if at > 0 {
		prev := list.Content[at-1]
		if n := lastYAMLNode(prev); n.Kind == yaml.ScalarNode && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			for last < limit && len(bytes.TrimLeft(lines.text(last), " \t")) == 0 {
				last++
			}
			if last < limit {
				text := lines.text(last)
				if indent := len(text) - len(bytes.TrimLeft(text, " ")); indent > yamlItemIndent(prev) {
					return fail(last+1, fmt.Sprintf("the comment on the line after it would become part of the block scalar at line %d", n.Line))
				}
			}
		}
	}
	return lines.start(first), lines.start(last), nil
}

// lastYAMLNode returns the node below n (or n) that starts last.
func lastYAMLNode(n *yaml.Node) *yaml.Node {
	last := n
	walkYAML(n, func(c *yaml.Node) {
		if c.Line > last.Line || (c.Line == last.Line && c.Column > last.Column) {
			last = c
		}
	})
	return last
}

// yamlItemIndent returns the indentation of a list item's keys.
func yamlItemIndent(item *yaml.Node) int {
	if item.Kind == yaml.MappingNode && len(item.Content) > 0 {
		return item.Content[0].Column - 1
	}
	return item.Column - 1
}

// yamlItemFloor returns the last line (0-based) that the item's content
// surely reaches: that of its last node; of the closing quote when that
// node is a quoted scalar; or, when it is a block scalar, the last line
// before limit that the scalar may own: it runs on over blank lines and
// lines indented deeper than the item's keys, "#" lines included.
func yamlItemFloor(content []byte, lines *yamlLines, item *yaml.Node, limit int) (int, error) {
	lastNode := lastYAMLNode(item)
	floor := lastNode.Line - 1
	if lastNode.Kind != yaml.ScalarNode {
		return floor, nil
	}
	switch {
	case lastNode.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		indent := yamlItemIndent(item)
		for floor+1 < limit {
			text := lines.text(floor + 1)
			t := bytes.TrimLeft(text, " ")
			if len(bytes.TrimLeft(t, " \t")) != 0 && len(text)-len(t) <= indent {
				break
			}
			floor++
		}
		return floor, nil
	case lastNode.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		q := byte('"')
		if lastNode.Style&yaml.SingleQuotedStyle != 0 {
			q = '\''
		}
		off, ok := lines.offset(floor, lastNode.Column)
		if !ok {
			return 0, fmt.Errorf("cannot locate the value at line %d", lastNode.Line)
		}
		// Skip a tag or anchor before the opening quote.
		for off < len(content) && content[off] != q && content[off] != '\n' && content[off] != '\r' {
			off++
		}
		if off >= len(content) || content[off] != q {
			return 0, fmt.Errorf("cannot locate the quoted value at line %d", lastNode.Line)
		}
		for i := off + 1; i < len(content); i++ {
			switch {
			case q == '"' && content[i] == '\\':
				i++
			case q == '\'' && content[i] == '\'' && i+1 < len(content) && content[i+1] == '\'':
				i++
			case content[i] == q:
				return lines.lineOf(i), nil
			}
		}
		return 0, fmt.Errorf("cannot find the end of the quoted value at line %d", lastNode.Line)
	}
	return floor, nil
}

// dashPrefix reports whether the text before an item's node is its "- "
// (spaces, a dash, then blanks), and the dash's byte column.
func dashPrefix(b []byte) (int, bool) {
	i := 0
	for i < len(b) && b[i] == ' ' {
		i++
	}
	if i >= len(b) || b[i] != '-' || i+1 >= len(b) || !blank(b[i+1:]) {
		return 0, false
	}
	return i, true
}

// dashOnly reports whether a line is only a dash, maybe with a comment,
// and the dash's byte column.
func dashOnly(b []byte) (int, bool) {
	i := 0
	for i < len(b) && b[i] == ' ' {
		i++
	}
	if i >= len(b) || b[i] != '-' {
		return 0, false
	}
	rest := b[i+1:]
	t := bytes.TrimLeft(rest, " \t")
	if len(t) == 0 || (t[0] == '#' && len(t) < len(rest)) {
		return i, true
	}
	return 0, false
}

// isDocumentMarker reports whether a line starts with "---" or "...".
func isDocumentMarker(b []byte) bool {
	if !bytes.HasPrefix(b, []byte("---")) && !bytes.HasPrefix(b, []byte("...")) {
		return false
	}
	return len(b) == 3 || b[3] == ' ' || b[3] == '\t'
}

// walkYAML calls fn for n and every node below it, not following aliases.
func walkYAML(n *yaml.Node, fn func(*yaml.Node)) {
	fn(n)
	for _, c := range n.Content {
		walkYAML(c, fn)
	}
}

// sameYAML reports whether b is a, with item skip of list left out,
// comparing kinds, tags, values, anchors and styles (not positions or
// comments).
func sameYAML(a, b, list *yaml.Node, skip int) bool {
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || a.Anchor != b.Anchor || a.Style != b.Style {
		return false
	}
	ac := a.Content
	if a == list {
		ac = append(append([]*yaml.Node{}, ac[:skip]...), ac[skip+1:]...)
	}
	if len(ac) != len(b.Content) {
		return false
	}
	for i := range ac {
		if !sameYAML(ac[i], b.Content[i], list, skip) {
			return false
		}
	}
	return true
}

// checkYAMLRemove verifies that edited reads back as the original document
// with item at of the sources list removed and every other node unchanged.
func checkYAMLRemove(top, list *yaml.Node, at int, before []yamlWeight, edited []byte) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: removal did not verify, refusing it: %s", errInternal, fmt.Sprintf(format, args...))
	}
	after, err := parseYAMLWeights(edited)
	if err != nil {
		return fail("edited content does not read back: %v", err)
	}
	want := make([]yamlWeight, 0, len(before)-1)
	want = append(append(want, before[:at]...), before[at+1:]...)
	if len(after) != len(want) {
		return fail("edited content has %d sources, want %d", len(after), len(want))
	}
	for i := range want {
		if after[i].source != want[i].source || after[i].quote != want[i].quote {
			return fail("source #%d is %+v, want %+v", i+1, after[i].source, want[i].source)
		}
	}
	doc, err := decodeYAML(edited)
	if err != nil {
		return fail("edited content does not decode: %v", err)
	}
	if !sameYAML(top, doc, list, at) {
		return fail("something besides the source changed")
	}
	return nil
}

// yamlLines splits content into lines the way the YAML scanner does.
type yamlLines struct {
	content []byte
	starts  []int
}

func newYAMLLines(content []byte) *yamlLines {
	return &yamlLines{content: content, starts: newYAMLLocator(content).Starts}
}

func (l *yamlLines) count() int { return len(l.starts) }

// start returns the offset of line li (0-based); li == count() is the end.
func (l *yamlLines) start(li int) int {
	if li >= len(l.starts) {
		return len(l.content)
	}
	return l.starts[li]
}

// text returns line li without its line break.
func (l *yamlLines) text(li int) []byte {
	t := l.content[l.start(li):l.start(li+1)]
	for _, brk := range []string{"\r\n", "\n", "\r", "\u0085", "\u2028", "\u2029"} {
		if bytes.HasSuffix(t, []byte(brk)) {
			return t[:len(t)-len(brk)]
		}
	}
	return t
}

// lineOf returns the line (0-based) holding offset off.
func (l *yamlLines) lineOf(off int) int {
	li := 0
	for li+1 < len(l.starts) && l.starts[li+1] <= off {
		li++
	}
	return li
}

// offset returns the byte offset of 1-based character column col of line
// li (0-based).
func (l *yamlLines) offset(li, col int) (int, bool) {
	if li < 0 || li >= len(l.starts) || col < 1 {
		return 0, false
	}
	off := l.starts[li]
	for c := 1; c < col; c++ {
		if off >= len(l.content) {
			return 0, false
		}
		_, size := utf8.DecodeRune(l.content[off:])
		off += size
	}
	return off, true
}
