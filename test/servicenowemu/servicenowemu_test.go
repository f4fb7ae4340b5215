package servicenowemu

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const table = "/api/now/table/change_request"

// client calls a Server over plain net/http, as the integration user.
type client struct {
	t *testing.T
	s *Server
}

func newClient(t *testing.T) *client {
	t.Helper()
	s := New(Options{})
	t.Cleanup(s.Close)
	return &client{t: t, s: s}
}

// answer is a call's outcome: the status, headers and the decoded body.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// result is the answer's "result" as one record.
func (a answer) result() map[string]any {
	r, _ := a.body["result"].(map[string]any)
	return r
}

// results is the answer's "result" as a list of records.
func (a answer) results() []map[string]any {
	var out []map[string]any
	for _, r := range a.body["result"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

// errorOf is the answer's error.message and error.detail.
func (a answer) errorOf() (string, string) {
	e, _ := a.body["error"].(map[string]any)
	m, _ := e["message"].(string)
	d, _ := e["detail"].(string)
	return m, d
}

// call makes a request with basic auth and a JSON body (when not nil);
// edit adjusts the request before it is sent.
func (c *client) call(method, path string, query url.Values, body any, edit func(*http.Request)) answer {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	u := c.s.URL() + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.SetBasicAuth(DefaultUsername, DefaultPassword)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			c.t.Fatalf("%s %s: answer %q is not JSON: %v", method, path, raw, err)
		}
	}
	return a
}

// create files a change and returns its record; it fails the test unless
// the answer is 201.
func (c *client) create(fields map[string]any) map[string]any {
	c.t.Helper()
	a := c.call(http.MethodPost, table, nil, fields, nil)
	if a.status != http.StatusCreated {
		c.t.Fatalf("create: %d %s", a.status, a.raw)
	}
	return a.result()
}

var sysIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestCreateAnswersAsServiceNow(t *testing.T) {
	c := newClient(t)
	a := c.call(http.MethodPost, table, nil, map[string]any{
		"short_description": "web-api: weights 25% to aws",
		"correlation_id":    "web-api/weights-25",
		"type":              "emergency",
		"start_date":        "2026-01-05 09:00:00",
		"priority":          2, // a number is stored as its string
		"sys_id":            "0123456789abcdef0123456789abcdef",
		"number":            "CHG9999999", // neither can be set
	}, nil)
	if a.status != http.StatusCreated {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	r := a.result()
	id, _ := r["sys_id"].(string)
	if !sysIDRE.MatchString(id) || id == "0123456789abcdef0123456789abcdef" {
		t.Errorf("sys_id %q", id)
	}
	for k, want := range map[string]string{
		"number": "CHG0030001", "state": "-5", "type": "emergency", "priority": "2", "active": "true",
		"short_description": "web-api: weights 25% to aws", "correlation_id": "web-api/weights-25",
		"start_date": "2026-01-05 09:00:00", "end_date": "", "work_notes": "", "sys_created_by": DefaultUsername,
	} {
		if r[k] != want {
			t.Errorf("%s = %#v, want %q", k, r[k], want)
		}
	}
	for k, v := range r {
		if _, ok := v.(string); !ok {
			t.Errorf("field %s is %T, not a string", k, v)
		}
	}
	if got, want := a.header.Get("Location"), c.s.URL()+table+"/"+id; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	if got := c.create(map[string]any{"short_description": "second"})["number"]; got != "CHG0030002" {
		t.Errorf("second number %v", got)
	}
	ch, ok := c.s.Change("CHG0030001")
	if !ok || ch.SysID != id || ch.State != "-5" || !cmp.Equal(ch.States, []string{"-5"}) {
		t.Errorf("Change(number) = %+v, %v", ch, ok)
	}
	if bySysID, _ := c.s.Change(id); bySysID.Number != "CHG0030001" {
		t.Errorf("Change(sys_id) = %+v", bySysID)
	}
}

func TestSysparmFields(t *testing.T) {
	c := newClient(t)
	a := c.call(http.MethodPost, table, url.Values{"sysparm_fields": {"sys_id, number,no_such_field"}},
		map[string]any{"short_description": "x"}, nil)
	r := a.result()
	if len(r) != 3 || r["number"] != "CHG0030001" || r["no_such_field"] != "" || !sysIDRE.MatchString(r["sys_id"].(string)) {
		t.Errorf("create with sysparm_fields: %v", r)
	}
	g := c.call(http.MethodGet, table+"/"+r["sys_id"].(string), url.Values{"sysparm_fields": {"state"}}, nil, nil)
	if g.status != http.StatusOK || !cmp.Equal(g.result(), map[string]any{"state": "-5"}) {
		t.Errorf("get with sysparm_fields: %d %v", g.status, g.result())
	}
}

func TestListQueries(t *testing.T) {
	c := newClient(t)
	for _, cid := range []string{"k/1", "k/2", "k/1", "other"} {
		c.create(map[string]any{"correlation_id": cid, "short_description": "change " + cid})
	}
	numbers := func(a answer) []string {
		var out []string
		for _, r := range a.results() {
			out = append(out, r["number"].(string))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		query url.Values
		want  []string
		total string
	}{
		{"all, in creation order", nil, []string{"CHG0030001", "CHG0030002", "CHG0030003", "CHG0030004"}, "4"},
		{"equals, ignoring case", url.Values{"sysparm_query": {"correlation_id=K/1"}}, []string{"CHG0030001", "CHG0030003"}, "2"},
		{"limit", url.Values{"sysparm_query": {"correlation_id=k/1^ORDERBYsys_created_on"}, "sysparm_limit": {"1"}}, []string{"CHG0030001"}, "2"},
		{"offset", url.Values{"sysparm_offset": {"3"}}, []string{"CHG0030004"}, "4"},
		{"not equals and order desc", url.Values{"sysparm_query": {"correlation_id!=other^ORDERBYDESCnumber"}}, []string{"CHG0030003", "CHG0030002", "CHG0030001"}, "3"},
		{"trailing EQ", url.Values{"sysparm_query": {"correlation_id=k/2^EQ"}}, []string{"CHG0030002"}, "1"},
		{"no match", url.Values{"sysparm_query": {"correlation_id=nope"}}, nil, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := c.call(http.MethodGet, table, tc.query, nil, nil)
			if a.status != http.StatusOK {
				t.Fatalf("%d %s", a.status, a.raw)
			}
			if diff := cmp.Diff(tc.want, numbers(a)); diff != "" {
				t.Errorf("numbers (-want +got):\n%s", diff)
			}
			if got := a.header.Get("X-Total-Count"); got != tc.total {
				t.Errorf("X-Total-Count %q, want %q", got, tc.total)
			}
		})
	}
	for _, q := range []string{"correlation_id=k/1^ORcorrelation_id=k/2", "correlation_idLIKEk", "a=1^^b=2", "ORDERBYsys created"} {
		a := c.call(http.MethodGet, table, url.Values{"sysparm_query": {q}}, nil, nil)
		if m, _ := a.errorOf(); a.status != http.StatusBadRequest || m != "Invalid query" {
			t.Errorf("query %q: %d %s", q, a.status, a.raw)
		}
	}
	if a := c.call(http.MethodGet, table, url.Values{"sysparm_limit": {"0"}}, nil, nil); a.status != http.StatusBadRequest {
		t.Errorf("sysparm_limit 0: %d", a.status)
	}
}

// TestLifecycle: work notes are journal entries that read back "", the state
// moves, closing needs close_code and close_notes, and a closed change is
// final but for journal entries.
func TestLifecycle(t *testing.T) {
	c := newClient(t)
	id := c.create(map[string]any{"short_description": "x"})["sys_id"].(string)
	path := table + "/" + id
	patch := func(body map[string]any) answer { return c.call(http.MethodPatch, path, nil, body, nil) }

	if a := patch(map[string]any{"state": "-2", "work_notes": "approved by alice"}); a.status != http.StatusOK ||
		a.result()["state"] != "-2" || a.result()["work_notes"] != "" {
		t.Fatalf("approve: %d %v", a.status, a.result())
	}
	if a := c.call(http.MethodPut, path, nil, map[string]any{"state": "-1"}, nil); a.status != http.StatusOK {
		t.Fatalf("implement with PUT: %d %s", a.status, a.raw)
	}
	if a := patch(map[string]any{"work_notes": "  "}); a.status != http.StatusOK {
		t.Fatalf("blank note: %d", a.status)
	}

	a := patch(map[string]any{"state": "3", "work_notes": "lost with the refusal"})
	if m, d := a.errorOf(); a.status != http.StatusForbidden || m != "Operation Failed" ||
		!strings.Contains(d, "Close code") || !strings.Contains(d, "Close notes") || a.body["status"] != "failure" {
		t.Errorf("close without close_code/close_notes: %d %s", a.status, a.raw)
	}
	if a := patch(map[string]any{"state": "3", "close_code": "successful", "close_notes": "done", "work_notes": "closing"}); a.status != http.StatusOK {
		t.Fatalf("close: %d %s", a.status, a.raw)
	}
	if a := patch(map[string]any{"state": "-1"}); a.status != http.StatusForbidden {
		t.Errorf("reopen a closed change: %d %s", a.status, a.raw)
	}
	if a := patch(map[string]any{"short_description": "edited"}); a.status != http.StatusForbidden {
		t.Errorf("edit a closed change: %d %s", a.status, a.raw)
	}
	if a := patch(map[string]any{"state": "3", "work_notes": "after the fact"}); a.status != http.StatusOK {
		t.Errorf("a work note on a closed change: %d %s", a.status, a.raw)
	}

	ch, _ := c.s.Change(id)
	if diff := cmp.Diff([]string{"approved by alice", "closing", "after the fact"}, ch.WorkNotes); diff != "" {
		t.Errorf("work notes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"-5", "-2", "-1", "3"}, ch.States); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if ch.State != "3" || ch.Fields["active"] != "false" || ch.Fields["close_code"] != "successful" ||
		ch.Fields["closed_at"] == "" || ch.Fields["short_description"] != "x" || ch.Fields["work_notes"] != "" {
		t.Errorf("closed change: %v", ch.Fields)
	}
	if ch.Fields["sys_mod_count"] != "4" {
		t.Errorf("sys_mod_count %s, want 4 (approve, implement, close, note)", ch.Fields["sys_mod_count"])
	}
}

func TestCancelAndBadValues(t *testing.T) {
	c := newClient(t)
	id := c.create(map[string]any{"short_description": "x"})["sys_id"].(string)
	path := table + "/" + id
	for _, tc := range []struct {
		name    string
		body    map[string]any
		status  int
		message string
	}{
		{"unknown state", map[string]any{"state": "7"}, http.StatusForbidden, "Operation Failed"},
		{"state as a label", map[string]any{"state": "Closed"}, http.StatusForbidden, "Operation Failed"},
		{"date not internal", map[string]any{"end_date": "2026-01-05T09:00:00Z"}, http.StatusBadRequest, "Invalid date-time value"},
		{"object value", map[string]any{"assignment_group": map[string]any{"value": "x"}}, http.StatusBadRequest, "Exception while reading request"},
	} {
		a := c.call(http.MethodPatch, path, nil, tc.body, nil)
		if m, _ := a.errorOf(); a.status != tc.status || m != tc.message {
			t.Errorf("%s: %d %s", tc.name, a.status, a.raw)
		}
	}
	if a := c.call(http.MethodPatch, path, nil, map[string]any{"state": "4", "work_notes": "aborted"}, nil); a.status != http.StatusOK {
		t.Fatalf("cancel: %d %s", a.status, a.raw)
	}
	if a := c.call(http.MethodPatch, path, nil, map[string]any{"state": "3", "close_code": "successful", "close_notes": "x"}, nil); a.status != http.StatusForbidden {
		t.Errorf("close a canceled change: %d %s", a.status, a.raw)
	}
	ch, _ := c.s.Change(id)
	if ch.State != "4" || ch.Fields["active"] != "false" || !cmp.Equal(ch.States, []string{"-5", "4"}) || !cmp.Equal(ch.WorkNotes, []string{"aborted"}) {
		t.Errorf("canceled change: %+v", ch)
	}
}

func TestLongValuesAreCut(t *testing.T) {
	c := newClient(t)
	long := strings.Repeat("é", 150)
	r := c.create(map[string]any{"correlation_id": long, "short_description": long + long})
	if got := r["correlation_id"].(string); got != strings.Repeat("é", 100) {
		t.Errorf("correlation_id kept %d characters", len([]rune(got)))
	}
	if got := r["short_description"].(string); len([]rune(got)) != 160 {
		t.Errorf("short_description kept %d characters", len([]rune(got)))
	}
	// So a query with the whole value finds nothing.
	a := c.call(http.MethodGet, table, url.Values{"sysparm_query": {"correlation_id=" + long}}, nil, nil)
	if len(a.results()) != 0 {
		t.Errorf("found by the uncut value: %v", a.results())
	}
}

func TestRefusals(t *testing.T) {
	c := newClient(t)
	id := c.create(map[string]any{"short_description": "x"})["sys_id"].(string)
	for _, tc := range []struct {
		name         string
		method, path string
		body         any
		edit         func(*http.Request)
		status       int
		message      string
	}{
		{"no auth", "GET", table, nil, func(r *http.Request) { r.Header.Del("Authorization") }, 401, "User Not Authenticated"},
		{"wrong password", "GET", table, nil, func(r *http.Request) { r.SetBasicAuth(DefaultUsername, "nope") }, 401, "User Not Authenticated"},
		{"unknown sys_id", "GET", table + "/0123456789abcdef0123456789abcdef", nil, nil, 404, "No Record found"},
		{"patch unknown sys_id", "PATCH", table + "/0123456789abcdef0123456789abcdef", map[string]any{"state": "-1"}, nil, 404, "No Record found"},
		{"other table", "GET", "/api/now/table/incident", nil, nil, 404, "Invalid table incident"},
		{"other path", "GET", "/api/now/v2/whatever", nil, nil, 404, "Requested URI does not represent any resource"},
		{"delete", "DELETE", table + "/" + id, nil, nil, 405, "Method not Supported"},
		{"xml only", "GET", table, nil, func(r *http.Request) { r.Header.Set("Accept", "application/xml") }, 406, "Not Acceptable"},
		{"form body", "POST", table, map[string]any{}, func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, 415, "Unsupported Media Type"},
		{"not JSON", "POST", table, nil, func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader("{"))
			r.Header.Set("Content-Type", "application/json")
		}, 400, "Exception while reading request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := c.call(tc.method, tc.path, nil, tc.body, tc.edit)
			if m, _ := a.errorOf(); a.status != tc.status || m != tc.message || a.body["status"] != "failure" {
				t.Errorf("%d %s, want %d %q", a.status, a.raw, tc.status, tc.message)
			}
		})
	}
	if n := len(c.s.Changes()); n != 1 {
		t.Errorf("%d changes after refusals, want 1", n)
	}
}

func TestDownAndFailures(t *testing.T) {
	c := newClient(t)
	c.s.SetDown(true)
	a := c.call(http.MethodPost, table, nil, map[string]any{"short_description": "x"}, nil)
	if a.status != http.StatusServiceUnavailable || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(a.raw, "<title>ServiceNow - Instance Unavailable</title>") {
		t.Errorf("down: %d %q %s", a.status, a.header.Get("Content-Type"), a.raw)
	}
	c.s.SetDown(false)
	if n := len(c.s.Changes()); n != 0 {
		t.Fatalf("%d changes created while down", n)
	}

	// FailNext fails before anything is done, auth not even checked.
	c.s.FailNext("POST", http.StatusTooManyRequests, 1)
	c.s.FailNext("GET "+table, http.StatusBadGateway, 1)
	a = c.call(http.MethodPost, table, nil, map[string]any{"short_description": "x"}, func(r *http.Request) { r.Header.Del("Authorization") })
	if m, _ := a.errorOf(); a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") != "1" || m != "Rate limit exceeded" {
		t.Errorf("FailNext 429: %d %v %s", a.status, a.header, a.raw)
	}
	id := c.create(map[string]any{"short_description": "x"})["sys_id"].(string)
	if a := c.call(http.MethodGet, table+"/"+id, nil, nil, nil); a.status != http.StatusOK {
		t.Errorf("GET one record matched the list's failure: %d", a.status)
	}
	if a := c.call(http.MethodGet, table, nil, nil, nil); a.status != http.StatusBadGateway {
		t.Errorf("FailNext list: %d", a.status)
	}
	if n := len(c.s.Changes()); n != 1 {
		t.Errorf("%d changes, want 1: FailNext must do nothing", n)
	}

	// FailNextAfter does the work, then loses the answer.
	c.s.FailNextAfter("POST", http.StatusBadGateway, 1)
	if a := c.call(http.MethodPost, table, nil, map[string]any{"short_description": "lost"}, nil); a.status != http.StatusBadGateway || a.result() != nil {
		t.Errorf("FailNextAfter: %d %s", a.status, a.raw)
	}
	c.s.FailNextAfter("PATCH "+table+"/{sys_id}", 0, 1)
	req, _ := http.NewRequest(http.MethodPatch, c.s.URL()+table+"/"+id, strings.NewReader(`{"work_notes":"cut"}`))
	req.SetBasicAuth(DefaultUsername, DefaultPassword)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("FailNextAfter 0 answered %s", resp.Status)
	}
	var descs []string
	for _, ch := range c.s.Changes() {
		descs = append(descs, ch.Fields["short_description"])
	}
	if diff := cmp.Diff([]string{"x", "lost"}, descs); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if ch, _ := c.s.Change(id); !cmp.Equal(ch.WorkNotes, []string{"cut"}) {
		t.Errorf("work notes %v: the cut PATCH was not done", ch.WorkNotes)
	}

	want := map[string]int{
		"POST " + table:                4,
		"GET " + table:                 1,
		"GET " + table + "/{sys_id}":   1,
		"PATCH " + table + "/{sys_id}": 1,
	}
	if diff := cmp.Diff(want, c.s.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// TestInspectionReturnsCopies: what tests look at cannot change the server.
func TestInspectionReturnsCopies(t *testing.T) {
	c := newClient(t)
	id := c.create(map[string]any{"short_description": "x", "work_notes": "first"})["sys_id"].(string)
	ch, _ := c.s.Change(id)
	ch.Fields["state"] = "3"
	ch.WorkNotes[0] = "changed"
	c.s.Changes()[0].Fields["short_description"] = "changed"
	again, _ := c.s.Change(id)
	if again.Fields["state"] != "-5" || again.WorkNotes[0] != "first" || again.Fields["short_description"] != "x" {
		t.Errorf("stored change edited through a copy: %+v", again)
	}
	calls := c.s.Calls()
	calls["POST "+table] = 99
	if c.s.Calls()["POST "+table] != 1 {
		t.Error("Calls edited through a copy")
	}
}
