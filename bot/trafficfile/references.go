package trafficfile

import (
	"bytes"
	"strings"
)

// References returns the 1-based line numbers, in increasing order and
// each once, of the lines of content where host appears as a whole host
// name, for the check that nothing still points at the old side before it
// is decommissioned.
//
// It reads content as text, so it works for every format in this package
// (nginx, .properties, YAML, Terraform) and any other: a match is host,
// compared ignoring ASCII case, that is not part of a longer name, so
// neither preceded nor followed by a letter, digit, '-', '_' or a '.' that
// continues the name. "web-api.x" matches in "server web-api.x:443;",
// "https://web-api.x/", "\"web-api.x\"" and "web-api.x." (a fully
// qualified name), but not in "old-web-api.x", "a.web-api.x" or
// "web-api.x.y". host may have a trailing dot and, to find one port only,
// a ":port".
//
// Every occurrence counts, comments included: a comment naming the old
// host is worth a look before decommissioning it, and a false alarm is
// cheaper than a missed reference. A line is counted by LF, CRLF or a lone
// CR. An invalid host (see checkHost) has no references.
func References(content []byte, host string) []int {
	h := strings.TrimSuffix(host, ".")
	if i := strings.IndexByte(host, ':'); i >= 0 {
		h = strings.TrimSuffix(host[:i], ".") + host[i:]
	}
	if checkHost("host", h, true) != nil {
		return nil
	}
	needle := []byte(strings.ToLower(h))
	hay := asciiLower(content)
	var lines lineIndex
	var out []int
	for from := 0; ; {
		i := bytes.Index(hay[from:], needle)
		if i < 0 {
			break
		}
		i += from
		from = i + 1
		end := i + len(needle)
		if i > 0 && isNameByte(content[i-1]) {
			continue
		}
		if end < len(content) {
			c := content[end]
			if isNameByte(c) && c != '.' {
				continue
			}
			if c == '.' && end+1 < len(content) && isNameByte(content[end+1]) {
				continue // a longer name: host.more
			}
		}
		if lines == nil {
			lines = newLineIndex(content)
		}
		if n := lines.line(i); len(out) == 0 || out[len(out)-1] != n {
			out = append(out, n)
		}
	}
	return out
}

// isNameByte reports whether c can be part of a host name as written in
// a file; '_' counts, as it appears in some DNS names.
func isNameByte(c byte) bool { return isHostByte(c) || c == '_' }

// asciiLower returns a copy of b with ASCII letters lowered; every byte
// stays at its offset.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = lowerASCII(c)
	}
	return out
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
