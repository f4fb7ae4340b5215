// Package jira is migratebot's adapter to Jira (bot.Tickets): it files a
// change ticket per step as a Jira issue, moves it through the project's
// workflow and comments on it, over Jira's REST API v2, which Jira Cloud and
// Jira Data Center both serve.
//
// Creating is idempotent by the spec's key: the key becomes a label
// (KeyLabel) and Create first searches the project for an issue carrying it.
// Every HTTP call has a timeout and bounded retries with backoff; a POST is
// retried only when Jira cannot have acted on it (429, 503, a refused
// connection), so a retry never files a second issue or comment.
package jira

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/migratebot/migratebot/bot"
)

// System is the name of this ticket system in bot.Ticket.
const System = "jira"

// Config configures a Client.
type Config struct {
	// URL is the site's base URL: https://acme.atlassian.net, or a Data
	// Center base such as https://jira.example.com/jira.
	URL string
	// Project is the project key, e.g. "CHG".
	Project string
	// IssueType is the issue type's name, e.g. "Change".
	IssueType string
	// Fields are extra fields set on create, by field id:
	// {"customfield_10010": "platform", "priority": {"name": "High"}}. Values
	// are sent as JSON. "labels" (a list of strings) adds labels; project,
	// issuetype, summary, description and duedate are the adapter's own and
	// may not be set here.
	Fields map[string]any
	// Transitions names, per state, the workflow transition that reaches it:
	// {"approved": "Approve", "implemented": "Implement", "closed": "Close",
	// "cancelled": "Cancel"}. Names match case-insensitively. A state with no
	// transition configured is only commented.
	Transitions map[bot.TicketState]string
	// Statuses optionally names, per state, the status its transition leads
	// to. Move uses it to recognise an issue already in the target state when
	// the transition is no longer offered (Jira offers "Approve" only before
	// approval). Without it, the status the transition was last seen leading
	// to, or else a status named like the state ("Approved", "Closed",
	// "Cancelled"/"Canceled"), counts.
	Statuses map[bot.TicketState]string
	// PlannedStartField and PlannedEndField optionally name date-time fields
	// (Jira Service Management's "Planned start"/"Planned end" custom fields)
	// to set from the spec's planned window.
	PlannedStartField, PlannedEndField string
	// Auth: Email and Token (Jira Cloud: basic auth with an API token), or
	// Token alone (Data Center: a personal access token, sent as Bearer).
	Email, Token string
	// Timeout bounds each HTTP call, retries included. Default 10s.
	Timeout time.Duration
	// RetryWait is the wait before the first retry; it doubles for each
	// further one (at most 8×). A Retry-After from Jira overrides it.
	// Default 500ms.
	RetryWait time.Duration
	// HTTPClient is the base client (tests); the retries wrap it. Default: a
	// client of its own.
	HTTPClient *http.Client
}

// Client implements bot.Tickets on Jira. It is safe for concurrent use.
type Client struct {
	cfg     Config
	base    string // cfg.URL without a trailing slash
	auth    string // the Authorization header
	http    *http.Client
	timeout time.Duration
	wait    time.Duration

	// searchJQL is set once Jira answered the legacy search with 410 Gone
	// (Jira Cloud removed it): searches then use /rest/api/2/search/jql.
	searchJQL atomic.Bool
	// leadsTo remembers, by lower-cased transition name, the status each
	// transition was seen leading to.
	leadsTo sync.Map
}

var _ bot.Tickets = (*Client)(nil)

// maxRetries bounds the retries of one HTTP call: at most 1+maxRetries
// attempts.
const maxRetries = 3

// reservedFields are set by the adapter and may not be in Config.Fields.
var reservedFields = []string{"project", "issuetype", "summary", "description", "duedate"}

// New checks cfg and returns a client. It calls nothing.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.URL))
	switch {
	case cfg.URL == "":
		return nil, errors.New("jira: no URL")
	case err != nil:
		return nil, fmt.Errorf("jira: URL: %w", err)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("jira: URL %q: not http(s)", u.Redacted())
	case u.Host == "":
		return nil, fmt.Errorf("jira: URL %q: no host", u.Redacted())
	case u.User != nil:
		return nil, fmt.Errorf("jira: URL %q: credentials go in Email and Token, not the URL", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("jira: URL %q: no query or fragment allowed", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	cfg.Project = strings.TrimSpace(cfg.Project)
	cfg.IssueType = strings.TrimSpace(cfg.IssueType)
	switch {
	case cfg.Project == "":
		return nil, errors.New("jira: no project")
	case strings.IndexFunc(cfg.Project, unicode.IsSpace) >= 0:
		return nil, fmt.Errorf("jira: project key %q has spaces", cfg.Project)
	case cfg.IssueType == "":
		return nil, errors.New("jira: no issue type")
	}

	c := &Client{base: u.String(), timeout: cfg.Timeout, wait: cfg.RetryWait, http: cfg.HTTPClient}
	cfg.Token = strings.TrimSpace(cfg.Token)
	cfg.Email = strings.TrimSpace(cfg.Email)
	switch {
	case cfg.Token == "":
		return nil, errors.New("jira: no token (Email+Token for Jira Cloud, Token alone for a Data Center personal access token)")
	case strings.IndexFunc(cfg.Token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return nil, errors.New("jira: the token has spaces or control characters")
	case strings.ContainsAny(cfg.Email, ":\r\n"):
		return nil, fmt.Errorf("jira: email %q is not valid", cfg.Email)
	case cfg.Email != "":
		c.auth = "Basic " + basicAuth(cfg.Email, cfg.Token)
	default:
		c.auth = "Bearer " + cfg.Token
	}

	switch {
	case cfg.Timeout < 0:
		return nil, errors.New("jira: negative timeout")
	case cfg.Timeout == 0:
		c.timeout = 10 * time.Second
	}
	switch {
	case cfg.RetryWait < 0:
		return nil, errors.New("jira: negative retry wait")
	case cfg.RetryWait == 0:
		c.wait = 500 * time.Millisecond
	}
	if c.http == nil {
		c.http = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}

	for id, v := range cfg.Fields {
		if slices.Contains(reservedFields, id) {
			return nil, fmt.Errorf("jira: field %q is set by the adapter, not by Fields", id)
		}
		if id == "labels" {
			if _, err := labelList(v); err != nil {
				return nil, err
			}
			continue
		}
		if _, err := json.Marshal(v); err != nil {
			return nil, fmt.Errorf("jira: field %q: %w", id, err)
		}
	}
	for _, m := range []map[bot.TicketState]string{cfg.Transitions, cfg.Statuses} {
		for st, name := range m {
			if !slices.Contains(states, st) {
				return nil, fmt.Errorf("jira: no ticket state %q (states: %s)", st, joinStates())
			}
			if strings.TrimSpace(name) == "" {
				return nil, fmt.Errorf("jira: empty transition or status name for %q", st)
			}
		}
	}
	c.cfg = cfg
	return c, nil
}

var states = []bot.TicketState{bot.TicketOpen, bot.TicketApproved, bot.TicketImplemented, bot.TicketClosed, bot.TicketCancelled}

func joinStates() string {
	s := make([]string, len(states))
	for i, st := range states {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

// labelList reads Config.Fields["labels"].
func labelList(v any) ([]string, error) {
	var out []string
	switch l := v.(type) {
	case []string:
		out = l
	case []any:
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("jira: field \"labels\": %v is not a string", e)
			}
			out = append(out, s)
		}
	default:
		return nil, fmt.Errorf("jira: field \"labels\" must be a list of strings, not %T", v)
	}
	for _, s := range out {
		if s == "" || strings.IndexFunc(s, unicode.IsSpace) >= 0 {
			return nil, fmt.Errorf("jira: field \"labels\": label %q is empty or has spaces", s)
		}
	}
	return out, nil
}

// Create implements bot.Tickets: it returns the issue already labelled with
// the spec's key, or files one.
func (c *Client) Create(ctx context.Context, spec bot.TicketSpec) (bot.Ticket, error) {
	if spec.Key == "" {
		return bot.Ticket{}, errors.New("jira: create ticket: the spec has no key")
	}
	label := KeyLabel(spec.Key)
	if t, ok, err := c.find(ctx, label); err != nil || ok {
		return t, err
	}
	fields, err := c.createFields(spec, label)
	if err != nil {
		return bot.Ticket{}, err
	}
	var created struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	op := fmt.Sprintf("create %s issue in %s", c.cfg.IssueType, c.cfg.Project)
	err = c.call(ctx, op, http.MethodPost, "/rest/api/2/issue", nil, map[string]any{"fields": fields}, false, &created)
	if err != nil {
		// Jira may have filed it and lost the answer: look again rather
		// than file another (a Data Center search sees it at once; Cloud's
		// may lag, and the caller's retry searches again).
		if ambiguous(err) {
			if t, ok, ferr := c.find(ctx, label); ferr == nil && ok {
				return t, nil
			}
		}
		return bot.Ticket{}, err
	}
	if created.Key == "" {
		return bot.Ticket{}, fmt.Errorf("jira: %s: the answer names no issue key", op)
	}
	return c.ticket(created.Key), nil
}

// createFields renders the create request's fields.
func (c *Client) createFields(spec bot.TicketSpec, label string) (map[string]any, error) {
	fields := map[string]any{}
	labels := []string{"migratebot", label}
	if strings.EqualFold(strings.TrimSpace(spec.ChangeType), "emergency") {
		labels = append(labels, "emergency")
	}
	for id, v := range c.cfg.Fields {
		if id == "labels" {
			extra, _ := labelList(v) // checked by New
			for _, l := range extra {
				if !slices.Contains(labels, l) {
					labels = append(labels, l)
				}
			}
			continue
		}
		fields[id] = v
	}
	fields["project"] = map[string]string{"key": c.cfg.Project}
	fields["issuetype"] = map[string]string{"name": c.cfg.IssueType}
	fields["summary"] = summary(spec.Title, spec.Key)
	if spec.Body != "" {
		fields["description"] = spec.Body
	}
	fields["labels"] = labels
	if !spec.PlannedEnd.IsZero() {
		fields["duedate"] = spec.PlannedEnd.Format(time.DateOnly)
	}
	const jiraDateTime = "2006-01-02T15:04:05.000-0700"
	if c.cfg.PlannedStartField != "" && !spec.PlannedStart.IsZero() {
		fields[c.cfg.PlannedStartField] = spec.PlannedStart.Format(jiraDateTime)
	}
	if c.cfg.PlannedEndField != "" && !spec.PlannedEnd.IsZero() {
		fields[c.cfg.PlannedEndField] = spec.PlannedEnd.Format(jiraDateTime)
	}
	return fields, nil
}

// maxSummary is Jira's limit on a summary, in characters.
const maxSummary = 255

// summary makes a title a valid Jira summary: one line of at most 255
// characters (the key if the title is empty).
func summary(title, key string) string {
	s := strings.Join(strings.Fields(title), " ")
	if s == "" {
		s = key
	}
	if utf8.RuneCountInString(s) > maxSummary {
		r := []rune(s)
		s = strings.TrimSpace(string(r[:maxSummary-1])) + "…"
	}
	return s
}

// KeyLabel is the label that marks the issue filed for a spec key:
// "migratebot-" and the key, lower-cased, with every character but letters,
// digits, '.', '_' and '-' made '_'. When that changed the key, or the key is
// long, part of the key's SHA-256 follows, so that distinct keys never share
// a label.
func KeyLabel(key string) string {
	const maxReadable = 80
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '_'
	}, key)
	if safe == key && len(safe) <= maxReadable {
		return "migratebot-" + safe
	}
	if len(safe) > maxReadable {
		safe = safe[:maxReadable]
	}
	sum := sha256.Sum256([]byte(key))
	return "migratebot-" + safe + "-" + hex.EncodeToString(sum[:6])
}

// find returns the oldest issue of the project carrying label (a clone
// carries its original's labels too).
func (c *Client) find(ctx context.Context, label string) (bot.Ticket, bool, error) {
	jql := fmt.Sprintf("project = %s AND labels = %s ORDER BY created ASC", jqlString(c.cfg.Project), jqlString(label))
	q := url.Values{"jql": {jql}, "fields": {"summary"}, "maxResults": {"1"}}
	op := fmt.Sprintf("search %s for label %s", c.cfg.Project, label)
	var res struct {
		Issues []struct {
			Key string `json:"key"`
		} `json:"issues"`
	}
	var err error
	if !c.searchJQL.Load() {
		err = c.call(ctx, op, http.MethodGet, "/rest/api/2/search", q, nil, true, &res)
		if e, ok := errors.AsType[*Error](err); ok && e.StatusCode == http.StatusGone {
			c.searchJQL.Store(true)
		}
	}
	if c.searchJQL.Load() {
		err = c.call(ctx, op, http.MethodGet, "/rest/api/2/search/jql", q, nil, true, &res)
	}
	if err != nil {
		return bot.Ticket{}, false, err
	}
	if len(res.Issues) == 0 || res.Issues[0].Key == "" {
		return bot.Ticket{}, false, nil
	}
	return c.ticket(res.Issues[0].Key), true, nil
}

// jqlString quotes s as a JQL string.
func jqlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (c *Client) ticket(key string) bot.Ticket {
	return bot.Ticket{System: System, ID: key, Number: key, URL: c.base + "/browse/" + key}
}

// issueKeyRE matches an issue key (CHG-12) or an issue id (10012).
var issueKeyRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*-[0-9]+|[0-9]+)$`)

// issueKey is the key of a ticket this adapter filed.
func issueKey(t bot.Ticket) (string, error) {
	if t.System != "" && t.System != System {
		return "", fmt.Errorf("jira: ticket %s is from %s, not jira", t.ID, t.System)
	}
	key := t.ID
	if key == "" {
		key = t.Number
	}
	if !issueKeyRE.MatchString(key) {
		return "", fmt.Errorf("jira: %q is not an issue key", key)
	}
	return key, nil
}

// transition is one transition Jira offers.
type transition struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	To   struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"to"`
}

// Move implements bot.Tickets: it applies the state's configured transition,
// unless the issue is already in the status it leads to, then comments.
func (c *Client) Move(ctx context.Context, t bot.Ticket, to bot.TicketState, comment string) error {
	key, err := issueKey(t)
	if err != nil {
		return err
	}
	if name, ok := c.cfg.Transitions[to]; ok {
		if err := c.transition(ctx, key, to, name); err != nil {
			return err
		}
	}
	return c.Comment(ctx, t, comment)
}

func (c *Client) transition(ctx context.Context, key string, to bot.TicketState, name string) error {
	op := fmt.Sprintf("move %s to %s", key, to)
	status, err := c.status(ctx, op, key)
	if err != nil {
		return err
	}
	var offered struct {
		Transitions []transition `json:"transitions"`
	}
	path := "/rest/api/2/issue/" + url.PathEscape(key) + "/transitions"
	if err := c.call(ctx, op+": list transitions", http.MethodGet, path, nil, nil, true, &offered); err != nil {
		return err
	}
	var tr *transition
	for i, o := range offered.Transitions {
		if o.To.Name != "" {
			c.leadsTo.Store(strings.ToLower(o.Name), o.To.Name)
		}
		if tr == nil && strings.EqualFold(o.Name, name) {
			tr = &offered.Transitions[i]
		}
	}
	switch {
	case tr != nil && strings.EqualFold(tr.To.Name, status):
		return nil // already there
	case tr == nil && c.isAt(to, name, status):
		return nil // already there: the transition is not offered from where it leads
	case tr == nil:
		names := make([]string, len(offered.Transitions))
		for i, o := range offered.Transitions {
			names[i] = fmt.Sprintf("%q", o.Name)
		}
		onOffer := "none"
		if len(names) > 0 {
			onOffer = strings.Join(names, ", ")
		}
		return fmt.Errorf("jira: %s: transition %q is not offered from status %q (on offer: %s)", op, name, status, onOffer)
	}
	body := map[string]any{"transition": map[string]string{"id": tr.ID}}
	err = c.call(ctx, op+" ("+tr.Name+")", http.MethodPost, path, nil, body, false, nil)
	if err != nil {
		// The transition may have been applied and its answer lost.
		if now, serr := c.status(ctx, op, key); serr == nil && strings.EqualFold(now, tr.To.Name) {
			return nil
		}
		return err
	}
	return nil
}

// status is the name of the issue's status.
func (c *Client) status(ctx context.Context, op, key string) (string, error) {
	var issue struct {
		Fields struct {
			Status struct {
				Name string `json:"name"`
			} `json:"status"`
		} `json:"fields"`
	}
	q := url.Values{"fields": {"status"}}
	if err := c.call(ctx, op+": read status", http.MethodGet, "/rest/api/2/issue/"+url.PathEscape(key), q, nil, true, &issue); err != nil {
		return "", err
	}
	if issue.Fields.Status.Name == "" {
		return "", fmt.Errorf("jira: %s: the issue has no status", op)
	}
	return issue.Fields.Status.Name, nil
}

// isAt says whether status is the one a state's transition (name) leads to,
// when Jira no longer offers the transition to say so.
func (c *Client) isAt(to bot.TicketState, name, status string) bool {
	if s, ok := c.cfg.Statuses[to]; ok {
		return strings.EqualFold(s, status)
	}
	if s, ok := c.leadsTo.Load(strings.ToLower(name)); ok {
		return strings.EqualFold(s.(string), status)
	}
	if strings.EqualFold(string(to), status) {
		return true
	}
	return to == bot.TicketCancelled && strings.EqualFold(status, "canceled")
}

// Comment implements bot.Tickets. An empty text adds nothing.
func (c *Client) Comment(ctx context.Context, t bot.Ticket, text string) error {
	key, err := issueKey(t)
	if err != nil {
		return err
	}
	if strings.TrimSpace(text) == "" {
		return nil
	}
	path := "/rest/api/2/issue/" + url.PathEscape(key) + "/comment"
	return c.call(ctx, "comment on "+key, http.MethodPost, path, nil, map[string]string{"body": text}, false, nil)
}
