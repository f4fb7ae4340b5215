package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/aymanbagabas/go-udiff"

	"github.com/migratebot/migratebot/test/githubemu"
	"github.com/migratebot/migratebot/test/slackemu"
)

// Event is one observable effect, as DESIGN.md lists them. Fields that do not
// apply to a kind are left out of its JSON.
type Event struct {
	Kind   string `json:"kind"`
	Action string `json:"action"`
	Line   int    `json:"line"`

	// slack.message
	Channel   string          `json:"channel,omitempty"`
	Thread    string          `json:"thread,omitempty"`
	Ephemeral *bool           `json:"ephemeral,omitempty"`
	ToUser    string          `json:"to_user,omitempty"`
	Text      string          `json:"text,omitempty"`
	Blocks    json.RawMessage `json:"blocks,omitempty"`
	TS        string          `json:"ts,omitempty"`

	// github.pull_request and github.comment
	Repo      string             `json:"repo,omitempty"`
	Number    int                `json:"number,omitempty"`
	Title     string             `json:"title,omitempty"`
	Branch    string             `json:"branch,omitempty"`
	Reviewers []string           `json:"reviewers,omitempty"`
	Labels    []string           `json:"labels,omitempty"`
	Files     map[string]*string `json:"files,omitempty"`
	Body      string             `json:"body,omitempty"`
	By        string             `json:"by,omitempty"`
	// baseFiles is what Files replace, for the transcript's diffs.
	baseFiles map[string]*string

	// ticket
	ID     string         `json:"id,omitempty"`
	System string         `json:"system,omitempty"`
	Fields map[string]any `json:"fields,omitempty"`

	// error
	Message string `json:"message,omitempty"`
}

func (s *Sandbox) onGitHub(e githubemu.Event) {
	if e.Repo == s.ticketRepo {
		return // tickets are reported as "ticket" events
	}
	ev := Event{Kind: e.Kind, Action: e.Action, Repo: e.Repo, Number: e.Number, By: e.By}
	switch e.Kind {
	case "github.pull_request":
		ev.Title, ev.Branch, ev.Files, ev.baseFiles = e.Title, e.Branch, e.Files, e.BaseFiles
		ev.Reviewers = nonNil(e.Reviewers)
		ev.Labels = nonNil(e.Labels)
		if e.Action == "opened" {
			s.mu.Lock()
			s.lastPR = fmt.Sprintf("%s#%d", e.Repo, e.Number)
			s.mu.Unlock()
		}
	case "github.comment":
		ev.Body = e.Body
	}
	s.record(ev)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Sandbox) onSlack(e slackemu.Event) {
	m := e.Message
	eph := m.Ephemeral
	ev := Event{
		Kind: "slack.message", Action: e.Action, Channel: m.Channel, Thread: m.ThreadTS, TS: m.TS,
		Ephemeral: &eph, Text: m.Text, Blocks: m.Blocks,
	}
	if m.Ephemeral {
		ev.ToUser = s.userName[m.ToUser]
		if ev.ToUser == "" {
			ev.ToUser = m.ToUser
		}
	}
	s.record(ev)
}

// WriteJSON writes events as one JSON object per line.
func WriteJSON(w io.Writer, events []Event) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// WriteTranscript writes events as a readable transcript: the script line,
// then what it caused, PRs with their diffs.
func WriteTranscript(w io.Writer, line int, text string, events []Event) error {
	var b strings.Builder
	if strings.TrimSpace(text) != "" {
		fmt.Fprintf(&b, "%3d ▸ %s\n", line, text)
	}
	for _, e := range events {
		switch e.Kind {
		case "slack.message":
			where := "in #" + sandboxChannelName
			if e.Thread != "" {
				where = "in the thread"
			}
			if e.Ephemeral != nil && *e.Ephemeral {
				where = "to " + e.ToUser + " only"
			}
			fmt.Fprintf(&b, "      slack %s %s:\n%s", e.Action, where, indent(e.Text, "        │ "))
		case "github.pull_request":
			fmt.Fprintf(&b, "      github PR %s#%d %s", e.Repo, e.Number, e.Action)
			if e.By != "" && (e.Action == "merged" || e.Action == "closed") {
				fmt.Fprintf(&b, " by %s", e.By)
			}
			if e.Action == "updated" {
				fmt.Fprintf(&b, ": reviewers [%s], labels [%s]", strings.Join(e.Reviewers, ", "), strings.Join(e.Labels, ", "))
			}
			b.WriteString("\n")
			if e.Action == "opened" {
				fmt.Fprintf(&b, "        title: %s\n        branch: %s\n", e.Title, e.Branch)
				if len(e.Reviewers) > 0 {
					fmt.Fprintf(&b, "        reviewers: %s\n", strings.Join(e.Reviewers, ", "))
				}
				if len(e.Labels) > 0 {
					fmt.Fprintf(&b, "        labels: %s\n", strings.Join(e.Labels, ", "))
				}
				for _, path := range slices.Sorted(maps.Keys(e.Files)) {
					b.WriteString(indent(diff(path, e.baseFiles[path], e.Files[path]), "        "))
				}
			}
		case "github.comment":
			fmt.Fprintf(&b, "      github comment %s on %s#%d:\n%s", e.Action, e.Repo, e.Number, indent(e.Body, "        │ "))
		case "ticket":
			ticketTranscript(&b, e)
		case "error":
			fmt.Fprintf(&b, "      error: %s\n", strings.ReplaceAll(e.Message, "\n", "\n             "))
		default:
			fmt.Fprintf(&b, "      %s %s\n", e.Kind, e.Action)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func diff(path string, before, after *string) string {
	var a, z string
	if before != nil {
		a = *before
	}
	if after != nil {
		z = *after
	}
	return udiff.Unified("a/"+path, "b/"+path, a, z)
}

func indent(s, prefix string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}
