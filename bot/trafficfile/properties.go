package trafficfile

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
)

// SetProperty returns content, a Java .properties file, with the value of
// key set to value; every other byte is unchanged.
//
// The file is read exactly as java.util.Properties.load reads it: comment
// lines start with '#' or '!', a key ends at the first unescaped '=', ':'
// or whitespace (so "key=value", "key = value", "key:value" and
// "key value" all work), escapes (\=, \:, \ , \uXXXX, ...) in keys are
// decoded before key is compared, and a line ending in an odd number of
// backslashes continues on the next line. The key must be set exactly once
// in the file.
//
// Only the value's bytes are replaced, from its first character to the end
// of its logical line: the key, the separator and the spacing around it
// stay as written. The value's bytes include trailing whitespace (Java
// reads it as part of the value) and, for a value continued over several
// lines, the continuation lines; both are replaced, as the value must read
// back as exactly value. If the old value escapes ':', '=', '#' or '!'
// (as in "https\://host\:443"), the new value has those escaped too;
// nothing else is escaped. Setting a value to the one it has returns
// identical bytes.
//
// value must be letters, digits and URL characters (see checkValue).
func SetProperty(content []byte, key, value string) ([]byte, error) {
	if key == "" {
		return nil, errorf(ErrInvalidInput, "key is empty")
	}
	if err := checkValue(value); err != nil {
		return nil, err
	}
	lines := newLineIndex(content)
	props, err := readProperties(content, lines)
	if err != nil {
		return nil, err
	}
	i, err := findProperty(props, key)
	if err != nil {
		return nil, err
	}
	p := props[i]
	if p.value == value {
		return bytes.Clone(content), nil
	}
	if !p.hasSep && p.valueStart == p.keyEnd {
		return nil, fmt.Errorf("line %d: key %q has no separator and no value; write %q first", p.line, key, key+"=")
	}
	raw := escapeLike(value, content[p.valueStart:p.valueEnd])
	if !p.hasSep && (raw[0] == '=' || raw[0] == ':') {
		return nil, fmt.Errorf("line %d: key %q has no '=' or ':' separator, so a value starting with %q would be read as one", p.line, key, raw[0])
	}
	ss := []splice{{p.valueStart, p.valueEnd, raw}}
	out, err := applySplices(content, ss)
	if err != nil {
		return nil, err
	}
	if err := checkPropertyEdit(content, out, props, i, value, ss); err != nil {
		return nil, refuse(err)
	}
	return out, nil
}

// escapeLike returns value written the way the old raw value writes its
// separators and comment characters: if the old value escapes ':' as
// "\:" (as Properties.store does, and "https\://host\:443" is common),
// the new value's ':' are escaped too; likewise '=', '#' and '!'. Either
// way the value reads the same; this keeps the line's style.
func escapeLike(value string, old []byte) []byte {
	var escaped [256]bool
	for i := 0; i+1 < len(old); i++ {
		if old[i] == '\\' {
			escaped[old[i+1]] = true
			i++
		}
	}
	out := make([]byte, 0, len(value)+8)
	for i := 0; i < len(value); i++ {
		c := value[i]
		if escaped[c] && (c == ':' || c == '=' || c == '#' || c == '!') {
			out = append(out, '\\')
		}
		out = append(out, c)
	}
	return out
}

// property is one key-value pair read from a .properties file.
type property struct {
	key, value string
	line       int  // line of the logical line's first character
	hasSep     bool // a '=' or ':' separates the key from the value
	// keyEnd is the offset just after the key's last byte. The value's
	// bytes (with any continuations and trailing whitespace) are
	// content[valueStart:valueEnd]; for an empty value the span is empty
	// or holds only a dropped trailing backslash or continuations.
	keyEnd, valueStart, valueEnd int
}

func findProperty(props []property, key string) (int, error) {
	found := -1
	for i, p := range props {
		if p.key != key {
			continue
		}
		if found >= 0 {
			return -1, errorf(ErrAmbiguous, "line %d: key %q is set more than once (first at line %d)", p.line, key, props[found].line)
		}
		found = i
	}
	if found < 0 {
		return -1, errorf(ErrNotFound, "no key %q in file", key)
	}
	return found, nil
}

// checkPropertyEdit re-reads edited content and verifies that it has the
// same keys and values as before, in the same order, except that property
// i now has the new value, and that only the spliced bytes changed.
func checkPropertyEdit(orig, edited []byte, before []property, i int, value string, ss []splice) error {
	if _, err := checkSplices(orig, edited, ss); err != nil {
		return err
	}
	after, err := readProperties(edited, newLineIndex(edited))
	if err != nil {
		return fmt.Errorf("%w: edited content does not read back: %v", errInternal, err)
	}
	if len(after) != len(before) {
		return fmt.Errorf("%w: edited content has %d keys, want %d", errInternal, len(after), len(before))
	}
	for j, a := range after {
		want := before[j].value
		if j == i {
			want = value
		}
		if a.key != before[j].key || a.value != want {
			return fmt.Errorf("%w: entry %d reads back as %q=%q, want %q=%q", errInternal, j+1, a.key, a.value, before[j].key, want)
		}
	}
	return nil
}

// logicalLine is a logical line of a .properties file: its characters
// with continuations removed, and where each of them is in the content.
type logicalLine struct {
	buf   []byte
	raw   []int // raw[k] is the offset of buf[k]
	first int   // offset of the line's first character (even if dropped)
	end   int   // offset just after the line's last byte, before its line break
	line  int
}

// readProperties reads every key-value pair in a .properties file, in file
// order. It follows java.util.Properties.load(InputStream): bytes are
// characters (the file is read as ISO-8859-1 there; here bytes outside
// ASCII are kept as they are, so a UTF-8 file's keys compare as UTF-8).
func readProperties(content []byte, lines lineIndex) ([]property, error) {
	var out []property
	off := 0
	for {
		l, ok := readLogicalLine(content, &off)
		if !ok {
			return out, nil
		}
		l.line = lines.line(l.first)
		p, err := parseLogicalLine(l)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
}

// readLogicalLine reads the next logical line from content[*off:], like
// LineReader.readLine in java.util.Properties: it skips blank lines,
// comment lines and leading whitespace, and joins a line that ends in an
// odd number of backslashes to the next one, dropping that backslash, the
// line break and the next line's leading whitespace.
func readLogicalLine(content []byte, off *int) (logicalLine, bool) {
	l := logicalLine{first: -1}
	skipWhiteSpace := true
	appendedLineBegin := false
	precedingBackslash := false
	dropBackslash := func() {
		l.buf = l.buf[:len(l.buf)-1]
		l.raw = l.raw[:len(l.raw)-1]
	}
	for {
		if *off >= len(content) {
			if len(l.buf) == 0 {
				return l, false
			}
			if precedingBackslash {
				dropBackslash()
			}
			l.end = len(content)
			return l, true
		}
		c := content[*off]
		*off++
		if skipWhiteSpace {
			if c == ' ' || c == '\t' || c == '\f' {
				continue
			}
			if !appendedLineBegin && (c == '\r' || c == '\n') {
				continue
			}
			skipWhiteSpace = false
			appendedLineBegin = false
		}
		if len(l.buf) == 0 && (c == '#' || c == '!') {
			// A comment: skip to and past the end of the line.
			for *off < len(content) && content[*off] != '\r' && content[*off] != '\n' {
				*off++
			}
			if *off < len(content) {
				*off++
			}
			skipWhiteSpace = true
			continue
		}
		if c != '\n' && c != '\r' {
			if l.first < 0 {
				l.first = *off - 1
			}
			l.buf = append(l.buf, c)
			l.raw = append(l.raw, *off-1)
			precedingBackslash = c == '\\' && !precedingBackslash
			continue
		}
		// A line break.
		if len(l.buf) == 0 {
			skipWhiteSpace = true
			continue
		}
		eol := *off - 1
		if *off >= len(content) {
			if precedingBackslash {
				dropBackslash()
			}
			l.end = eol
			return l, true
		}
		if !precedingBackslash {
			l.end = eol
			return l, true
		}
		dropBackslash()
		skipWhiteSpace = true
		appendedLineBegin = true
		precedingBackslash = false
		if c == '\r' && content[*off] == '\n' {
			*off++
		}
	}
}

func isPropSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// parseLogicalLine splits a logical line into key and value like
// Properties.load0, and decodes their escapes.
func parseLogicalLine(l logicalLine) (property, error) {
	buf := l.buf
	p := property{line: l.line}
	if len(buf) == 0 {
		// A line of just a backslash: Java reads it as an empty key with
		// an empty value.
		p.keyEnd, p.valueStart, p.valueEnd = l.first, l.first, l.end
		return p, nil
	}
	keyLen := 0
	valueStart := len(buf)
	precedingBackslash := false
	for keyLen < len(buf) {
		c := buf[keyLen]
		if (c == '=' || c == ':') && !precedingBackslash {
			valueStart = keyLen + 1
			p.hasSep = true
			break
		}
		if isPropSpace(c) && !precedingBackslash {
			valueStart = keyLen + 1
			break
		}
		precedingBackslash = c == '\\' && !precedingBackslash
		keyLen++
	}
	for valueStart < len(buf) {
		c := buf[valueStart]
		if !isPropSpace(c) {
			if p.hasSep || c != '=' && c != ':' {
				break
			}
			p.hasSep = true
		}
		valueStart++
	}
	var err error
	if p.key, err = propUnescape(buf[:keyLen]); err != nil {
		return p, fmt.Errorf("line %d: key: %v", l.line, err)
	}
	if p.value, err = propUnescape(buf[valueStart:]); err != nil {
		return p, fmt.Errorf("line %d: value of key %q: %v", l.line, p.key, err)
	}
	// Offsets: the key ends after its last character; the value starts at
	// its first character or, if it is empty, just after the last
	// character of the logical line; both run to the end of the line.
	p.keyEnd = l.raw[0]
	if keyLen > 0 {
		p.keyEnd = l.raw[keyLen-1] + 1
	}
	if valueStart < len(buf) {
		p.valueStart = l.raw[valueStart]
	} else {
		p.valueStart = l.raw[len(buf)-1] + 1
	}
	p.valueEnd = l.end
	return p, nil
}

// propUnescape decodes the escapes of a key or value (loadConvert in
// java.util.Properties): \t \n \r \f, \uXXXX (with UTF-16 surrogate pairs
// combined) and \x for any other x.
func propUnescape(s []byte) (string, error) {
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s), nil
	}
	var b strings.Builder
	var units []uint16 // pending \u escapes, decoded together as UTF-16
	flush := func() {
		for _, r := range utf16.Decode(units) {
			b.WriteRune(r)
		}
		units = units[:0]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			flush()
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			// Not possible after readLogicalLine (it drops a trailing
			// backslash); Java would read past the end.
			return "", fmt.Errorf("ends in a backslash")
		}
		c = s[i]
		if c == 'u' {
			if i+4 >= len(s) {
				return "", fmt.Errorf("malformed \\uxxxx escape %q", s[i-1:])
			}
			var u uint16
			for _, h := range s[i+1 : i+5] {
				var d byte
				switch {
				case h >= '0' && h <= '9':
					d = h - '0'
				case h >= 'a' && h <= 'f':
					d = h - 'a' + 10
				case h >= 'A' && h <= 'F':
					d = h - 'A' + 10
				default:
					return "", fmt.Errorf("malformed \\uxxxx escape %q", s[i-1:i+5])
				}
				u = u<<4 | uint16(d)
			}
			units = append(units, u)
			i += 4
			continue
		}
		flush()
		switch c {
		case 't':
			c = '\t'
		case 'r':
			c = '\r'
		case 'n':
			c = '\n'
		case 'f':
			c = '\f'
		}
		b.WriteByte(c)
	}
	flush()
	return b.String(), nil
}
