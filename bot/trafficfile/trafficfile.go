// Package trafficfile edits the files that decide where a service's
// traffic goes, for the cutover step of a migration, and finds what still
// points at the old side before it is decommissioned.
//
// Proxy mode edits the proxy in front of the service so that it sends
// traffic to the new weighted DNS entry:
//
//   - nginx: the host of a server line in an upstream block
//     (SetNginxUpstream, nginx.go);
//   - Mule proxy: a key in a Java .properties file (SetProperty,
//     properties.go) or a scalar in a YAML file (SetYAMLValue, yaml.go);
//   - Fastly, in Terraform: the address of a named backend of a
//     fastly_service_vcl or fastly_service_compute resource
//     (SetFastlyBackendAddress, terraform.go).
//
// CNAME mode turns the service's public Route53 record, in Terraform, into
// a CNAME of the new entry (SetCNAME, terraform.go).
//
// Every edit is surgical: the new value is spliced into the original bytes
// in place of the old value's token, so the pull request changes exactly
// those bytes, and comments, ordering, whitespace, quoting and line endings
// all survive. Every editor follows the same rules:
//
//   - on any error it returns nil and an error saying what is wrong, with
//     the line where there is one; never a partial edit;
//   - a target that is not in the file is an error (wrapping ErrNotFound),
//     and so is a target that is there more than once (ErrAmbiguous);
//   - new values are validated first (ErrInvalidInput), so that an edit can
//     never inject syntax: host names are letters, digits, '-' and '.';
//   - setting a value equal to the current one returns identical bytes;
//   - the edited bytes are read back and checked to differ from the input
//     only in the intended value, which must read back as the new value;
//     an edit that fails this check is refused.
//
// References (references.go) finds the lines where a host name still
// appears, in any of these formats.
package trafficfile

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ErrNotFound is wrapped by the error an editor returns when what it was
// asked to edit (an upstream, a server, a key, a path, a backend, a
// resource) is not in the file.
var ErrNotFound = errors.New("not found")

// ErrAmbiguous is wrapped by the error an editor returns when what it was
// asked to edit is in the file more than once, so that an edit could change
// the wrong one.
var ErrAmbiguous = errors.New("ambiguous")

// ErrInvalidInput is wrapped by the error an editor returns when one of its
// arguments (not the file) is invalid: a host name with characters that
// could inject syntax, an empty key, a TTL out of range.
var ErrInvalidInput = errors.New("invalid input")

// kindError is an error with its own message that also matches one of the
// sentinel errors above with errors.Is, without repeating its text.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// errorf returns an error with the formatted message that wraps kind.
func errorf(kind error, format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: kind}
}

// errInternal marks a failed self-check: the edited content did not read
// back as expected. It is never expected; it exists so that an edit is
// refused rather than proposed when the format code has a bug.
var errInternal = errors.New("internal error")

// maxHostLen is the longest DNS name (without a trailing dot).
const maxHostLen = 253

// checkHost checks that h is a host name: dot-separated labels of 1 to 63
// letters, digits and '-', not starting or ending with '-', at most 253
// characters, optionally ending in a dot (a fully qualified name). With
// allowPort, h may end in ":port" with port a decimal number in 1..65535.
// Anything else (whitespace, quotes, ';', braces, '#', '$', '/') is
// rejected, so a checked host can be spliced into any of the formats here
// without changing the syntax around it. what names h in the error.
func checkHost(what, h string, allowPort bool) error {
	fail := func(format string, args ...any) error {
		return errorf(ErrInvalidInput, "%s %q: %s", what, h, fmt.Sprintf(format, args...))
	}
	if h == "" {
		return errorf(ErrInvalidInput, "%s is empty", what)
	}
	name := h
	if i := strings.IndexByte(h, ':'); i >= 0 {
		if !allowPort {
			return fail("a port is not allowed here; want a host name only")
		}
		name = h[:i]
		if err := checkPort(h[i+1:]); err != nil {
			return fail("%v", err)
		}
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isHostByte(c) {
			want := "letters, digits, '-' and '.'"
			if allowPort {
				want += " and an optional :port"
			}
			return fail("contains %s; want %s", describeByte(c), want)
		}
	}
	trimmed := strings.TrimSuffix(name, ".")
	if len(trimmed) > maxHostLen {
		return fail("longer than %d characters", maxHostLen)
	}
	for _, label := range strings.Split(trimmed, ".") {
		switch {
		case label == "":
			return fail("has an empty label")
		case len(label) > 63:
			return fail("has a label longer than 63 characters")
		case label[0] == '-' || label[len(label)-1] == '-':
			return fail("has a label that starts or ends with '-'")
		}
	}
	return nil
}

// checkPort checks a TCP port written as in "host:port".
func checkPort(p string) error {
	if p == "" {
		return errors.New("empty port after ':'")
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return fmt.Errorf("port %q is not a decimal number", p)
		}
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] == '0' {
		return fmt.Errorf("port %q is not in 1..65535", p)
	}
	return nil
}

func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// maxValueLen bounds a value for SetProperty and SetYAMLValue.
const maxValueLen = 2048

// isValueByte reports whether c may appear in a value for SetProperty or
// SetYAMLValue: letters, digits and the characters of a URL other than
// quotes, brackets, parentheses, '*', '!', '$' and ';'. Whitespace,
// backslashes, quotes, braces and control characters are never allowed, so
// a value can be spliced in verbatim: no format here needs it escaped.
func isValueByte(c byte) bool {
	return isHostByte(c) || strings.IndexByte("_~:/?#@%=&+,", c) >= 0
}

// checkValue checks a value for SetProperty or SetYAMLValue.
func checkValue(v string) error {
	if v == "" {
		return errorf(ErrInvalidInput, "new value is empty")
	}
	if len(v) > maxValueLen {
		return errorf(ErrInvalidInput, "new value is longer than %d bytes", maxValueLen)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isValueByte(c) {
			return errorf(ErrInvalidInput, "new value %q contains %s; want letters, digits and any of - . _ ~ : / ? # @ %% = & + ,", v, describeByte(c))
		}
	}
	return nil
}

// describeByte names a byte for an error message.
func describeByte(c byte) string {
	switch {
	case c == ' ':
		return "a space"
	case c == '\t':
		return "a tab"
	case c == '\n' || c == '\r':
		return "a line break"
	case c < 0x20 || c == 0x7f:
		return fmt.Sprintf("control character %#02x", c)
	case c >= 0x80:
		return "a non-ASCII character"
	default:
		return fmt.Sprintf("%q", rune(c))
	}
}

// lineIndex maps byte offsets in content to 1-based line numbers. A line
// ends at LF, at CRLF or at a CR not followed by LF.
type lineIndex []int // start offset of each line

func newLineIndex(content []byte) lineIndex {
	starts := lineIndex{0}
	for i := 0; i < len(content); i++ {
		switch content[i] {
		case '\n':
			starts = append(starts, i+1)
		case '\r':
			if i+1 < len(content) && content[i+1] == '\n' {
				i++
			}
			starts = append(starts, i+1)
		}
	}
	return starts
}

// line returns the 1-based line number of byte offset off.
func (l lineIndex) line(off int) int {
	return sort.Search(len(l), func(i int) bool { return l[i] > off })
}

// lineStart returns the offset of the start of the line holding off.
func (l lineIndex) lineStart(off int) int {
	return l[l.line(off)-1]
}

// splice is one replacement of content[start:end] by text.
type splice struct {
	start, end int
	text       []byte
}

// applySplices returns content with each splice applied. The splices must
// be sorted and must not overlap.
func applySplices(content []byte, ss []splice) ([]byte, error) {
	n := len(content)
	for i, s := range ss {
		if s.start < 0 || s.end < s.start || s.end > len(content) || i > 0 && s.start < ss[i-1].end {
			return nil, fmt.Errorf("%w: bad splice %d..%d", errInternal, s.start, s.end)
		}
		n += len(s.text) - (s.end - s.start)
	}
	out := make([]byte, 0, n)
	last := 0
	for _, s := range ss {
		out = append(out, content[last:s.start]...)
		out = append(out, s.text...)
		last = s.end
	}
	return append(out, content[last:]...), nil
}

// checkSplices verifies that edited is exactly orig with the splices
// applied (each edited span at the offsets it must land on), and returns
// where each splice's text lies in edited.
func checkSplices(orig, edited []byte, ss []splice) ([][2]int, error) {
	spans := make([][2]int, len(ss))
	prevO, prevE := 0, 0
	for i, s := range ss {
		gap := s.start - prevO
		if prevE+gap+len(s.text) > len(edited) || !bytes.Equal(orig[prevO:s.start], edited[prevE:prevE+gap]) {
			return nil, fmt.Errorf("%w: bytes before edit %d changed", errInternal, i+1)
		}
		at := prevE + gap
		if !bytes.Equal(edited[at:at+len(s.text)], s.text) {
			return nil, fmt.Errorf("%w: edit %d not in place", errInternal, i+1)
		}
		spans[i] = [2]int{at, at + len(s.text)}
		prevO, prevE = s.end, at+len(s.text)
	}
	if !bytes.Equal(orig[prevO:], edited[prevE:]) {
		return nil, fmt.Errorf("%w: bytes after the last edit changed", errInternal)
	}
	return spans, nil
}

// refuse wraps a failed self-check so that the caller sees the edit was
// refused and why.
func refuse(err error) error {
	return fmt.Errorf("edit did not verify, refusing it: %w", err)
}

// quoteList formats names as a quoted, comma-separated list for an error
// message, or "none".
func quoteList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// lineEnding returns the line ending used by the line holding off ("\r\n"
// or "\n"), falling back to the first line ending in content.
func lineEnding(content []byte, off int) string {
	if i := bytes.IndexByte(content[off:], '\n'); i >= 0 {
		if j := off + i; j > 0 && content[j-1] == '\r' {
			return "\r\n"
		}
		return "\n"
	}
	if i := bytes.IndexByte(content, '\n'); i > 0 && content[i-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}
