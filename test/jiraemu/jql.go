package jiraemu

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// jqlQuery is a parsed query: clauses joined by AND, and an ORDER BY.
type jqlQuery struct {
	clauses []clause
	order   []orderBy
}

type clause struct {
	field  string // canonical: project, labels, status, issuetype, key
	not    bool   // != or not in
	values []string
}

type orderBy struct {
	field string // created, updated, key
	desc  bool
}

// fieldNames maps the JQL field names understood to canonical ones.
var fieldNames = map[string]string{
	"project": "project", "labels": "labels", "label": "labels", "status": "status",
	"issuetype": "issuetype", "type": "issuetype", "key": "key", "issuekey": "key", "id": "key",
}

var orderFields = map[string]string{"created": "created", "createddate": "created", "updated": "updated", "updateddate": "updated", "key": "key", "issuekey": "key"}

// token is a JQL token: a word, a quoted string or punctuation.
type token struct {
	text   string
	quoted bool
	pos    int
}

func jqlError(format string, args ...any) error {
	return errors.New("Error in the JQL Query: " + fmt.Sprintf(format, args...))
}

// tokenize splits JQL into tokens.
func tokenize(jql string) ([]token, error) {
	var out []token
	rs := []rune(jql)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			i++
		case r == '"' || r == '\'':
			var b strings.Builder
			start := i
			i++
			for {
				if i >= len(rs) {
					return nil, jqlError("The quoted string starting at character %d is not closed.", start+1)
				}
				c := rs[i]
				if c == r {
					i++
					break
				}
				if c == '\\' {
					if i+1 >= len(rs) {
						return nil, jqlError("The escape at character %d ends the query.", i+1)
					}
					switch e := rs[i+1]; e {
					case '"', '\'', '\\', ' ':
						b.WriteRune(e)
					case 'n':
						b.WriteRune('\n')
					case 't':
						b.WriteRune('\t')
					case 'r':
						b.WriteRune('\r')
					default:
						return nil, jqlError("'\\%c' is an illegal JQL escape sequence (character %d).", e, i+1)
					}
					i += 2
					continue
				}
				b.WriteRune(c)
				i++
			}
			out = append(out, token{text: b.String(), quoted: true, pos: start + 1})
		case r == '!' && i+1 < len(rs) && rs[i+1] == '=':
			out = append(out, token{text: "!=", pos: i + 1})
			i += 2
		case strings.ContainsRune("=(),", r):
			out = append(out, token{text: string(r), pos: i + 1})
			i++
		case strings.ContainsRune("<>~!{}[]|&^*%?;:#@$+/`", r):
			return nil, jqlError("The character '%c' at character %d is not understood by jiraemu.", r, i+1)
		default:
			start := i
			for i < len(rs) && !strings.ContainsRune(" \t\r\n\"'=(),<>~!{}[]|&^*%?;:#@$+/`", rs[i]) {
				i++
			}
			out = append(out, token{text: string(rs[start:i]), pos: start + 1})
		}
	}
	return out, nil
}

// parseJQL parses the subset of JQL jiraemu understands.
func parseJQL(jql string) (*jqlQuery, error) {
	toks, err := tokenize(jql)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	q := &jqlQuery{}
	if p.done() {
		return q, nil
	}
	if !p.isWord("order") {
		for {
			c, err := p.clause()
			if err != nil {
				return nil, err
			}
			q.clauses = append(q.clauses, c)
			if p.done() || p.isWord("order") {
				break
			}
			if !p.isWord("and") {
				return nil, p.unexpected("'AND' or 'ORDER BY' (jiraemu understands no OR, NOT or parentheses)")
			}
			p.next()
		}
	}
	if p.done() {
		return q, nil
	}
	p.next() // ORDER
	if !p.isWord("by") {
		return nil, p.unexpected("'BY'")
	}
	p.next()
	for {
		t, ok := p.next()
		if !ok || t.text == "," {
			return nil, p.unexpected("a field to order by")
		}
		f, known := orderFields[strings.ToLower(t.text)]
		if !known {
			return nil, jqlError("jiraemu cannot order by '%s' (only created, updated, key).", t.text)
		}
		o := orderBy{field: f}
		if p.isWord("asc") || p.isWord("desc") {
			d, _ := p.next()
			o.desc = strings.EqualFold(d.text, "desc")
		}
		q.order = append(q.order, o)
		if p.done() {
			return q, nil
		}
		if t, _ := p.peek(); t.text != "," {
			return nil, p.unexpected("',' or the end of the query")
		}
		p.next()
	}
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) done() bool { return p.i >= len(p.toks) }

func (p *parser) peek() (token, bool) {
	if p.done() {
		return token{}, false
	}
	return p.toks[p.i], true
}

func (p *parser) next() (token, bool) {
	t, ok := p.peek()
	if ok {
		p.i++
	}
	return t, ok
}

func (p *parser) isWord(w string) bool {
	t, ok := p.peek()
	return ok && !t.quoted && strings.EqualFold(t.text, w)
}

func (p *parser) unexpected(want string) error {
	t, ok := p.peek()
	if !ok {
		return jqlError("Expecting %s but the query ended.", want)
	}
	return jqlError("Expecting %s but got '%s' at character %d.", want, t.text, t.pos)
}

// value reads a value: a quoted string or a word that is no keyword.
func (p *parser) value() (string, error) {
	t, ok := p.peek()
	if !ok || t.text == "" && !t.quoted || (!t.quoted && (t.text == "(" || t.text == ")" || t.text == "," || t.text == "=" || t.text == "!=")) {
		return "", p.unexpected("a value")
	}
	if !t.quoted && slices.Contains([]string{"and", "or", "not", "in", "order", "by", "empty", "null", "is"}, strings.ToLower(t.text)) {
		return "", p.unexpected("a value (quote reserved words)")
	}
	p.next()
	return t.text, nil
}

func (p *parser) clause() (clause, error) {
	t, ok := p.next()
	if !ok {
		return clause{}, p.unexpected("a field")
	}
	f, known := fieldNames[strings.ToLower(t.text)]
	if !known {
		return clause{}, jqlError("Field '%s' does not exist or jiraemu does not search it (it searches project, labels, status, issuetype, key).", t.text)
	}
	c := clause{field: f}
	switch {
	case p.isWord("not"):
		p.next()
		if !p.isWord("in") {
			return clause{}, p.unexpected("'IN' after 'NOT'")
		}
		c.not = true
		fallthrough
	case p.isWord("in"):
		p.next()
		if t, _ := p.next(); t.text != "(" || t.quoted {
			p.i--
			return clause{}, p.unexpected("'('")
		}
		for {
			v, err := p.value()
			if err != nil {
				return clause{}, err
			}
			c.values = append(c.values, v)
			t, ok := p.next()
			if ok && !t.quoted && t.text == ")" {
				return c, nil
			}
			if !ok || t.quoted || t.text != "," {
				if ok {
					p.i--
				}
				return clause{}, p.unexpected("',' or ')'")
			}
		}
	default:
		op, ok := p.peek()
		if !ok || op.quoted || (op.text != "=" && op.text != "!=") {
			return clause{}, p.unexpected("'=', '!=', 'IN' or 'NOT IN' (jiraemu understands no other operator)")
		}
		p.next()
		c.not = op.text == "!="
		v, err := p.value()
		if err != nil {
			return clause{}, err
		}
		c.values = []string{v}
		return c, nil
	}
}

// matches says whether an issue satisfies every clause.
func (q *jqlQuery) matches(is *Issue) bool {
	for _, c := range q.clauses {
		hit := false
		for _, v := range c.values {
			switch c.field {
			case "project":
				hit = hit || strings.EqualFold(v, is.Project) || v == "10000"
			case "labels":
				hit = hit || slices.Contains(is.Labels, v)
			case "status":
				hit = hit || strings.EqualFold(v, is.Status)
			case "issuetype":
				hit = hit || strings.EqualFold(v, is.IssueType)
			case "key":
				hit = hit || strings.EqualFold(v, is.Key) || v == is.ID
			}
		}
		if hit == c.not {
			return false
		}
	}
	return true
}
