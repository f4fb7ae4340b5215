// Package servicenow is migratebot's adapter to ServiceNow change management:
// it keeps change tickets (bot.Tickets) as change_request records, through
// the Table API, as an integration user with basic auth.
//
// A ticket is found again by its correlation_id, which holds the ticket's key
// (or, for a key ServiceNow could not match safely, a hash of it): Create
// looks for the key first and files a change only when none has it, so a
// retry after a lost answer never files a second one.
//
// Every call is bounded by Config.Timeout, retries included. Connection
// errors, 429 (after its Retry-After) and 5xx are retried up to 3 times with
// a doubling wait; a Retry-After longer than the time left fails at once. A
// write that may have reached ServiceNow (a 5xx, a broken connection) is not
// simply sent again: Create looks for the key again first, and Move reads
// the change's state, so that neither a change nor a move's work note is
// written twice. A work note alone (Comment) is sent again: written twice
// after a lost answer rather than lost.
package servicenow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/internal/httpretry"
	"github.com/migratebot/migratebot/internal/redact"
)

// Config configures a Client.
type Config struct {
	// URL is the instance, e.g. https://acme.service-now.com (a path prefix
	// is kept; credentials, query and fragment are refused).
	URL string
	// AssignmentGroup (a sys_id or name) is set on every change filed, when
	// not empty.
	AssignmentGroup string
	// Fields are extra fields set on every change filed, e.g.
	// {"category": "Network", "risk": "3"}. They may not set the fields the
	// client writes itself (short_description, description, correlation_id,
	// correlation_display, type, start_date, end_date, assignment_group,
	// state, work_notes, close_code, close_notes) nor system fields.
	Fields map[string]string
	// States maps a ticket state to the change_request state value. States
	// left out keep their default: open "-5" (New), approved "-2"
	// (Scheduled), implemented "-1" (Implement), closed "3" (Closed),
	// cancelled "4" (Canceled). Closing also sets close_code "successful"
	// and close_notes (the comment).
	States map[bot.TicketState]string
	// Username and Password are the integration user's (basic auth). The
	// password never appears in an error.
	Username, Password string
	// Timeout bounds each Create, Move and Comment, retries included.
	// Default 10s.
	Timeout time.Duration
	// RetryWait is the wait before the first retry, doubled for each next
	// one, unless ServiceNow says how long to wait (Retry-After). Default 1s.
	RetryWait time.Duration
	// HTTPClient is the client calls go through (tests). Default: a client
	// of its own.
	HTTPClient *http.Client
}

// DefaultStates are the change_request state values each ticket state maps
// to unless Config.States says otherwise.
var DefaultStates = map[bot.TicketState]string{
	bot.TicketOpen:        "-5",
	bot.TicketApproved:    "-2",
	bot.TicketImplemented: "-1",
	bot.TicketClosed:      "3",
	bot.TicketCancelled:   "4",
}

// Defaults for Config's zero fields.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultRetryWait = time.Second
)

// retryMax is how many times a call is retried after its first attempt.
const retryMax = 3

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 4 << 20

// closeCode is what a closed change's close_code says.
const closeCode = "successful"

// defaultCloseNotes are a closed change's close_notes when the move gives no
// comment: ServiceNow requires them.
const defaultCloseNotes = "Closed by migratebot."

// table is the Table API path of change requests.
const table = "/api/now/table/change_request"

// reservedFields are the fields Config.Fields may not set.
var reservedFields = map[string]bool{
	"short_description": true, "description": true, "correlation_id": true, "correlation_display": true,
	"type": true, "start_date": true, "end_date": true, "assignment_group": true, "state": true,
	"work_notes": true, "comments": true, "close_code": true, "close_notes": true, "number": true,
}

var fieldName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Client implements bot.Tickets with ServiceNow change requests.
type Client struct {
	base      string
	username  string
	password  string
	group     string
	fields    map[string]string
	states    map[bot.TicketState]string
	timeout   time.Duration
	retryWait time.Duration
	http      *retryablehttp.Client
}

var _ bot.Tickets = (*Client)(nil)

// New checks cfg and returns a Client. It calls nothing.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		return nil, errors.New("servicenow: no URL")
	case err != nil:
		return nil, errors.New("servicenow: URL is not a URL") // url's error would repeat it, credentials and all
	case u.User != nil:
		return nil, errors.New("servicenow: URL has credentials; set Username and Password instead")
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return nil, fmt.Errorf("servicenow: URL %q is not an http(s) address", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("servicenow: URL %q has a query or fragment", u.Redacted())
	case cfg.Username == "" || cfg.Password == "":
		return nil, errors.New("servicenow: needs Username and Password")
	case cfg.Timeout < 0 || cfg.RetryWait < 0:
		return nil, errors.New("servicenow: Timeout and RetryWait must not be negative")
	}
	c := &Client{
		base:      strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"),
		username:  cfg.Username,
		password:  cfg.Password,
		group:     cfg.AssignmentGroup,
		fields:    map[string]string{},
		states:    map[bot.TicketState]string{},
		timeout:   cfg.Timeout,
		retryWait: cfg.RetryWait,
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.retryWait == 0 {
		c.retryWait = DefaultRetryWait
	}
	for k, v := range cfg.Fields {
		if !fieldName.MatchString(k) || reservedFields[k] || strings.HasPrefix(k, "sys_") {
			return nil, fmt.Errorf("servicenow: Fields may not set %q", k)
		}
		c.fields[k] = v
	}
	for k, v := range DefaultStates {
		c.states[k] = v
	}
	for k, v := range cfg.States {
		if _, ok := DefaultStates[k]; !ok {
			return nil, fmt.Errorf("servicenow: States: %q is not a ticket state", k)
		}
		if strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("servicenow: States: no state value for %s", k)
		}
		c.states[k] = v
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	c.http = &retryablehttp.Client{
		HTTPClient:     hc,
		Logger:         nil, // nothing logged, so nothing leaks
		RetryWaitMin:   c.retryWait,
		RetryWaitMax:   c.retryWait << retryMax,
		RetryMax:       retryMax,
		CheckRetry:     checkRetry,
		Backoff:        backoff,
		ErrorHandler:   lastAnswer,
		RequestLogHook: countAttempt,
	}
	return c, nil
}

// Create implements bot.Tickets.
func (c *Client) Create(ctx context.Context, spec bot.TicketSpec) (bot.Ticket, error) {
	if spec.Key == "" {
		return bot.Ticket{}, errors.New("file a ServiceNow change: the ticket has no key")
	}
	typ := spec.ChangeType
	switch typ {
	case "":
		typ = "normal"
	case "normal", "emergency":
	default:
		return bot.Ticket{}, fmt.Errorf("file the ServiceNow change of %s: change type %q is not normal or emergency", spec.Key, spec.ChangeType)
	}
	cid := CorrelationID(spec.Key)
	body := map[string]string{}
	for k, v := range c.fields {
		body[k] = v
	}
	body["short_description"] = spec.Title
	body["description"] = spec.Body
	body["correlation_id"] = cid
	body["correlation_display"] = "migratebot"
	body["type"] = typ
	if !spec.PlannedStart.IsZero() {
		body["start_date"] = dateTime(spec.PlannedStart)
	}
	if !spec.PlannedEnd.IsZero() {
		body["end_date"] = dateTime(spec.PlannedEnd)
	}
	if c.group != "" {
		body["assignment_group"] = c.group
	}

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	for round := 0; ; round++ {
		t, found, err := c.find(ctx, cid)
		if err != nil {
			return bot.Ticket{}, fmt.Errorf("look for the ServiceNow change of %s: %w", spec.Key, err)
		}
		if found {
			return t, nil
		}
		t, err = c.post(ctx, body)
		if err == nil {
			return t, nil
		}
		// The change may have been filed all the same: look again before
		// filing it again.
		if !mayHaveLanded(err) || round == retryMax {
			return bot.Ticket{}, fmt.Errorf("file the ServiceNow change of %s: %w", spec.Key, err)
		}
		if err := sleep(ctx, c.retryWait<<round); err != nil {
			return bot.Ticket{}, fmt.Errorf("file the ServiceNow change of %s: %w", spec.Key, err)
		}
	}
}

// find looks for the change whose correlation_id is cid: the oldest, should
// there be several.
func (c *Client) find(ctx context.Context, cid string) (bot.Ticket, bool, error) {
	q := url.Values{
		"sysparm_query":                  {"correlation_id=" + cid + "^ORDERBYsys_created_on"},
		"sysparm_limit":                  {"1"},
		"sysparm_fields":                 {"sys_id,number,correlation_id"},
		"sysparm_exclude_reference_link": {"true"},
	}
	var found []record
	if err := c.do(ctx, http.MethodGet, table, q, nil, &found); err != nil {
		return bot.Ticket{}, false, err
	}
	if len(found) == 0 {
		return bot.Ticket{}, false, nil
	}
	r := found[0]
	// An instance set to ignore a query it cannot run answers every
	// record: never take another change for this one.
	if !strings.EqualFold(string(r["correlation_id"]), cid) {
		return bot.Ticket{}, false, fmt.Errorf("ServiceNow answered %s, whose correlation_id is %q, not %q: is the query ignored?",
			r["number"], r["correlation_id"], cid)
	}
	t, err := c.ticket(r)
	return t, err == nil, err
}

// post files a change.
func (c *Client) post(ctx context.Context, body map[string]string) (bot.Ticket, error) {
	q := url.Values{"sysparm_fields": {"sys_id,number"}, "sysparm_exclude_reference_link": {"true"}}
	var created record
	if err := c.do(withUnsafe(ctx), http.MethodPost, table, q, body, &created); err != nil {
		return bot.Ticket{}, err
	}
	return c.ticket(created)
}

// ticket makes a Ticket of a change's sys_id and number.
func (c *Client) ticket(r record) (bot.Ticket, error) {
	id := string(r["sys_id"])
	if !sysID.MatchString(id) {
		return bot.Ticket{}, &answerError{fmt.Sprintf("ServiceNow answered a change whose sys_id %q is not 32 hex digits", id)}
	}
	return bot.Ticket{
		System: "servicenow",
		ID:     id,
		Number: string(r["number"]),
		URL:    c.base + "/nav_to.do?uri=change_request.do?sys_id=" + id,
	}, nil
}

// Move implements bot.Tickets.
func (c *Client) Move(ctx context.Context, t bot.Ticket, to bot.TicketState, comment string) error {
	state, ok := c.states[to]
	if !ok {
		return fmt.Errorf("move ServiceNow change %s: %q is not a ticket state", name(t), to)
	}
	id, err := ticketID(t)
	if err != nil {
		return fmt.Errorf("move ServiceNow change %s to %s: %w", name(t), to, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	cur, err := c.state(ctx, id)
	if err != nil {
		return fmt.Errorf("read ServiceNow change %s: %w", name(t), err)
	}
	if cur == state {
		if comment == "" {
			return nil
		}
		if err := c.patch(ctx, id, map[string]string{"work_notes": comment}, nil); err != nil {
			return fmt.Errorf("add a work note to ServiceNow change %s (already %s): %w", name(t), to, err)
		}
		return nil
	}
	body := map[string]string{"state": state}
	if comment != "" {
		body["work_notes"] = comment
	}
	if to == bot.TicketClosed {
		body["close_code"] = closeCode
		body["close_notes"] = comment
		if strings.TrimSpace(comment) == "" {
			body["close_notes"] = defaultCloseNotes
		}
	}
	// The move and its work note are one PATCH, not sent again blindly: a
	// move whose answer was lost would write its note twice. After a
	// failure that may have landed, the change's state says whether it did.
	for round := 0; ; round++ {
		var after record
		err := c.patch(withUnsafe(ctx), id, body, &after)
		if err == nil {
			if got := string(after["state"]); got != state {
				return fmt.Errorf("move ServiceNow change %s to %s: ServiceNow left it in state %q, not %q", name(t), to, got, state)
			}
			return nil
		}
		if !mayHaveLanded(err) || round == retryMax {
			return fmt.Errorf("move ServiceNow change %s to %s: %w", name(t), to, err)
		}
		if serr := sleep(ctx, c.retryWait<<round); serr != nil {
			return fmt.Errorf("move ServiceNow change %s to %s: %w", name(t), to, err)
		}
		now, rerr := c.state(ctx, id)
		if rerr != nil {
			return fmt.Errorf("move ServiceNow change %s to %s: %w (and reading it back: %w)", name(t), to, err, rerr)
		}
		if now == state {
			return nil
		}
	}
}

// state reads a change's state value.
func (c *Client) state(ctx context.Context, id string) (string, error) {
	var r record
	q := url.Values{"sysparm_fields": {"sys_id,number,state"}, "sysparm_exclude_reference_link": {"true"}}
	if err := c.do(ctx, http.MethodGet, table+"/"+id, q, nil, &r); err != nil {
		return "", err
	}
	return string(r["state"]), nil
}

// Comment implements bot.Tickets: a work note.
func (c *Client) Comment(ctx context.Context, t bot.Ticket, text string) error {
	id, err := ticketID(t)
	if err != nil {
		return fmt.Errorf("add a work note to ServiceNow change %s: %w", name(t), err)
	}
	if strings.TrimSpace(text) == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.patch(ctx, id, map[string]string{"work_notes": text}, nil); err != nil {
		return fmt.Errorf("add a work note to ServiceNow change %s: %w", name(t), err)
	}
	return nil
}

// patch updates a change, reading back its sys_id, number and state into out
// when out is not nil.
func (c *Client) patch(ctx context.Context, id string, body map[string]string, out *record) error {
	q := url.Values{"sysparm_fields": {"sys_id,number,state"}, "sysparm_exclude_reference_link": {"true"}}
	var r record
	if out == nil {
		out = &r
	}
	return c.do(ctx, http.MethodPatch, table+"/"+id, q, body, out)
}

var sysID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ticketID is a ticket's sys_id, checked.
func ticketID(t bot.Ticket) (string, error) {
	if t.System != "" && t.System != "servicenow" {
		return "", fmt.Errorf("it is a %s ticket", t.System)
	}
	if !sysID.MatchString(t.ID) {
		return "", fmt.Errorf("ticket id %q is not a sys_id", t.ID)
	}
	return t.ID, nil
}

// name is what errors call a ticket.
func name(t bot.Ticket) string {
	if t.Number != "" {
		return t.Number
	}
	return t.ID
}

// CorrelationID is the correlation_id a ticket key is filed under: the key
// itself when ServiceNow can match it exactly (at most 100 characters of
// a-z 0-9 . _ : / @ + -), else "sha256:" and the key's SHA-256 in hex. An
// encoded query has no escape for ^ (its AND), compares ignoring case, and
// correlation_id holds 100 characters: a key with ^, capitals, spaces, or
// longer, is hashed so that it is found again, and only it.
func CorrelationID(key string) string {
	if len(key) <= 100 && !strings.HasPrefix(key, "sha256:") && safeKey.MatchString(key) {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

var safeKey = regexp.MustCompile(`^[a-z0-9._:/@+-]+$`)

// dateTime writes a time as a glide_date_time's internal value (UTC).
func dateTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// record is a change as an answer has it: field values, which are strings,
// or {"value": ..., "link": ...} for a reference without
// sysparm_exclude_reference_link.
type record map[string]value

type value string

func (v *value) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*v = value(s)
		return nil
	}
	var ref struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &ref); err == nil && ref.Value != nil {
		return v.UnmarshalJSON(ref.Value)
	}
	*v = value(strings.Trim(string(b), `"`)) // a number, boolean or null
	if *v == "null" {
		*v = ""
	}
	return nil
}

// Error is ServiceNow refusing a call.
type Error struct {
	StatusCode int    // 403
	Status     string // "403 Forbidden"
	// Message and Detail are ServiceNow's error.message and error.detail,
	// when it answered with them.
	Message, Detail string
	// Page is the title of an HTML answer, or the start of a plain one:
	// what a proxy or a sleeping instance answers.
	Page     string
	Attempts int
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ServiceNow answered " + e.Status)
	for _, s := range []string{e.Message, e.Detail, e.Page} {
		if s != "" {
			b.WriteString(": " + s)
		}
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// answerError is an answer that could not be read.
type answerError struct{ msg string }

func (e *answerError) Error() string { return e.msg }

// mayHaveLanded says whether a failed POST may have filed the change all
// the same: anything but a refusal (4xx) or the time running out.
func mayHaveLanded(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode >= 500
	}
	return !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}

// do makes one Table API call, with retries, and decodes the answer's
// "result" into out.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body any, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	info := callInfoFrom(ctx)
	if info == nil {
		info = &callInfo{}
		ctx = context.WithValue(ctx, callInfoKey{}, info)
	}
	var rawBody any
	if raw != nil {
		rawBody = raw
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, u, rawBody)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "migratebot")
	req.SetBasicAuth(c.username, c.password)

	resp, err := c.http.Do(req)
	if err != nil {
		last := ""
		if info.lastStatus != "" {
			last = ", the last answering " + info.lastStatus
		}
		return fmt.Errorf("%s %s: no answer after %d attempt(s)%s: %w", method, path, info.attempts, last, c.redact(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.failure(resp, b, info.attempts)
	}
	var ans struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &ans); err != nil || ans.Result == nil {
		return &answerError{fmt.Sprintf("%s %s: ServiceNow answered %s with %s, not a JSON result%s",
			method, path, resp.Status, contentType(resp), c.page(resp, b))}
	}
	if err := json.Unmarshal(ans.Result, out); err != nil {
		return &answerError{fmt.Sprintf("%s %s: ServiceNow's result does not read as expected: %v", method, path, err)}
	}
	return nil
}

// failure is the error of a non-2xx answer.
func (c *Client) failure(resp *http.Response, b []byte, attempts int) error {
	e := &Error{StatusCode: resp.StatusCode, Status: resp.Status, Attempts: attempts}
	var ans struct {
		Error struct {
			Message json.RawMessage `json:"message"`
			Detail  json.RawMessage `json:"detail"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &ans) == nil && (ans.Error.Message != nil || ans.Error.Detail != nil) {
		e.Message = c.scrub(jsonText(ans.Error.Message))
		e.Detail = c.scrub(jsonText(ans.Error.Detail))
	} else {
		e.Page = strings.TrimPrefix(c.page(resp, b), ": ")
	}
	return e
}

// jsonText is a JSON value as text: a string's content, null as "".
func jsonText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if t := string(raw); t != "null" {
		return t
	}
	return ""
}

func contentType(resp *http.Response) string {
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
		return mt
	}
	return "no content type"
}

var htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// page sums up a body that is not ServiceNow's JSON, as ": text", or "".
func (c *Client) page(resp *http.Response, b []byte) string {
	var s string
	if m := htmlTitle.FindSubmatch(b); m != nil {
		s = string(m[1])
	} else if contentType(resp) != "text/html" {
		s = string(b)
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return ""
	}
	return ": " + c.scrub(s)
}

// scrub takes the password (and the basic auth header made of it) out of
// text ServiceNow sent back.
func (c *Client) scrub(s string) string {
	if c.password == "" {
		return s
	}
	return redact.String(s, c.password, basicAuth(c.username, c.password))
}

func basicAuth(user, pass string) string {
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// redact scrubs an error's text of the credentials.
func (c *Client) redact(err error) error {
	return redact.Error(err, c.password, basicAuth(c.username, c.password))
}

// callInfo follows one call through its attempts.
type callInfo struct {
	// unsafe: the call is not idempotent, so it is retried only when it
	// surely never reached ServiceNow.
	unsafe     bool
	attempts   int
	lastStatus string
}

type callInfoKey struct{}

func callInfoFrom(ctx context.Context) *callInfo {
	info, _ := ctx.Value(callInfoKey{}).(*callInfo)
	return info
}

func withUnsafe(ctx context.Context) context.Context {
	return context.WithValue(ctx, callInfoKey{}, &callInfo{unsafe: true})
}

// countAttempt is the RequestLogHook: it counts a call's attempts.
func countAttempt(_ retryablehttp.Logger, req *http.Request, _ int) {
	if info := callInfoFrom(req.Context()); info != nil {
		info.attempts++
	}
}

// checkRetry is the retry policy: connection errors, 429 and 5xx (but 501)
// are retried; for an unsafe call only 429 and connection errors before
// anything was sent. A wait ServiceNow asks for (Retry-After) that outlasts
// the call's deadline ends the retries at once.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	info := callInfoFrom(ctx)
	if info == nil {
		info = &callInfo{}
	}
	if err != nil {
		if info.unsafe && !httpretry.NeverSent(err) {
			return false, nil
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	info.lastStatus = resp.Status
	retry := resp.StatusCode == http.StatusTooManyRequests ||
		!info.unsafe && resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented
	if !retry {
		return false, nil
	}
	if wait, ok := retryAfter(resp); ok && httpretry.Outlasts(ctx, wait) {
		return false, nil
	}
	return true, nil
}

// backoff waits what ServiceNow asks (Retry-After on a 429 or 503), else
// min doubled for each retry, at most max.
func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if wait, ok := retryAfter(resp); ok {
		return wait
	}
	wait := minWait << attempt
	if wait > maxWait || wait <= 0 {
		wait = maxWait
	}
	return wait
}

// retryAfter reads a 429's or 503's Retry-After: ServiceNow sends it with
// no other answer.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0, false
	}
	return httpretry.RetryAfter(resp)
}

// lastAnswer is the ErrorHandler: when retries run out, the last answer is
// returned to be read (ServiceNow's error); with an error, the answer is
// dropped.
func lastAnswer(resp *http.Response, err error, _ int) (*http.Response, error) {
	if err != nil && resp != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		resp.Body.Close()
		resp = nil
	}
	return resp, err
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
