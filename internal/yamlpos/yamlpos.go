// Package yamlpos is what the byte-preserving YAML editors share: strict
// decoding of exactly one document, and turning yaml.v3's node positions
// into byte offsets in the original content, so an edit can splice new
// bytes in place of one token and leave every other byte alone.
package yamlpos

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// DecodeOne parses content as exactly one YAML document and returns the
// document node (Kind DocumentNode, one child).
func DecodeOne(content []byte) (doc *yaml.Node, err error) {
	if !utf8.Valid(content) {
		return nil, errors.New("not YAML: content is not valid UTF-8")
	}
	defer func() {
		// yaml.v3 recovers its own panics; anything else escaping it is
		// still a parse failure of this input, not a reason to take the
		// bot down.
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("not YAML: parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(content))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("not YAML: no document in content")
		}
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, fmt.Errorf("not YAML: %w", err)
	default:
		return nil, fmt.Errorf("line %d: a second YAML document; want exactly one", extra.Line)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, errors.New("not YAML: no document in content")
	}
	return &root, nil
}

// Lines turns yaml.v3 node positions (1-based line, and 1-based column
// counted in characters) into byte offsets in the content, following the
// YAML scanner's idea of a line break: LF, CR, CRLF, NEL, LS and PS. A
// UTF-8 byte order mark at the very start is not counted.
type Lines struct {
	Content []byte
	// Starts holds the byte offset at which each line starts.
	Starts []int
}

// NewLines indexes content's lines.
func NewLines(content []byte) *Lines {
	base := 0
	if bytes.HasPrefix(content, []byte("\xef\xbb\xbf")) {
		base = 3
	}
	starts := []int{base}
	for i := base; i < len(content); {
		switch c := content[i]; {
		case c == '\r' && i+1 < len(content) && content[i+1] == '\n':
			i += 2
		case c == '\r' || c == '\n':
			i++
		case c == 0xC2 && i+1 < len(content) && content[i+1] == 0x85:
			i += 2
		case c == 0xE2 && i+2 < len(content) && content[i+1] == 0x80 && (content[i+2] == 0xA8 || content[i+2] == 0xA9):
			i += 3
		default:
			i++
			continue
		}
		starts = append(starts, i)
	}
	return &Lines{Content: content, Starts: starts}
}

// Offset returns the byte offset of a position; the error says why a
// position is not in the content.
func (l *Lines) Offset(line, col int) (int, error) {
	if line < 1 || line > len(l.Starts) || col < 1 {
		return 0, errors.New("position out of range")
	}
	off := l.Starts[line-1]
	for c := 1; c < col; c++ {
		if off >= len(l.Content) {
			return 0, errors.New("column past end of content")
		}
		_, size := utf8.DecodeRune(l.Content[off:])
		off += size
	}
	return off, nil
}
