// Package jiraemu is an in-memory Jira for tests and the sandbox: the parts
// of the REST API v2 that migratebot's Jira adapter uses, on a loopback
// port, answering with Jira's own JSON shapes and error bodies.
//
// It serves, for one project:
//
//	POST /rest/api/2/issue                      create (201 {"id","key","self"})
//	GET  /rest/api/2/issue/{key}                the issue (?fields= filters)
//	GET  /rest/api/2/issue/{key}/transitions    transitions from its status
//	POST /rest/api/2/issue/{key}/transitions    apply one (204)
//	GET  /rest/api/2/issue/{key}/comment        its comments
//	POST /rest/api/2/issue/{key}/comment        add one (201)
//	GET  /rest/api/2/search                     JQL search (Data Center; 410 with Options.Cloud)
//	GET  /rest/api/2/search/jql                 JQL search (Cloud only; 404 otherwise)
//
// JQL is a small subset: clauses `field = value`, `field != value`,
// `field in (v, ...)` and `field not in (...)` on project, labels, status,
// issuetype (type) and key, joined by AND, with an optional ORDER BY on
// created, updated or key. Anything else is answered 400, as Jira answers
// JQL it cannot parse, rather than guessed at.
//
// Every call is counted (Calls), authenticated (basic auth with
// Options.Email and Options.Token, or the token as Bearer; 401 otherwise),
// and can be made to fail: SetDown answers 503 to everything, FailNext fails
// the next calls of an endpoint before they are handled, FailNextAfter
// handles them and then loses the answer.
package jiraemu

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configures a Server. Zero fields get the defaults noted.
type Options struct {
	// Project is the one project's key. Default "CHG".
	Project string
	// IssueTypes are the project's issue types. Default ["Change"].
	IssueTypes []string
	// Email and Token authenticate callers: basic auth as Email:Token (Jira
	// Cloud's API tokens), or "Bearer Token" (Data Center's personal access
	// tokens). Defaults "migratebot@example.com" and "emu-token".
	Email, Token string
	// Workflow is the project's workflow. Default DefaultWorkflow().
	Workflow []Transition
	// InitialStatus is a new issue's status. Default "Open".
	InitialStatus string
	// Fields, when not nil, are the custom fields the create screen has:
	// setting any other non-standard field is refused, as Jira refuses a
	// field not on the screen. Nil accepts every field.
	Fields []string
	// Cloud answers as Jira Cloud does since 2025: the legacy
	// /rest/api/2/search is gone (410) and /rest/api/2/search/jql searches.
	// Otherwise (Data Center) /search searches and /search/jql is 404.
	Cloud bool
	// Now tells the time of creations and comments. Default time.Now.
	Now func() time.Time
}

// Transition is a workflow transition: Name leads from any status in From
// (from every status when From is empty, a global transition) to To.
type Transition struct {
	ID   string
	Name string
	From []string
	To   string
}

// DefaultWorkflow is Open → (Approve) Approved → (Implement) Implemented →
// (Close) Closed, and (Cancel) from any status but Closed and Cancelled to
// Cancelled.
func DefaultWorkflow() []Transition {
	return []Transition{
		{ID: "11", Name: "Approve", From: []string{"Open"}, To: "Approved"},
		{ID: "21", Name: "Implement", From: []string{"Approved"}, To: "Implemented"},
		{ID: "31", Name: "Close", From: []string{"Implemented"}, To: "Closed"},
		{ID: "41", Name: "Cancel", From: []string{"Open", "Approved", "Implemented"}, To: "Cancelled"},
	}
}

// Issue is an issue as the emulator holds it.
type Issue struct {
	ID, Key     string
	Project     string
	IssueType   string
	Summary     string
	Description string
	Labels      []string
	Status      string
	// History is every status the issue has been in, oldest first.
	History  []string
	Comments []Comment
	// Fields are the fields the create request set, as decoded JSON.
	Fields           map[string]any
	Created, Updated time.Time
}

// Comment is a comment on an issue.
type Comment struct {
	ID, Body string
	Author   string // the caller's email, or "pat" for a Bearer token
	Created  time.Time
}

// Server is a running emulator. Its methods are safe for concurrent use.
type Server struct {
	opts     Options
	srv      *httptest.Server
	mux      *http.ServeMux
	statuses []status // every status of the workflow, the initial one first

	mu        sync.Mutex
	issues    []*Issue
	byKey     map[string]*Issue
	seq       int
	commentID int
	calls     map[string]int
	down      bool
	failures  []*failure
}

type status struct {
	id, name, category string // category: new, indeterminate, done
}

type failure struct {
	method, path string
	status       int
	remaining    int
	after        bool // handle the call, then answer status
}

// New starts an emulator on 127.0.0.1. Close it when done. It panics on an
// invalid workflow.
func New(opts Options) *Server {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&opts.Project, "CHG")
	def(&opts.Email, "migratebot@example.com")
	def(&opts.Token, "emu-token")
	def(&opts.InitialStatus, "Open")
	if len(opts.IssueTypes) == 0 {
		opts.IssueTypes = []string{"Change"}
	}
	if opts.Workflow == nil {
		opts.Workflow = DefaultWorkflow()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:  opts,
		byKey: map[string]*Issue{},
		calls: map[string]int{},
	}
	s.statuses = workflowStatuses(opts)

	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /rest/api/2/issue", s.createIssue)
	s.mux.HandleFunc("GET /rest/api/2/issue/{key}", s.getIssue)
	s.mux.HandleFunc("GET /rest/api/2/issue/{key}/transitions", s.getTransitions)
	s.mux.HandleFunc("POST /rest/api/2/issue/{key}/transitions", s.doTransition)
	s.mux.HandleFunc("GET /rest/api/2/issue/{key}/comment", s.getComments)
	s.mux.HandleFunc("POST /rest/api/2/issue/{key}/comment", s.addComment)
	s.mux.HandleFunc("GET /rest/api/2/search", s.search)
	s.mux.HandleFunc("GET /rest/api/2/search/jql", s.searchJQL)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, []string{"null for uri: " + r.URL.String()}, nil)
	})

	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// workflowStatuses lists the workflow's statuses, the initial one first, and
// checks the workflow.
func workflowStatuses(opts Options) []status {
	names := []string{opts.InitialStatus}
	ids := map[string]bool{}
	outgoing := map[string]bool{}
	global := false
	for _, t := range opts.Workflow {
		if t.ID == "" || t.Name == "" || t.To == "" || ids[t.ID] {
			panic(fmt.Sprintf("jiraemu: transition %+v: needs a unique ID, a Name and a To", t))
		}
		ids[t.ID] = true
		for _, f := range t.From {
			outgoing[f] = true
		}
		global = global || len(t.From) == 0
		for _, n := range append(slices.Clone(t.From), t.To) {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	out := make([]status, len(names))
	for i, n := range names {
		cat := "indeterminate"
		switch {
		case i == 0:
			cat = "new"
		case !outgoing[n] && !global:
			cat = "done"
		}
		out[i] = status{id: fmt.Sprint(10000 + i), name: n, category: cat}
	}
	return out
}

// URL is the site's base URL, e.g. http://127.0.0.1:40123 (no trailing
// slash): what Jira calls the base URL, and the adapter's Config.URL.
func (s *Server) URL() string { return s.srv.URL }

// Options are the options in force, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// Close stops the emulator.
func (s *Server) Close() { s.srv.Close() }

// Issues returns copies of all issues, oldest first.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, len(s.issues))
	for i, is := range s.issues {
		out[i] = copyIssue(is)
	}
	return out
}

// Issue returns a copy of the issue with this key.
func (s *Server) Issue(key string) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, ok := s.byKey[strings.ToUpper(key)]
	if !ok {
		return Issue{}, false
	}
	return copyIssue(is), true
}

// SetStatus puts an issue in a status, as an admin would, bypassing the
// workflow: what people do in Jira while the bot waits.
func (s *Server) SetStatus(key, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, ok := s.byKey[strings.ToUpper(key)]
	if !ok {
		return fmt.Errorf("jiraemu: no issue %s", key)
	}
	if _, ok := s.status(status); !ok {
		return fmt.Errorf("jiraemu: no status %q in the workflow", status)
	}
	s.setStatus(is, status)
	return nil
}

func (s *Server) setStatus(is *Issue, status string) {
	is.Status = status
	is.History = append(is.History, status)
	is.Updated = s.opts.Now()
}

// Calls returns how many calls each endpoint got, by method and path as
// called: "POST /rest/api/2/issue", "GET /rest/api/2/issue/CHG-1/transitions".
// Failed calls (SetDown, FailNext, bad auth) count too.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// SetDown makes every call answer 503 while down is true: the ticket system
// is down.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// FailNext makes the next count calls of method and path (as called, e.g.
// "POST", "/rest/api/2/issue"; "" path for any) answer status, with Jira's
// error body, before they are handled or authenticated. A 429 or 503 comes
// with "Retry-After: 1". Failures queue behind those already set.
func (s *Server) FailNext(method, path string, status, count int) {
	s.addFailure(&failure{method: method, path: path, status: status, remaining: count})
}

// FailNextAfter makes the next count calls of method and path be handled as
// usual, then answer status instead of their result: an answer lost on the
// way back (a gateway timeout after Jira did the work).
func (s *Server) FailNextAfter(method, path string, status, count int) {
	s.addFailure(&failure{method: method, path: path, status: status, remaining: count, after: true})
}

func (s *Server) addFailure(f *failure) {
	if f.remaining <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f)
}

// takeFailure returns the failure for a call, if one is set.
func (s *Server) takeFailure(method, path string) *failure {
	for i, f := range s.failures {
		if f.method == method && (f.path == "" || f.path == path) {
			f.remaining--
			if f.remaining <= 0 {
				s.failures = slices.Delete(s.failures, i, i+1)
			}
			return f
		}
	}
	return nil
}

// serve counts, fails and authenticates a call, then routes it.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls[r.Method+" "+r.URL.Path]++
	down := s.down
	var f *failure
	if !down {
		f = s.takeFailure(r.Method, r.URL.Path)
	}
	s.mu.Unlock()

	switch {
	case down:
		writeError(w, http.StatusServiceUnavailable, []string{"Jira is unavailable (jiraemu is set down)."}, nil)
		return
	case f != nil && !f.after:
		writeFailure(w, f.status)
		return
	}
	user, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, []string{"You are not authenticated. Authentication required to perform this operation."}, nil)
		return
	}
	r = r.WithContext(withUser(r.Context(), user))
	if f != nil { // handle, then lose the answer
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, r)
		writeFailure(w, f.status)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func writeFailure(w http.ResponseWriter, code int) {
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	msg := http.StatusText(code)
	if code == http.StatusTooManyRequests {
		msg = "Rate limit exceeded."
	}
	writeError(w, code, []string{msg}, nil)
}

// authenticate checks the Authorization header and returns who called.
func (s *Server) authenticate(r *http.Request) (string, bool) {
	if email, token, ok := r.BasicAuth(); ok {
		return email, email == s.opts.Email && token == s.opts.Token
	}
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok && tok == s.opts.Token {
		return "pat", true
	}
	return "", false
}

// status finds a status of the workflow by name (case-insensitively).
func (s *Server) status(name string) (status, bool) {
	for _, st := range s.statuses {
		if strings.EqualFold(st.name, name) {
			return st, true
		}
	}
	return status{}, false
}

func copyIssue(is *Issue) Issue {
	c := *is
	c.Labels = slices.Clone(is.Labels)
	c.History = slices.Clone(is.History)
	c.Comments = slices.Clone(is.Comments)
	c.Fields, _ = deepCopy(is.Fields).(map[string]any)
	return c
}

// deepCopy copies decoded JSON.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if t == nil {
			return map[string]any(nil)
		}
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// trimBody is for messages quoting a value.
func trimBody(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 80 {
		b = append(b[:80:80], "..."...)
	}
	return string(b)
}
