package jiraemu

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// client calls an emulator as a raw HTTP client would.
type client struct {
	t    *testing.T
	s    *Server
	auth func(*http.Request)
}

func newClient(t *testing.T, opts Options) *client {
	s := New(opts)
	t.Cleanup(s.Close)
	o := s.Options()
	return &client{t: t, s: s, auth: func(r *http.Request) { r.SetBasicAuth(o.Email, o.Token) }}
}

// do makes a call and returns the status and the decoded JSON answer.
func (c *client) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.s.URL()+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	c.auth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			c.t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode, out
}

func (c *client) create(summary string, labels ...string) string {
	c.t.Helper()
	code, out := c.do("POST", "/rest/api/2/issue", map[string]any{"fields": map[string]any{
		"project": map[string]any{"key": "CHG"}, "issuetype": map[string]any{"name": "Change"},
		"summary": summary, "labels": labels,
	}})
	if code != http.StatusCreated {
		c.t.Fatalf("create: %d %v", code, out)
	}
	return out["key"].(string)
}

func search(jql string) string { return "/rest/api/2/search?" + url.Values{"jql": {jql}}.Encode() }

func keys(out map[string]any) []string {
	var ks []string
	for _, is := range out["issues"].([]any) {
		ks = append(ks, is.(map[string]any)["key"].(string))
	}
	return ks
}

func TestCreateAndGetShapes(t *testing.T) {
	c := newClient(t, Options{})
	code, out := c.do("POST", "/rest/api/2/issue", map[string]any{"fields": map[string]any{
		"project": map[string]any{"key": "CHG"}, "issuetype": map[string]any{"name": "Change"},
		"summary": "s", "description": "d", "labels": []string{"a", "b"}, "duedate": "2026-01-06",
		"customfield_10010": "platform",
	}})
	want := map[string]any{"id": "10001", "key": "CHG-1", "self": c.s.URL() + "/rest/api/2/issue/10001"}
	if code != http.StatusCreated || !cmp.Equal(out, want) {
		t.Fatalf("create: %d %v", code, out)
	}
	for _, ref := range []string{"CHG-1", "10001", "chg-1"} {
		code, out = c.do("GET", "/rest/api/2/issue/"+ref, nil)
		if code != 200 || out["key"] != "CHG-1" || out["id"] != "10001" {
			t.Fatalf("get %s: %d %v", ref, code, out)
		}
	}
	f := out["fields"].(map[string]any)
	if f["summary"] != "s" || f["description"] != "d" || !cmp.Equal(f["labels"], []any{"a", "b"}) ||
		f["duedate"] != "2026-01-06" || f["customfield_10010"] != "platform" {
		t.Errorf("fields %v", f)
	}
	if st := f["status"].(map[string]any); st["name"] != "Open" || st["id"] == "" || st["statusCategory"].(map[string]any)["key"] != "new" {
		t.Errorf("status %v", st)
	}
	if f["issuetype"].(map[string]any)["name"] != "Change" || f["project"].(map[string]any)["key"] != "CHG" {
		t.Errorf("type/project %v %v", f["issuetype"], f["project"])
	}
	if cm := f["comment"].(map[string]any); cm["total"] != 0.0 || len(cm["comments"].([]any)) != 0 {
		t.Errorf("comment %v", cm)
	}
	// ?fields= filters.
	_, out = c.do("GET", "/rest/api/2/issue/CHG-1?fields=status", nil)
	if f := out["fields"].(map[string]any); len(f) != 1 || f["status"] == nil {
		t.Errorf("fields=status gave %v", f)
	}
	code, out = c.do("GET", "/rest/api/2/issue/CHG-9", nil)
	if code != 404 || !cmp.Equal(out, map[string]any{"errorMessages": []any{"Issue does not exist or you do not have permission to see it."}, "errors": map[string]any{}}) {
		t.Errorf("missing issue: %d %v", code, out)
	}
	is, _ := c.s.Issue("CHG-1")
	if is.Summary != "s" || is.Status != "Open" || is.Fields["customfield_10010"] != "platform" || is.Created.IsZero() {
		t.Errorf("Issue %+v", is)
	}
}

func TestCreateValidates(t *testing.T) {
	c := newClient(t, Options{Fields: []string{"customfield_1"}})
	base := func() map[string]any {
		return map[string]any{"project": map[string]any{"key": "CHG"}, "issuetype": map[string]any{"name": "Change"}, "summary": "s"}
	}
	for _, tc := range []struct {
		name  string
		edit  func(f map[string]any)
		field string
	}{
		{"project", func(f map[string]any) { f["project"] = map[string]any{"key": "X"} }, "project"},
		{"issue type", func(f map[string]any) { f["issuetype"] = map[string]any{"name": "Bug"} }, "issuetype"},
		{"no summary", func(f map[string]any) { delete(f, "summary") }, "summary"},
		{"summary newline", func(f map[string]any) { f["summary"] = "a\nb" }, "summary"},
		{"summary too long", func(f map[string]any) { f["summary"] = strings.Repeat("x", 256) }, "summary"},
		{"label with space", func(f map[string]any) { f["labels"] = []string{"a b"} }, "labels"},
		{"bad due date", func(f map[string]any) { f["duedate"] = "06/01/2026" }, "duedate"},
		{"ADF description", func(f map[string]any) { f["description"] = map[string]any{"type": "doc"} }, "description"},
		{"field not on screen", func(f map[string]any) { f["customfield_2"] = "x" }, "customfield_2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := base()
			tc.edit(f)
			code, out := c.do("POST", "/rest/api/2/issue", map[string]any{"fields": f})
			errs, _ := out["errors"].(map[string]any)
			if code != 400 || errs[tc.field] == nil || out["errorMessages"] == nil {
				t.Errorf("%d %v", code, out)
			}
		})
	}
	if code, out := c.do("POST", "/rest/api/2/issue", "not an object"); code != 400 || len(out["errorMessages"].([]any)) != 1 {
		t.Errorf("bad body: %d %v", code, out)
	}
	f := base()
	f["customfield_1"] = "ok"
	if code, out := c.do("POST", "/rest/api/2/issue", map[string]any{"fields": f}); code != 201 {
		t.Errorf("screen field refused: %d %v", code, out)
	}
	if n := len(c.s.Issues()); n != 1 {
		t.Errorf("%d issues", n)
	}
}

func TestSearch(t *testing.T) {
	c := newClient(t, Options{})
	c.create("one", "migratebot", "migratebot-k1")
	c.create("two", "migratebot", "migratebot-k2")
	c.create("three", "migratebot", "migratebot-k1", "emergency")
	for _, tc := range []struct {
		jql  string
		want []string
	}{
		{`project = "CHG" AND labels = "migratebot-k1" ORDER BY created ASC`, []string{"CHG-1", "CHG-3"}},
		{`project = CHG AND labels = migratebot-k1`, []string{"CHG-3", "CHG-1"}}, // default order: key DESC
		{`project="CHG" and labels="migratebot-k1" order by key desc`, []string{"CHG-3", "CHG-1"}},
		{`labels in (migratebot-k2, "emergency") ORDER BY key`, []string{"CHG-2", "CHG-3"}},
		{`labels != emergency AND labels not in ("migratebot-k2") ORDER BY key`, []string{"CHG-1"}},
		{`labels = "migratebot-k9"`, nil},
		{`status = Open AND issuetype = "Change" AND key = CHG-2`, []string{"CHG-2"}},
		{`project = 'CHG' AND labels = "a \"quoted\" one"`, nil},
		{``, []string{"CHG-3", "CHG-2", "CHG-1"}},
	} {
		code, out := c.do("GET", search(tc.jql), nil)
		if code != 200 {
			t.Errorf("%s: %d %v", tc.jql, code, out)
			continue
		}
		if got := keys(out); !cmp.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.jql, got, tc.want)
		}
		if out["total"] != float64(len(tc.want)) || out["startAt"] != 0.0 || out["maxResults"] != 50.0 {
			t.Errorf("%s: paging %v %v %v", tc.jql, out["total"], out["startAt"], out["maxResults"])
		}
	}
	// Paging, and fields.
	_, out := c.do("GET", search(`project = CHG ORDER BY key ASC`)+"&startAt=1&maxResults=1&fields=summary", nil)
	if got := keys(out); !cmp.Equal(got, []string{"CHG-2"}) || out["total"] != 3.0 {
		t.Errorf("page: %v", out)
	}
	is := out["issues"].([]any)[0].(map[string]any)
	if f := is["fields"].(map[string]any); len(f) != 1 || f["summary"] != "two" || is["id"] != "10002" || is["self"] == nil {
		t.Errorf("issue in search: %v", is)
	}
}

func TestJQLItCannotParseIs400(t *testing.T) {
	c := newClient(t, Options{})
	for _, jql := range []string{
		`project = CHG OR labels = x`,
		`(project = CHG)`,
		`summary ~ "weights"`,
		`labels = x AND`,
		`labels is EMPTY`,
		`labels = "unclosed`,
		`labels = "bad \q escape"`,
		`project = CHG ORDER BY priority`,
		`project = CHG ORDER created`,
		`labels in (a, b`,
		`assignee = currentUser()`,
		`project = NOPE`,
		`labels = and`,
	} {
		code, out := c.do("GET", search(jql), nil)
		msgs, _ := out["errorMessages"].([]any)
		if code != 400 || len(msgs) != 1 {
			t.Errorf("%s: %d %v", jql, code, out)
		}
	}
}

func TestCloudSearch(t *testing.T) {
	c := newClient(t, Options{Cloud: true})
	c.create("one", "x")
	c.create("two", "x")
	c.create("three", "x")
	if code, out := c.do("GET", search(`labels = x`), nil); code != http.StatusGone || len(out["errorMessages"].([]any)) != 1 {
		t.Errorf("legacy search on Cloud: %d %v", code, out)
	}
	jql := "/rest/api/2/search/jql?" + url.Values{"jql": {`labels = x ORDER BY key`}}.Encode()
	code, out := c.do("GET", jql, nil)
	want := map[string]any{"isLast": true, "issues": []any{map[string]any{"id": "10001"}, map[string]any{"id": "10002"}, map[string]any{"id": "10003"}}}
	if code != 200 || !cmp.Equal(out, want) {
		t.Errorf("ids only by default: %d %v", code, out)
	}
	_, out = c.do("GET", jql+"&maxResults=2&fields=summary", nil)
	if got := keys(out); !cmp.Equal(got, []string{"CHG-1", "CHG-2"}) || out["isLast"] != false || out["nextPageToken"] == nil {
		t.Errorf("page 1: %v", out)
	}
	_, out = c.do("GET", jql+"&maxResults=2&fields=summary&nextPageToken="+out["nextPageToken"].(string), nil)
	if got := keys(out); !cmp.Equal(got, []string{"CHG-3"}) || out["isLast"] != true {
		t.Errorf("page 2: %v", out)
	}
	if code, _ := c.do("GET", "/rest/api/2/search/jql", nil); code != 400 {
		t.Errorf("unbounded query: %d", code)
	}
	dc := newClient(t, Options{})
	if code, _ := dc.do("GET", jql, nil); code != 404 {
		t.Errorf("search/jql on Data Center: %d", code)
	}
}

func TestWorkflowAndComments(t *testing.T) {
	c := newClient(t, Options{})
	key := c.create("s")
	names := func() []string {
		_, out := c.do("GET", "/rest/api/2/issue/"+key+"/transitions", nil)
		var ns []string
		for _, tr := range out["transitions"].([]any) {
			m := tr.(map[string]any)
			ns = append(ns, m["id"].(string)+" "+m["name"].(string)+" → "+m["to"].(map[string]any)["name"].(string))
		}
		return ns
	}
	if got := names(); !cmp.Equal(got, []string{"11 Approve → Approved", "41 Cancel → Cancelled"}) {
		t.Errorf("from Open: %v", got)
	}
	if code, out := c.do("POST", "/rest/api/2/issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "31"}}); code != 400 ||
		!cmp.Equal(out["errorMessages"], []any{"Transition id '31' is not valid for this issue."}) {
		t.Errorf("Close from Open: %d %v", code, out)
	}
	if code, _ := c.do("POST", "/rest/api/2/issue/"+key+"/transitions", map[string]any{}); code != 400 {
		t.Errorf("no transition: %d", code)
	}
	if code, out := c.do("POST", "/rest/api/2/issue/"+key+"/transitions", map[string]any{
		"transition": map[string]any{"id": "11"},
		"update":     map[string]any{"comment": []any{map[string]any{"add": map[string]any{"body": "via transition"}}}},
	}); code != 204 || out != nil {
		t.Errorf("Approve: %d %v", code, out)
	}
	if got := names(); !cmp.Equal(got, []string{"21 Implement → Implemented", "41 Cancel → Cancelled"}) {
		t.Errorf("from Approved: %v", got)
	}
	code, out := c.do("POST", "/rest/api/2/issue/"+key+"/comment", map[string]any{"body": "hello"})
	if code != 201 || out["body"] != "hello" || out["id"] == nil || out["author"].(map[string]any)["emailAddress"] != "migratebot@example.com" {
		t.Errorf("comment: %d %v", code, out)
	}
	if code, out := c.do("POST", "/rest/api/2/issue/"+key+"/comment", map[string]any{"body": " "}); code != 400 || out["errors"].(map[string]any)["comment"] == nil {
		t.Errorf("empty comment: %d %v", code, out)
	}
	_, out = c.do("GET", "/rest/api/2/issue/"+key+"/comment", nil)
	if out["total"] != 2.0 {
		t.Errorf("comments %v", out)
	}
	is, _ := c.s.Issue(key)
	if is.Status != "Approved" || !cmp.Equal(is.History, []string{"Open", "Approved"}) || len(is.Comments) != 2 || is.Comments[0].Body != "via transition" {
		t.Errorf("issue %+v", is)
	}
	if err := c.s.SetStatus(key, "closed"); err != nil {
		t.Fatal(err)
	}
	if got := names(); len(got) != 0 {
		t.Errorf("from Closed: %v", got)
	}
	_, out = c.do("GET", "/rest/api/2/issue/"+key+"?fields=status", nil)
	if st := out["fields"].(map[string]any)["status"].(map[string]any); st["name"] != "Closed" || st["statusCategory"].(map[string]any)["key"] != "done" {
		t.Errorf("status %v", st)
	}
	if err := c.s.SetStatus(key, "Nowhere"); err == nil {
		t.Error("SetStatus to a status not in the workflow")
	}
}

func TestAuth(t *testing.T) {
	c := newClient(t, Options{Email: "bot@acme.com", Token: "tok"})
	for _, tc := range []struct {
		name string
		auth func(*http.Request)
		want int
	}{
		{"basic", func(r *http.Request) { r.SetBasicAuth("bot@acme.com", "tok") }, 200},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer tok") }, 200},
		{"none", func(*http.Request) {}, 401},
		{"wrong token", func(r *http.Request) { r.SetBasicAuth("bot@acme.com", "nope") }, 401},
		{"wrong email", func(r *http.Request) { r.SetBasicAuth("eve@acme.com", "tok") }, 401},
		{"wrong bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }, 401},
	} {
		c.auth = tc.auth
		code, out := c.do("GET", search(""), nil)
		if code != tc.want {
			t.Errorf("%s: %d %v", tc.name, code, out)
		}
		if code == 401 && len(out["errorMessages"].([]any)) != 1 {
			t.Errorf("%s: %v", tc.name, out)
		}
	}
	if n := c.s.Calls()["GET /rest/api/2/search"]; n != 6 {
		t.Errorf("%d calls counted", n)
	}
}

func TestFailuresAndDown(t *testing.T) {
	c := newClient(t, Options{})
	c.s.FailNext("POST", "/rest/api/2/issue", 429, 2)
	for range 2 {
		req, _ := http.NewRequest("POST", c.s.URL()+"/rest/api/2/issue", strings.NewReader(`{}`))
		resp, err := http.DefaultClient.Do(req) // not even authenticated: failures come first
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("%d %v", resp.StatusCode, resp.Header)
		}
	}
	key := c.create("after the failures")

	c.s.FailNextAfter("POST", "/rest/api/2/issue/"+key+"/comment", 504, 1)
	if code, _ := c.do("POST", "/rest/api/2/issue/"+key+"/comment", map[string]any{"body": "lost answer"}); code != 504 {
		t.Errorf("lost answer: %d", code)
	}
	if is, _ := c.s.Issue(key); len(is.Comments) != 1 {
		t.Errorf("the call was not handled: %v", is.Comments)
	}

	c.s.SetDown(true)
	for _, p := range []string{"/rest/api/2/issue/" + key, search("")} {
		if code, _ := c.do("GET", p, nil); code != 503 {
			t.Errorf("down: %s %d", p, code)
		}
	}
	c.s.SetDown(false)
	if code, _ := c.do("GET", "/rest/api/2/issue/"+key, nil); code != 200 {
		t.Errorf("up: %d", code)
	}
	want := map[string]int{
		"POST /rest/api/2/issue":                3,
		"POST /rest/api/2/issue/CHG-1/comment":  1,
		"GET /rest/api/2/issue/CHG-1":           2,
		"GET /rest/api/2/search":                1,
		"GET /rest/api/2/issue/CHG-1/comment":   0,
		"POST /rest/api/2/issue/CHG-1/comments": 0,
	}
	got := c.s.Calls()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("calls[%s] = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

func TestIssuesAreCopies(t *testing.T) {
	c := newClient(t, Options{})
	key := c.create("s", "a")
	is, _ := c.s.Issue(key)
	is.Labels[0] = "changed"
	is.Fields["summary"] = "changed"
	if again, _ := c.s.Issue(key); again.Labels[0] != "a" || again.Fields["summary"] != "s" {
		t.Errorf("the emulator's issue changed through a copy: %+v", again)
	}
}

func TestWorkflowChecked(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a workflow with a duplicate transition id was accepted")
		}
	}()
	New(Options{Workflow: []Transition{{ID: "1", Name: "A", To: "X"}, {ID: "1", Name: "B", To: "Y"}}}).Close()
}
