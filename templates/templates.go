// Package templates holds every text migratebot writes for people — PR titles
// and bodies, commit messages, Slack messages — as text/template files,
// embedded in the binary and parsed once at start.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed *.tmpl
var files embed.FS

// Set is the parsed templates.
type Set struct {
	t *template.Template
}

// Parse parses every embedded template. An error is a bug in a template and
// should stop the program at start.
func Parse() (*Set, error) {
	t, err := template.New("").Funcs(funcs).ParseFS(files, "*.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	return &Set{t: t}, nil
}

// Render executes the named template (its file name) with data.
func (s *Set) Render(name string, data any) (string, error) {
	var b bytes.Buffer
	if err := s.t.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return strings.TrimSpace(b.String()), nil
}

var funcs = template.FuncMap{
	// bar draws the new side's share as ten blocks: "██░░░░░░░░".
	"bar": func(newPercent int64) string {
		n := int((newPercent + 5) / 10)
		n = max(0, min(10, n))
		return strings.Repeat("█", n) + strings.Repeat("░", 10-n)
	},
}
