package trafficfile

import (
	"bytes"
	"fmt"
	"strings"
)

// SetNginxUpstream returns content with the host of each server in the
// nginx block `upstream <upstream> { ... }` whose host is oldHost replaced
// by newHost; every other byte is unchanged.
//
// A server line is `server <address> [params];`, with the address
// host[:port]. oldHost is compared with each server's host ignoring ASCII
// case and a trailing dot; if oldHost has a port ("host:8080") only
// servers with that explicit port match. Only the host is replaced, so
// the port and every parameter (weight=5, max_fails=3, backup, ...) stay
// as written, unless newHost has a port too: then the whole address
// becomes newHost. A server whose host is already newHost is left as
// written, so setting a value to the one it has returns identical bytes.
//
// The upstream must be defined exactly once in the file, in any context
// (http, stream or top level of an included file), and must have at least
// one matching server; include directives are not followed. Both hosts
// must be host names, with an optional :port.
func SetNginxUpstream(content []byte, upstream, oldHost, newHost string) ([]byte, error) {
	if err := checkUpstreamName(upstream); err != nil {
		return nil, err
	}
	if err := checkHost("old host", oldHost, true); err != nil {
		return nil, err
	}
	if err := checkHost("new host", newHost, true); err != nil {
		return nil, err
	}
	f, err := parseNginx(content)
	if err != nil {
		return nil, err
	}
	up, err := f.upstream(upstream)
	if err != nil {
		return nil, err
	}
	servers := f.servers(up)
	oh, op := splitHostPort(oldHost)
	nh, np := splitHostPort(newHost)
	var ss []splice
	want := make([]string, len(servers)) // each server's address after the edit
	matched := 0
	for i, s := range servers {
		want[i] = s.addr
		if !s.ok || !hostsEqual(s.host, oh) || op != "" && s.port != op {
			continue
		}
		matched++
		if s.addrStart < 0 {
			return nil, fmt.Errorf("line %d: upstream %q: server address %s is written with escapes; edit it by hand", s.line, upstream, f.raw(s.word))
		}
		if hostsEqual(s.host, nh) && (np == "" || s.port == np) {
			continue // already there
		}
		if np == "" {
			ss = append(ss, splice{s.addrStart, s.addrStart + len(s.host), []byte(nh)})
			want[i] = nh + s.addr[len(s.host):]
		} else {
			ss = append(ss, splice{s.addrStart, s.addrStart + len(s.addr), []byte(newHost)})
			want[i] = newHost
		}
	}
	if matched == 0 {
		have := "none"
		if len(servers) > 0 {
			addrs := make([]string, len(servers))
			for i, s := range servers {
				addrs[i] = s.addr
			}
			have = strings.Join(addrs, ", ")
		}
		return nil, errorf(ErrNotFound, "line %d: upstream %q has no server %s (its servers: %s)", up.line, upstream, oldHost, have)
	}
	if len(ss) == 0 {
		return bytes.Clone(content), nil
	}
	out, err := applySplices(content, ss)
	if err != nil {
		return nil, err
	}
	if err := checkNginxEdit(f, out, upstream, servers, want, ss); err != nil {
		return nil, refuse(err)
	}
	return out, nil
}

// checkUpstreamName checks an upstream name argument.
func checkUpstreamName(name string) error {
	if name == "" {
		return errorf(ErrInvalidInput, "upstream name is empty")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c == 0x7f || strings.IndexByte("\"'\\;{}#$", c) >= 0 {
			return errorf(ErrInvalidInput, "upstream name %q contains %s", name, describeByte(c))
		}
	}
	return nil
}

// splitHostPort splits "host:port" (as checked by checkHost) into its
// parts; port is "" if there is none.
func splitHostPort(h string) (host, port string) {
	if i := strings.IndexByte(h, ':'); i >= 0 {
		return h[:i], h[i+1:]
	}
	return h, ""
}

// hostsEqual compares host names as DNS does: ignoring ASCII case (only:
// strings.EqualFold would match the Kelvin sign to 'k') and a trailing dot.
func hostsEqual(a, b string) bool {
	a, b = strings.TrimSuffix(a, "."), strings.TrimSuffix(b, ".")
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// checkNginxEdit re-reads edited content and verifies that it has the same
// tokens as before, that the upstream's servers have exactly the wanted
// addresses and unchanged parameters, and that only the spliced bytes
// changed.
func checkNginxEdit(before *nginxFile, edited []byte, upstream string, servers []nginxServer, want []string, ss []splice) error {
	if _, err := checkSplices(before.content, edited, ss); err != nil {
		return err
	}
	after, err := parseNginx(edited)
	if err != nil {
		return fmt.Errorf("%w: edited content does not parse: %v", errInternal, err)
	}
	if len(after.tokens) != len(before.tokens) {
		return fmt.Errorf("%w: edited content has %d tokens, want %d", errInternal, len(after.tokens), len(before.tokens))
	}
	for i, t := range after.tokens {
		if t.kind != before.tokens[i].kind {
			return fmt.Errorf("%w: token %d changed kind", errInternal, i)
		}
	}
	up, err := after.upstream(upstream)
	if err != nil {
		return fmt.Errorf("%w: edited content: %v", errInternal, err)
	}
	got := after.servers(up)
	if len(got) != len(servers) {
		return fmt.Errorf("%w: upstream has %d servers, want %d", errInternal, len(got), len(servers))
	}
	for i, s := range got {
		if s.addr != want[i] {
			return fmt.Errorf("%w: server %d is %q, want %q", errInternal, i+1, s.addr, want[i])
		}
		if len(s.params) != len(servers[i].params) {
			return fmt.Errorf("%w: server %q parameters changed", errInternal, s.addr)
		}
		for j, p := range s.params {
			if p != servers[i].params[j] {
				return fmt.Errorf("%w: server %q parameter %q changed to %q", errInternal, s.addr, servers[i].params[j], p)
			}
		}
	}
	return nil
}

// nginx syntax: a port of the tokenizer in nginx's ngx_conf_file.c, which
// splits a file into words, ';', '{' and '}' and skips comments.

type nginxTokenKind int

const (
	nginxWord  nginxTokenKind = iota
	nginxSemi                 // ;
	nginxOpen                 // {
	nginxClose                // }
)

type nginxToken struct {
	kind       nginxTokenKind
	start, end int    // raw bytes, with the quotes of a quoted word
	value      string // a word's value, quotes removed and escapes applied
	quote      byte   // '"' or '\'' for a quoted word
	escaped    bool   // the raw word has a backslash
}

// nginxDirective is a directive: its words (the name first), and its block
// if it has one instead of a ';'.
type nginxDirective struct {
	words    []nginxToken
	line     int
	hasBlock bool
	block    []*nginxDirective
}

type nginxFile struct {
	content []byte
	lines   lineIndex
	tokens  []nginxToken
	top     []*nginxDirective
}

func (f *nginxFile) raw(t nginxToken) string { return string(f.content[t.start:t.end]) }

// parseNginx reads content as an nginx configuration file (or a file that
// one includes).
func parseNginx(content []byte) (*nginxFile, error) {
	f := &nginxFile{content: content, lines: newLineIndex(content)}
	if err := f.tokenize(); err != nil {
		return nil, err
	}
	pos := 0
	top, err := f.parseBlock(&pos, -1)
	if err != nil {
		return nil, err
	}
	f.top = top
	return f, nil
}

func isNginxSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func (f *nginxFile) tokenize() error {
	c := f.content
	for i := 0; i < len(c); {
		switch ch := c[i]; {
		case isNginxSpace(ch):
			i++
		case ch == '#':
			for i < len(c) && c[i] != '\n' {
				i++
			}
		case ch == ';' || ch == '{' || ch == '}':
			kind := nginxSemi
			if ch == '{' {
				kind = nginxOpen
			} else if ch == '}' {
				kind = nginxClose
			}
			f.tokens = append(f.tokens, nginxToken{kind: kind, start: i, end: i + 1})
			i++
		case ch == '"' || ch == '\'':
			t := nginxToken{kind: nginxWord, start: i, quote: ch}
			j := i + 1
			for ; j < len(c) && c[j] != ch; j++ {
				if c[j] == '\\' {
					t.escaped = true
					j++
				}
			}
			if j >= len(c) {
				return fmt.Errorf("line %d: unexpected end of file in a quoted string", f.lines.line(i))
			}
			j++
			if j < len(c) && !isNginxSpace(c[j]) && c[j] != ';' && c[j] != '{' && c[j] != ')' {
				return fmt.Errorf("line %d: unexpected %q after a quoted string", f.lines.line(j), c[j])
			}
			t.end = j
			t.value = nginxUnescape(c[i+1 : j-1])
			f.tokens = append(f.tokens, t)
			i = j
		default:
			t := nginxToken{kind: nginxWord, start: i}
			j := i
			variable := false
		word:
			for j < len(c) {
				d := c[j]
				if d == '{' && variable {
					j++
					continue
				}
				variable = false
				switch {
				case d == '\\':
					t.escaped = true
					j += 2
				case d == '$':
					variable = true
					j++
				case isNginxSpace(d) || d == ';' || d == '{':
					break word
				default:
					j++
				}
			}
			if j > len(c) {
				return fmt.Errorf("line %d: unexpected end of file after a backslash", f.lines.line(len(c)))
			}
			t.end = j
			t.value = nginxUnescape(c[i:j])
			f.tokens = append(f.tokens, t)
			i = j
		}
	}
	return nil
}

// nginxUnescape applies the escapes nginx applies to a word: \" \' \\ give
// the character, \t \r \n give tab, CR and LF; any other backslash stays.
func nginxUnescape(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) {
			switch raw[i+1] {
			case '"', '\'', '\\':
				i++
			case 't':
				b.WriteByte('\t')
				i++
				continue
			case 'r':
				b.WriteByte('\r')
				i++
				continue
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			}
		}
		b.WriteByte(raw[i])
	}
	return b.String()
}

// parseBlock reads directives from tokens[*pos] up to the '}' closing the
// block opened by the token at index open (or to the end of the file for
// the top level, open < 0).
func (f *nginxFile) parseBlock(pos *int, open int) ([]*nginxDirective, error) {
	var out []*nginxDirective
	var cur *nginxDirective
	for *pos < len(f.tokens) {
		t := f.tokens[*pos]
		*pos++
		line := f.lines.line(t.start)
		switch t.kind {
		case nginxWord:
			if cur == nil {
				cur = &nginxDirective{line: line}
			}
			cur.words = append(cur.words, t)
		case nginxSemi:
			if cur == nil {
				return nil, fmt.Errorf("line %d: unexpected \";\"", line)
			}
			out = append(out, cur)
			cur = nil
		case nginxOpen:
			if cur == nil {
				return nil, fmt.Errorf("line %d: unexpected \"{\"", line)
			}
			block, err := f.parseBlock(pos, *pos-1)
			if err != nil {
				return nil, err
			}
			cur.hasBlock, cur.block = true, block
			out = append(out, cur)
			cur = nil
		case nginxClose:
			if cur != nil || open < 0 {
				return nil, fmt.Errorf("line %d: unexpected \"}\"", line)
			}
			return out, nil
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: unexpected end of file, expecting \";\" or \"}\"", cur.line)
	}
	if open >= 0 {
		return nil, fmt.Errorf("line %d: unexpected end of file, expecting \"}\" to close the block opened here", f.lines.line(f.tokens[open].start))
	}
	return out, nil
}

// upstream returns the one `upstream <name> { ... }` block in the file.
func (f *nginxFile) upstream(name string) (*nginxDirective, error) {
	var found []*nginxDirective
	var names []string
	var walk func([]*nginxDirective)
	walk = func(ds []*nginxDirective) {
		for _, d := range ds {
			if d.hasBlock && len(d.words) == 2 && d.words[0].value == "upstream" {
				names = append(names, d.words[1].value)
				if d.words[1].value == name {
					found = append(found, d)
				}
				continue
			}
			walk(d.block)
		}
	}
	walk(f.top)
	switch len(found) {
	case 0:
		return nil, errorf(ErrNotFound, "no upstream %q (upstreams in file: %s)", name, quoteList(names))
	case 1:
		return found[0], nil
	default:
		lines := make([]string, len(found))
		for i, d := range found {
			lines[i] = fmt.Sprint(d.line)
		}
		return nil, errorf(ErrAmbiguous, "line %d: upstream %q is defined %d times (lines %s)", found[1].line, name, len(found), strings.Join(lines, ", "))
	}
}

// nginxServer is a `server <address> [params];` line of an upstream.
type nginxServer struct {
	line       int
	word       nginxToken // the address word
	addr       string     // the address value
	addrStart  int        // offset of the address value in content, or -1 if it has escapes
	host, port string     // the address split; ok is false for unix: and IPv6 addresses
	ok         bool
	params     []string // the raw parameter words
}

// servers returns the server lines of an upstream block, in file order.
func (f *nginxFile) servers(up *nginxDirective) []nginxServer {
	var out []nginxServer
	for _, d := range up.block {
		if d.hasBlock || len(d.words) < 2 || d.words[0].value != "server" {
			continue
		}
		w := d.words[1]
		s := nginxServer{line: d.line, word: w, addr: w.value, addrStart: w.start}
		switch {
		case w.escaped:
			s.addrStart = -1
		case w.quote != 0:
			s.addrStart = w.start + 1
		}
		for _, p := range d.words[2:] {
			s.params = append(s.params, f.raw(p))
		}
		s.host, s.port, s.ok = splitNginxAddress(s.addr)
		out = append(out, s)
	}
	return out
}

// splitNginxAddress splits a server address into host and port. ok is
// false for addresses that have no host name: unix sockets and IPv6.
func splitNginxAddress(a string) (host, port string, ok bool) {
	if strings.HasPrefix(a, "unix:") || strings.HasPrefix(a, "[") {
		return "", "", false
	}
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return a, "", true
	}
	if strings.IndexByte(a[:i], ':') >= 0 {
		return "", "", false
	}
	return a[:i], a[i+1:], true
}
