// Package servicenowemu emulates the part of ServiceNow that migratebot talks
// to, for tests and the sandbox: the Table API on change_request, served by an
// in-process HTTP server on 127.0.0.1.
//
// It answers as a ServiceNow instance does:
//
//   - POST /api/now/table/change_request creates a change: 201 with
//     {"result": {...}}, every field a string, with a 32-hex sys_id, a number
//     (CHG0030001, CHG0030002, ...), state "-5" (New) unless given, and the
//     sys_created_on/sys_updated_on/sys_created_by/... fields filled in.
//   - GET /api/now/table/change_request lists changes: {"result": [...]},
//     in creation order, filtered by sysparm_query and cut by sysparm_offset
//     and sysparm_limit, with an X-Total-Count header.
//   - GET, PATCH and PUT /api/now/table/change_request/{sys_id} read and
//     update one change.
//
// sysparm_fields (comma-separated) picks the fields of any answer; a field a
// record lacks comes back as "". sysparm_display_value,
// sysparm_exclude_reference_link and sysparm_input_display_value are
// accepted and ignored: values are stored and returned as given.
//
// Encoded queries support field=value, field!=value, ORDERBYfield and
// ORDERBYDESCfield terms joined by ^ (AND), and a trailing ^EQ. Comparisons
// ignore case, as ServiceNow's do. Anything else (^OR, ^NQ, LIKE, IN, an
// empty term, ...) is answered 400, where a real instance may silently ignore
// the part it does not understand.
//
// work_notes and comments are journal fields: a value written to them is
// appended to the change's journal (see Change.WorkNotes and
// Change.Comments) and the field itself always reads "".
//
// State values are change_request's: -5 New, -4 Assess, -3 Authorize,
// -2 Scheduled, -1 Implement, 0 Review, 3 Closed, 4 Canceled. Any of them
// may follow any other, except that Closed and Canceled are final: changing
// the state or any other field of a closed or canceled change (journal
// entries aside) is refused 403, as ServiceNow's state-model business rule
// refuses it. Closing needs close_code and close_notes (403, a data policy
// exception, otherwise); an unknown state value is refused 403 too.
// start_date, end_date, work_start and work_end must be "" or
// "YYYY-MM-DD HH:MM:SS" (400 otherwise): stricter than ServiceNow, to catch a
// client writing dates ServiceNow would misread.
//
// Every call needs basic auth with Options' user (401 otherwise), a JSON
// body on POST, PATCH and PUT (415 for another Content-Type), and an Accept
// header that allows JSON (406 otherwise). Errors have ServiceNow's shape:
// {"error":{"message":...,"detail":...},"status":"failure"}. An unknown
// sys_id or table, or any other path, is answered 404.
//
// correlation_id and correlation_display hold at most 100 characters and
// short_description 160: a longer value is cut, silently, as ServiceNow cuts
// a string longer than its field's max length.
//
// SetDown, FailNext and FailNextAfter make it fail on purpose; Calls counts
// every call, failed ones included.
package servicenowemu

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// Credentials used when Options leaves them empty.
const (
	DefaultUsername = "migratebot.integration"
	DefaultPassword = "servicenowemu-password"
)

// Options configures a Server. Zero fields get the defaults noted.
type Options struct {
	// Username and Password are the only credentials accepted (basic auth).
	// Defaults DefaultUsername and DefaultPassword.
	Username, Password string
}

// Server is an in-process ServiceNow instance.
type Server struct {
	opts Options
	srv  *httptest.Server

	mu       sync.Mutex
	changes  []*record // in creation order
	bySysID  map[string]*record
	next     int // the next change number
	calls    map[string]int
	failures []*failure
	down     bool
}

// record is a stored change_request.
type record struct {
	fields    map[string]string
	workNotes []string
	comments  []string
	states    []string
}

// failure is a FailNext or FailNextAfter in waiting.
type failure struct {
	match     string // an HTTP method, or "METHOD /path" as Calls names it
	status    int
	remaining int
	after     bool // do the call, then lose its answer
}

// New starts a Server on 127.0.0.1. Close it when done.
func New(opts Options) *Server {
	if opts.Username == "" {
		opts.Username = DefaultUsername
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	s := &Server{
		opts:    opts,
		bySysID: map[string]*record{},
		next:    30001,
		calls:   map[string]int{},
	}
	s.srv = httptest.NewServer(s)
	return s
}

// URL is the instance's base URL ("http://127.0.0.1:port"), as
// https://acme.service-now.com is a real one's.
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Change is a change request as the emulator holds it.
type Change struct {
	SysID  string
	Number string // CHG0030001
	State  string // the state value, "-5" for New
	// Fields are every stored field, sys_id, number and state included. The
	// journal fields (work_notes, comments) read "", as ServiceNow's do.
	Fields map[string]string
	// WorkNotes and Comments are the journal entries written, oldest first.
	WorkNotes []string
	Comments  []string
	// States are the state values the change has been in, oldest first:
	// a PATCH that leaves the state as it is adds none.
	States []string
}

func (r *record) change() Change {
	return Change{
		SysID:     r.fields["sys_id"],
		Number:    r.fields["number"],
		State:     r.fields["state"],
		Fields:    maps.Clone(r.fields),
		WorkNotes: slices.Clone(r.workNotes),
		Comments:  slices.Clone(r.comments),
		States:    slices.Clone(r.states),
	}
}

// Changes returns every change, in creation order.
func (s *Server) Changes() []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Change, 0, len(s.changes))
	for _, r := range s.changes {
		out = append(out, r.change())
	}
	return out
}

// Change returns the change with this number (CHG0030001) or sys_id.
func (s *Server) Change(numberOrSysID string) (Change, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.bySysID[numberOrSysID]; ok {
		return r.change(), true
	}
	for _, r := range s.changes {
		if r.fields["number"] == numberOrSysID {
			return r.change(), true
		}
	}
	return Change{}, false
}

// Calls returns how many calls each endpoint got, by method and path with
// a sys_id written {sys_id}: "POST /api/now/table/change_request",
// "GET /api/now/table/change_request" (the list),
// "PATCH /api/now/table/change_request/{sys_id}". Every call counts,
// including those refused (SetDown, FailNext, bad auth, bad requests).
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// SetDown makes every call answer 503 with ServiceNow's HTML "instance
// unavailable" page while down is true: the ticket system is down.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// FailNext makes the next count calls matching method fail with this HTTP
// status, before auth is checked and without doing anything. method is an
// HTTP method ("POST"), matching every call with it, or a call as Calls names
// it ("PATCH /api/now/table/change_request/{sys_id}"). The body has
// ServiceNow's error shape; a 429 has "Retry-After: 1", as ServiceNow's rate
// limiter sends. Failures queue up behind ones already set.
func (s *Server) FailNext(method string, status, count int) {
	s.addFailure(&failure{match: method, status: status, remaining: count})
}

// FailNextAfter makes the next count calls matching method (as FailNext
// matches them) be served as usual, the change created or updated, and then
// answer status instead of their result, with ServiceNow's error shape: an
// answer lost on the way back, as when a proxy times out after the instance
// did the work. Status 0 closes the connection without answering instead.
// Failures queue up behind ones already set, FailNext's included.
func (s *Server) FailNextAfter(method string, status, count int) {
	s.addFailure(&failure{match: method, status: status, remaining: count, after: true})
}

func (s *Server) addFailure(f *failure) {
	if f.remaining <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f)
}

// takeFailure consumes the first failure matching a call. Call with mu held.
func (s *Server) takeFailure(method, call string) *failure {
	for i, f := range s.failures {
		if f.match != method && f.match != call {
			continue
		}
		f.remaining--
		if f.remaining <= 0 {
			s.failures = slices.Delete(s.failures, i, i+1)
		}
		return f
	}
	return nil
}

// Table API paths.
const (
	tablePrefix = "/api/now/table/"
	changeTable = "change_request"
)

// callName names a call for Calls.
func callName(r *http.Request) string {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, tablePrefix); ok {
		if table, id, ok := strings.Cut(rest, "/"); ok && id != "" {
			p = tablePrefix + table + "/{sys_id}"
		}
	}
	return r.Method + " " + p
}

// downPage is what a ServiceNow instance that is down answers, HTML.
const downPage = `<html><head><title>ServiceNow - Instance Unavailable</title></head>` +
	`<body><h1>Instance Unavailable</h1><p>This instance is not available right now. Please try again later.</p></body></html>`

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callName(r)
	s.mu.Lock()
	s.calls[call]++
	down := s.down
	var f *failure
	if !down {
		f = s.takeFailure(r.Method, call)
	}
	s.mu.Unlock()

	switch {
	case down:
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(downPage))
		return
	case f != nil && !f.after:
		writeFailure(w, f.status, "servicenowemu: FailNext")
		return
	}

	user, pass, ok := r.BasicAuth()
	if !ok || user != s.opts.Username || pass != s.opts.Password {
		w.Header().Set("WWW-Authenticate", `BASIC realm="Service-now"`)
		writeError(w, http.StatusUnauthorized, "User Not Authenticated", "Required to provide Auth information")
		return
	}
	if f == nil {
		s.route(w, r)
		return
	}
	// FailNextAfter: do the call, then lose its answer.
	s.route(httptest.NewRecorder(), r)
	if f.status == 0 {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close() // the connection is cut: nothing to do about an error
			return
		}
		panic(http.ErrAbortHandler) // no hijacking (HTTP/2): abort the answer instead
	}
	writeFailure(w, f.status, "servicenowemu: FailNextAfter")
}

// writeFailure answers a FailNext or FailNextAfter: ServiceNow's error
// shape, and for a 429 its rate limiter's Retry-After.
func writeFailure(w http.ResponseWriter, status int, detail string) {
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
		writeError(w, status, "Rate limit exceeded", detail)
		return
	}
	writeError(w, status, http.StatusText(status), detail)
}

// newSysID makes a sys_id: 32 lowercase hex digits.
func newSysID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// dateTimeLayout is how ServiceNow writes a glide_date_time's internal (UTC)
// value.
const dateTimeLayout = "2006-01-02 15:04:05"

func now() string { return time.Now().UTC().Format(dateTimeLayout) }

// numberOf formats a change number.
func numberOf(n int) string { return fmt.Sprintf("CHG%07d", n) }
