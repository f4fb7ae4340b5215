package jira_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/jira"
	"github.com/migratebot/migratebot/test/jiraemu"
)

var transitions = map[bot.TicketState]string{
	bot.TicketApproved:    "Approve",
	bot.TicketImplemented: "implement", // names match case-insensitively
	bot.TicketClosed:      "Close",
	bot.TicketCancelled:   "Cancel",
}

// setup starts an emulator and a client of it; edit adjusts the client's
// config (the emulator's URL, project, issue type, Cloud auth and fast
// retries are set).
func setup(t *testing.T, opts jiraemu.Options, edit func(*jira.Config)) (*jiraemu.Server, *jira.Client) {
	t.Helper()
	emu := jiraemu.New(opts)
	t.Cleanup(emu.Close)
	o := emu.Options()
	cfg := jira.Config{
		URL:         emu.URL(),
		Project:     o.Project,
		IssueType:   o.IssueTypes[0],
		Transitions: transitions,
		Email:       o.Email,
		Token:       o.Token,
		RetryWait:   5 * time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := jira.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return emu, c
}

func spec(key string) bot.TicketSpec {
	return bot.TicketSpec{
		Key:          key,
		Title:        "web-api: weights 25% to aws",
		Body:         "Moves 25% of web-api's traffic.\n\n- service: web-api\n- environment: prod",
		Service:      "web-api",
		Environment:  "prod",
		ChangeType:   "normal",
		PlannedStart: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
		PlannedEnd:   time.Date(2026, 1, 6, 17, 0, 0, 0, time.UTC),
	}
}

func mustIssue(t *testing.T, emu *jiraemu.Server, key string) jiraemu.Issue {
	t.Helper()
	is, ok := emu.Issue(key)
	if !ok {
		t.Fatalf("no issue %s", key)
	}
	return is
}

func comments(is jiraemu.Issue) []string {
	var out []string
	for _, c := range is.Comments {
		out = append(out, c.Body)
	}
	return out
}

func TestCreate(t *testing.T) {
	fields := map[string]any{
		"customfield_10010": "platform",
		"priority":          map[string]any{"name": "High"},
		"labels":            []string{"dns", "migratebot"},
	}
	for _, tc := range []struct {
		name string
		opts jiraemu.Options
		edit func(*jira.Config)
		// author is who the emulator saw comment: the email for basic
		// auth, "pat" for a Bearer token.
		author string
	}{
		{name: "cloud basic auth", opts: jiraemu.Options{Cloud: true}, author: "migratebot@example.com"},
		{name: "data center bearer", opts: jiraemu.Options{Project: "OPS", IssueTypes: []string{"Task", "Change Request"}},
			edit: func(c *jira.Config) { c.Email = ""; c.IssueType = "Change Request" }, author: "pat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu, c := setup(t, tc.opts, func(c *jira.Config) {
				c.Fields = fields
				if tc.edit != nil {
					tc.edit(c)
				}
			})
			ctx := context.Background()
			s := spec("web-api-20260105-090000/weights-25")
			tk, err := c.Create(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			o := emu.Options()
			key := o.Project + "-1"
			want := bot.Ticket{System: "jira", ID: key, Number: key, URL: emu.URL() + "/browse/" + key}
			if diff := cmp.Diff(want, tk); diff != "" {
				t.Errorf("ticket (-want +got):\n%s", diff)
			}
			is := mustIssue(t, emu, key)
			if is.Summary != s.Title || is.Description != s.Body || is.Status != "Open" {
				t.Errorf("issue %+v", is)
			}
			if is.IssueType != (map[bool]string{true: "Change", false: "Change Request"})[tc.opts.Cloud] {
				t.Errorf("issue type %q", is.IssueType)
			}
			wantLabels := []string{"migratebot", jira.KeyLabel(s.Key), "dns"}
			if diff := cmp.Diff(wantLabels, is.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if is.Fields["customfield_10010"] != "platform" || !cmp.Equal(is.Fields["priority"], map[string]any{"name": "High"}) {
				t.Errorf("extra fields not set: %v", is.Fields)
			}
			if is.Fields["duedate"] != "2026-01-06" {
				t.Errorf("duedate %v", is.Fields["duedate"])
			}
			if err := c.Comment(ctx, tk, "hello"); err != nil {
				t.Fatal(err)
			}
			if is := mustIssue(t, emu, key); len(is.Comments) != 1 || is.Comments[0].Author != tc.author {
				t.Errorf("comments %+v, want one by %s", is.Comments, tc.author)
			}
			search := "GET /rest/api/2/search"
			if tc.opts.Cloud {
				search += "/jql"
			}
			if n := emu.Calls()[search]; n != 1 {
				t.Errorf("%s called %d times: %v", search, n, emu.Calls())
			}
		})
	}
}

func TestCreateIsIdempotentByKey(t *testing.T) {
	for _, cloud := range []bool{false, true} {
		emu, c := setup(t, jiraemu.Options{Cloud: cloud}, nil)
		ctx := context.Background()
		first, err := c.Create(ctx, spec("web-api/weights-25"))
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.Create(ctx, spec("web-api/weights-25"))
		if err != nil {
			t.Fatal(err)
		}
		other, err := c.Create(ctx, spec("web-api/weights-50"))
		if err != nil {
			t.Fatal(err)
		}
		if first != again || other == first {
			t.Errorf("cloud=%v: first %v, again %v, other %v", cloud, first, again, other)
		}
		if n := len(emu.Issues()); n != 2 {
			t.Errorf("cloud=%v: %d issues, want 2", cloud, n)
		}
		if cloud {
			// The removed search is tried once, then never again.
			if n := emu.Calls()["GET /rest/api/2/search"]; n != 1 {
				t.Errorf("legacy search called %d times", n)
			}
		}
	}
}

// TestCreateFindsTheOriginalNotAClone: a clone carries its original's
// labels; the oldest issue is the ticket.
func TestCreateFindsTheOriginalNotAClone(t *testing.T) {
	emu, c := setup(t, jiraemu.Options{}, nil)
	ctx := context.Background()
	first, err := c.Create(ctx, spec("k1"))
	if err != nil {
		t.Fatal(err)
	}
	// Someone clones it by hand.
	cl, err := jira.New(jira.Config{URL: emu.URL(), Project: "CHG", IssueType: "Change", Token: "emu-token",
		Fields: map[string]any{"labels": []string{jira.KeyLabel("k1")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Create(ctx, spec("clone")); err != nil {
		t.Fatal(err)
	}
	got, err := c.Create(ctx, spec("k1"))
	if err != nil || got != first {
		t.Errorf("got %v, %v; want %v", got, err, first)
	}
}

func TestEmergencyLabel(t *testing.T) {
	emu, c := setup(t, jiraemu.Options{}, nil)
	s := spec("web-api/rollback-1")
	s.ChangeType = "emergency"
	tk, err := c.Create(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if is := mustIssue(t, emu, tk.ID); !strings.Contains(strings.Join(is.Labels, " "), "emergency") {
		t.Errorf("labels %v", is.Labels)
	}
	tk2, err := c.Create(context.Background(), spec("web-api/weights-1"))
	if err != nil {
		t.Fatal(err)
	}
	if is := mustIssue(t, emu, tk2.ID); strings.Contains(strings.Join(is.Labels, " "), "emergency") {
		t.Errorf("normal change labelled emergency: %v", is.Labels)
	}
}

func TestSummaryAndPlannedFields(t *testing.T) {
	emu, c := setup(t, jiraemu.Options{Fields: []string{"customfield_1", "customfield_2"}}, func(c *jira.Config) {
		c.PlannedStartField, c.PlannedEndField = "customfield_1", "customfield_2"
	})
	s := spec("long")
	s.Title = "line one\nline two " + strings.Repeat("x", 300)
	tk, err := c.Create(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	is := mustIssue(t, emu, tk.ID)
	if strings.Contains(is.Summary, "\n") || len([]rune(is.Summary)) > 255 || !strings.HasPrefix(is.Summary, "line one line two x") {
		t.Errorf("summary %q", is.Summary)
	}
	if is.Fields["customfield_1"] != "2026-01-05T09:00:00.000+0000" || is.Fields["customfield_2"] != "2026-01-06T17:00:00.000+0000" {
		t.Errorf("planned fields %v, %v", is.Fields["customfield_1"], is.Fields["customfield_2"])
	}
}

func TestCreateErrorsDecoded(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*jira.Config)
		want string
	}{
		{"issue type", func(c *jira.Config) { c.IssueType = "Chnage" },
			`jira: create Chnage issue in CHG: 400 issuetype: Specify a valid issue type`},
		{"field not on screen", func(c *jira.Config) { c.Fields = map[string]any{"customfield_9": 1} },
			`jira: create Change issue in CHG: 400 customfield_9: Field 'customfield_9' cannot be set. It is not on the appropriate screen, or unknown.`},
		{"project", func(c *jira.Config) { c.Project = "NOPE" },
			`jira: search NOPE for label migratebot-k: 400 The value 'NOPE' does not exist for the field 'project'.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu, c := setup(t, jiraemu.Options{Fields: []string{}}, tc.edit)
			_, err := c.Create(context.Background(), spec("k"))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
			var je *jira.Error
			if !errors.As(err, &je) || je.StatusCode != 400 || je.Attempts != 1 {
				t.Errorf("not a single-attempt *jira.Error 400: %#v", err)
			}
			if n := len(emu.Issues()); n != 0 {
				t.Errorf("%d issues", n)
			}
		})
	}
}

func TestMoveThroughTheLifecycle(t *testing.T) {
	emu, c := setup(t, jiraemu.Options{}, nil)
	ctx := context.Background()
	tk, err := c.Create(ctx, spec("k"))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		to      bot.TicketState
		comment string
		status  string
	}{
		{bot.TicketApproved, "approved by @alice in Slack", "Approved"},
		{bot.TicketImplemented, "PR #12 merged", "Implemented"},
		{bot.TicketClosed, "health checks green for 30m", "Closed"},
	}
	for _, s := range steps {
		if err := c.Move(ctx, tk, s.to, s.comment); err != nil {
			t.Fatalf("move to %s: %v", s.to, err)
		}
		if is := mustIssue(t, emu, tk.ID); is.Status != s.status {
			t.Fatalf("after move to %s: status %s", s.to, is.Status)
		}
	}
	is := mustIssue(t, emu, tk.ID)
	if diff := cmp.Diff([]string{"Open", "Approved", "Implemented", "Closed"}, is.History); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"approved by @alice in Slack", "PR #12 merged", "health checks green for 30m"}, comments(is)); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
	// A state with no transition configured is only commented.
	if err := c.Move(ctx, tk, bot.TicketOpen, "note"); err != nil {
		t.Fatal(err)
	}
	if is := mustIssue(t, emu, tk.ID); is.Status != "Closed" || len(is.Comments) != 4 {
		t.Errorf("status %s, %d comments", is.Status, len(is.Comments))
	}
}

func TestMoveToTheStatusItIsIn(t *testing.T) {
	renamed := []jiraemu.Transition{
		{ID: "5", Name: "Authorise", From: []string{"Open"}, To: "Authorised"},
		{ID: "6", Name: "Withdraw", To: "Withdrawn"}, // global: offered even from Withdrawn
	}
	for _, tc := range []struct {
		name   string
		opts   jiraemu.Options
		edit   func(*jira.Config)
		to     bot.TicketState
		status string
	}{
		{name: "transition no longer offered, status named like the state", to: bot.TicketApproved, status: "Approved"},
		{name: "transition no longer offered, status configured", opts: jiraemu.Options{Workflow: renamed},
			edit: func(c *jira.Config) {
				c.Transitions = map[bot.TicketState]string{bot.TicketApproved: "Authorise"}
				c.Statuses = map[bot.TicketState]string{bot.TicketApproved: "authorised"}
			}, to: bot.TicketApproved, status: "Authorised"},
		{name: "global transition offered from its own target", opts: jiraemu.Options{Workflow: renamed},
			edit: func(c *jira.Config) { c.Transitions = map[bot.TicketState]string{bot.TicketCancelled: "Withdraw"} },
			to:   bot.TicketCancelled, status: "Withdrawn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu, c := setup(t, tc.opts, tc.edit)
			ctx := context.Background()
			tk, err := c.Create(ctx, spec("k"))
			if err != nil {
				t.Fatal(err)
			}
			if err := emu.SetStatus(tk.ID, tc.status); err != nil {
				t.Fatal(err)
			}
			if err := c.Move(ctx, tk, tc.to, "again"); err != nil {
				t.Fatal(err)
			}
			is := mustIssue(t, emu, tk.ID)
			if is.Status != tc.status || len(is.History) != 2 {
				t.Errorf("status %s, history %v", is.Status, is.History)
			}
			if diff := cmp.Diff([]string{"again"}, comments(is)); diff != "" {
				t.Errorf("comments (-want +got):\n%s", diff)
			}
			if n := emu.Calls()["POST /rest/api/2/issue/"+tk.ID+"/transitions"]; n != 0 {
				t.Errorf("%d transitions posted", n)
			}
		})
	}
}

// TestMoveRetriedAfterSuccess: the engine retries a move whose outcome it
// did not record; the transition is not offered any more (learned target
// status "Implemented" is recognised) and only the comment is added.
func TestMoveRetriedAfterSuccess(t *testing.T) {
	emu, c := setup(t, jiraemu.Options{}, nil)
	ctx := context.Background()
	tk, _ := c.Create(ctx, spec("k"))
	for _, to := range []bot.TicketState{bot.TicketApproved, bot.TicketImplemented, bot.TicketImplemented} {
		if err := c.Move(ctx, tk, to, string(to)); err != nil {
			t.Fatal(err)
		}
	}
	is := mustIssue(t, emu, tk.ID)
	if diff := cmp.Diff([]string{"Open", "Approved", "Implemented"}, is.History); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if len(is.Comments) != 3 {
		t.Errorf("comments %v", comments(is))
	}
}

func TestMoveUnavailableTransition(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*jira.Config)
		to   bot.TicketState
		want string
	}{
		{name: "not offered from the status", to: bot.TicketClosed,
			want: `jira: move CHG-1 to closed: transition "Close" is not offered from status "Open" (on offer: "Approve", "Cancel")`},
		{name: "not in the workflow", edit: func(c *jira.Config) {
			c.Transitions = map[bot.TicketState]string{bot.TicketApproved: "Sign off"}
		}, to: bot.TicketApproved,
			want: `jira: move CHG-1 to approved: transition "Sign off" is not offered from status "Open" (on offer: "Approve", "Cancel")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu, c := setup(t, jiraemu.Options{}, tc.edit)
			ctx := context.Background()
			tk, _ := c.Create(ctx, spec("k"))
			err := c.Move(ctx, tk, tc.to, "should not be added")
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
			if is := mustIssue(t, emu, tk.ID); is.Status != "Open" || len(is.Comments) != 0 {
				t.Errorf("status %s, comments %v", is.Status, comments(is))
			}
		})
	}
}

func TestCancelFromOpen(t *testing.T) {
	emu, c := setup(t, jiraemu.Options{}, nil)
	ctx := context.Background()
	tk, _ := c.Create(ctx, spec("k"))
	if err := c.Move(ctx, tk, bot.TicketCancelled, "migration aborted by @bob"); err != nil {
		t.Fatal(err)
	}
	is := mustIssue(t, emu, tk.ID)
	if is.Status != "Cancelled" || !cmp.Equal(comments(is), []string{"migration aborted by @bob"}) {
		t.Errorf("status %s, comments %v", is.Status, comments(is))
	}
	// Again: nothing to do but the comment. An empty comment adds nothing.
	if err := c.Move(ctx, tk, bot.TicketCancelled, ""); err != nil {
		t.Fatal(err)
	}
	if is := mustIssue(t, emu, tk.ID); len(is.Comments) != 1 || len(is.History) != 2 {
		t.Errorf("comments %v, history %v", comments(is), is.History)
	}
}

func TestWrongTokenNotInError(t *testing.T) {
	const secret = "s3cr3t-ATATT-token"
	for _, tc := range []struct {
		name  string
		email string
	}{{"cloud basic", "migratebot@example.com"}, {"data center bearer", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			emu, c := setup(t, jiraemu.Options{}, func(c *jira.Config) { c.Email, c.Token = tc.email, secret })
			ctx := context.Background()
			_, err := c.Create(ctx, spec("k"))
			if err == nil {
				t.Fatal("created with a wrong token")
			}
			if !strings.Contains(err.Error(), "401") {
				t.Errorf("error %q does not say 401", err)
			}
			for _, e := range []error{err, c.Comment(ctx, bot.Ticket{System: "jira", ID: "CHG-1"}, "x"), c.Move(ctx, bot.Ticket{ID: "CHG-1"}, bot.TicketApproved, "x")} {
				if e == nil || strings.Contains(e.Error(), secret) || strings.Contains(e.Error(), "czNjcjN0") {
					t.Errorf("error %v (must fail, without the token)", e)
				}
			}
			if n := emu.Calls()["GET /rest/api/2/search"]; n != 1 {
				t.Errorf("401 retried: %d calls", n)
			}
		})
	}
}

func TestDownThenUp(t *testing.T) {
	emu, c := setup(t, jiraemu.Options{}, nil)
	ctx := context.Background()
	emu.SetDown(true)
	_, err := c.Create(ctx, spec("k"))
	if err == nil {
		t.Fatal("created while Jira is down")
	}
	if !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("error %q", err)
	}
	want := map[string]int{"GET /rest/api/2/search": 4} // 1 + 3 retries, then give up; no POST
	if diff := cmp.Diff(want, emu.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	emu.SetDown(false)
	tk, err := c.Create(ctx, spec("k"))
	if err != nil {
		t.Fatal(err)
	}
	if is := emu.Issues(); len(is) != 1 || is[0].Key != tk.ID {
		t.Errorf("issues %v", is)
	}
	if n := emu.Calls()["POST /rest/api/2/issue"]; n != 1 {
		t.Errorf("%d creates", n)
	}
}

func TestRateLimitedThenSuccess(t *testing.T) {
	emu, c := setup(t, jiraemu.Options{}, nil)
	emu.FailNext("POST", "/rest/api/2/issue", http.StatusTooManyRequests, 1) // Retry-After: 1
	start := time.Now()
	tk, err := c.Create(context.Background(), spec("k"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %s, before Retry-After's 1s", d)
	}
	if n := emu.Calls()["POST /rest/api/2/issue"]; n != 2 {
		t.Errorf("%d creates, want 2", n)
	}
	if is := emu.Issues(); len(is) != 1 || is[0].Key != tk.ID {
		t.Errorf("issues %v", is)
	}
}

// TestRetryAfterBeyondTimeout: a wait Jira asks for that outlasts the call's
// timeout is not waited; the error says what Jira asked.
func TestRetryAfterBeyondTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"errorMessages":["Rate limit exceeded."],"errors":{}}`))
	}))
	defer srv.Close()
	c, err := jira.New(jira.Config{URL: srv.URL, Project: "CHG", IssueType: "Change", Token: "t", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = c.Comment(context.Background(), bot.Ticket{ID: "CHG-1"}, "x")
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
	want := "jira: comment on CHG-1: 429 Rate limit exceeded. (Jira asks to retry after 2m0s)"
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

func TestTimeoutBoundsACall(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := jira.New(jira.Config{URL: srv.URL, Project: "CHG", IssueType: "Change", Token: "t", Timeout: 200 * time.Millisecond, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Create(context.Background(), spec("k"))
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("err %v after %s", err, time.Since(start))
	}
}

// TestLostAnswers: Jira did the work but the answer was lost on the way
// back. A create is not repeated blindly (that could file a second issue):
// the adapter looks for the issue and finds it. A transition is recognised
// as done by the issue's status.
func TestLostAnswers(t *testing.T) {
	emu, c := setup(t, jiraemu.Options{}, nil)
	ctx := context.Background()
	emu.FailNextAfter("POST", "/rest/api/2/issue", http.StatusGatewayTimeout, 1)
	tk, err := c.Create(ctx, spec("k"))
	if err != nil {
		t.Fatal(err)
	}
	if is := emu.Issues(); len(is) != 1 || is[0].Key != tk.ID {
		t.Errorf("issues %v, ticket %v", is, tk)
	}
	if n := emu.Calls()["POST /rest/api/2/issue"]; n != 1 {
		t.Errorf("%d creates, want 1", n)
	}

	emu.FailNextAfter("POST", "/rest/api/2/issue/"+tk.ID+"/transitions", http.StatusBadGateway, 1)
	if err := c.Move(ctx, tk, bot.TicketApproved, "ok"); err != nil {
		t.Fatal(err)
	}
	if is := mustIssue(t, emu, tk.ID); is.Status != "Approved" || len(is.Comments) != 1 {
		t.Errorf("status %s, comments %v", is.Status, comments(is))
	}
}

// TestFailedCreateNotRepeated: a 500 on create is not retried (Jira may have
// acted); the issue not being there, Create fails, and the caller's retry
// files exactly one.
func TestFailedCreateNotRepeated(t *testing.T) {
	emu, c := setup(t, jiraemu.Options{}, nil)
	ctx := context.Background()
	emu.FailNext("POST", "/rest/api/2/issue", http.StatusInternalServerError, 1)
	if _, err := c.Create(ctx, spec("k")); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("err %v", err)
	}
	if n := emu.Calls()["POST /rest/api/2/issue"]; n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	if _, err := c.Create(ctx, spec("k")); err != nil {
		t.Fatal(err)
	}
	if n := len(emu.Issues()); n != 1 {
		t.Errorf("%d issues", n)
	}
}

func TestTransientReadErrorsRetried(t *testing.T) {
	emu, c := setup(t, jiraemu.Options{}, nil)
	ctx := context.Background()
	tk, _ := c.Create(ctx, spec("k"))
	emu.FailNext("GET", "/rest/api/2/issue/"+tk.ID+"/transitions", http.StatusBadGateway, 2)
	if err := c.Move(ctx, tk, bot.TicketApproved, ""); err != nil {
		t.Fatal(err)
	}
	if n := emu.Calls()["GET /rest/api/2/issue/"+tk.ID+"/transitions"]; n != 3 {
		t.Errorf("%d transition lists, want 3", n)
	}
}

func TestMissingIssueIsNotFound(t *testing.T) {
	_, c := setup(t, jiraemu.Options{}, nil)
	ctx := context.Background()
	tk := bot.Ticket{System: "jira", ID: "CHG-404"}
	for _, err := range []error{c.Comment(ctx, tk, "x"), c.Move(ctx, tk, bot.TicketApproved, "x")} {
		if !errors.Is(err, bot.ErrNotFound) || !strings.Contains(err.Error(), "404 Issue does not exist") {
			t.Errorf("err %v", err)
		}
	}
	if err := c.Comment(ctx, bot.Ticket{System: "servicenow", ID: "abc"}, "x"); err == nil {
		t.Error("commented on a ServiceNow ticket")
	}
	if err := c.Comment(ctx, bot.Ticket{ID: "../../admin"}, "x"); err == nil {
		t.Error("accepted a path as a key")
	}
}

func TestNewChecksConfig(t *testing.T) {
	ok := jira.Config{URL: "https://acme.atlassian.net/", Project: "CHG", IssueType: "Change", Email: "bot@acme.com", Token: "tok"}
	if _, err := jira.New(ok); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*jira.Config)
		want string
	}{
		{"no URL", func(c *jira.Config) { c.URL = "" }, "no URL"},
		{"not http", func(c *jira.Config) { c.URL = "ftp://x" }, "not http"},
		{"no host", func(c *jira.Config) { c.URL = "https://" }, "no host"},
		{"credentials in URL", func(c *jira.Config) { c.URL = "https://bot:tok@acme.atlassian.net" }, "credentials go in Email and Token"},
		{"query", func(c *jira.Config) { c.URL = "https://acme.atlassian.net/?x=1" }, "no query"},
		{"no project", func(c *jira.Config) { c.Project = " " }, "no project"},
		{"no issue type", func(c *jira.Config) { c.IssueType = "" }, "no issue type"},
		{"no token", func(c *jira.Config) { c.Token = "" }, "no token"},
		{"token with a space", func(c *jira.Config) { c.Token = "a b" }, "spaces"},
		{"reserved field", func(c *jira.Config) { c.Fields = map[string]any{"summary": "x"} }, `field "summary" is set by the adapter`},
		{"labels not strings", func(c *jira.Config) { c.Fields = map[string]any{"labels": "x"} }, "list of strings"},
		{"label with a space", func(c *jira.Config) { c.Fields = map[string]any{"labels": []any{"a b"}} }, "has spaces"},
		{"field not JSON", func(c *jira.Config) { c.Fields = map[string]any{"x": func() {}} }, `field "x"`},
		{"unknown state", func(c *jira.Config) { c.Transitions = map[bot.TicketState]string{"done": "Done"} }, `no ticket state "done"`},
		{"empty transition", func(c *jira.Config) { c.Transitions = map[bot.TicketState]string{"closed": ""} }, "empty transition"},
		{"negative timeout", func(c *jira.Config) { c.Timeout = -1 }, "negative timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			_, err := jira.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "tok@") {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

func TestKeyLabel(t *testing.T) {
	safe := regexp.MustCompile(`^migratebot-[a-z0-9._-]+$`)
	long := strings.Repeat("svc-", 100)
	seen := map[string]string{}
	for _, key := range []string{
		"web-api-20260105-090000/weights-25", "web-api-20260105-090000_weights-25",
		"simple-key", "Simple-Key", "with space", "with_space", "ünïcode/ключ", long, long + "x", `quote"back\slash`,
	} {
		l := jira.KeyLabel(key)
		if !safe.MatchString(l) || len(l) > 255 {
			t.Errorf("KeyLabel(%q) = %q: not label-safe", key, l)
		}
		if l != jira.KeyLabel(key) {
			t.Errorf("KeyLabel(%q) not stable", key)
		}
		if prev, dup := seen[l]; dup {
			t.Errorf("%q and %q share label %q", prev, key, l)
		}
		seen[l] = key
	}
	if got := jira.KeyLabel("simple-key"); got != "migratebot-simple-key" {
		t.Errorf("a label-safe key is hashed: %q", got)
	}
}

// TestEchoedTokenRedacted: a proxy that echoes the request's credentials in
// its error page does not get the token into the error.
func TestEchoedTokenRedacted(t *testing.T) {
	const secret = "ATATT3xFfGF0-echoed-token"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("<html>bad request with " + r.Header.Get("Authorization") + "</html>"))
	}))
	defer srv.Close()
	for _, email := range []string{"bot@acme.com", ""} {
		c, err := jira.New(jira.Config{URL: srv.URL, Project: "CHG", IssueType: "Change", Email: email, Token: secret})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Comment(context.Background(), bot.Ticket{ID: "CHG-1"}, "x")
		basic := base64.StdEncoding.EncodeToString([]byte(email + ":" + secret))
		if err == nil || !strings.Contains(err.Error(), "400 <html>bad request with") ||
			strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), basic) {
			t.Errorf("err %v", err)
		}
	}
}

// TestRefusedConnectionRetried: a POST whose connection was never made is
// safe to retry, and is, a bounded number of times.
func TestRefusedConnectionRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	c, err := jira.New(jira.Config{URL: addr, Project: "CHG", IssueType: "Change", Token: "t", RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Comment(context.Background(), bot.Ticket{ID: "CHG-1"}, "x")
	if err == nil || !strings.Contains(err.Error(), "jira: comment on CHG-1: ") || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("err %v", err)
	}
}

// TestDownThenUpMidLifecycle: while Jira is down, moves and comments on an
// existing ticket fail with a clear error and change nothing; once it is
// back, the same calls (the engine's retries) land exactly once each.
func TestDownThenUpMidLifecycle(t *testing.T) {
	emu, c := setup(t, jiraemu.Options{}, nil)
	ctx := context.Background()
	tk, err := c.Create(ctx, spec("k"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Move(ctx, tk, bot.TicketApproved, "approved by @alice"); err != nil {
		t.Fatal(err)
	}

	emu.SetDown(true)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"move", c.Move(ctx, tk, bot.TicketImplemented, "PR #12 merged"), "jira: move CHG-1 to implemented: read status: 503 Jira is unavailable"},
		{"comment", c.Comment(ctx, tk, "health checks green"), "jira: comment on CHG-1: 503 Jira is unavailable"},
		{"cancel", c.Move(ctx, tk, bot.TicketCancelled, "aborted"), "jira: move CHG-1 to cancelled: read status: 503 Jira is unavailable"},
	} {
		if tc.err == nil || !strings.HasPrefix(tc.err.Error(), tc.want) {
			t.Errorf("%s while down: %v, want %q...", tc.name, tc.err, tc.want)
		}
	}
	if is := mustIssue(t, emu, tk.ID); is.Status != "Approved" || len(is.Comments) != 1 {
		t.Fatalf("changed while down: status %s, comments %v", is.Status, comments(is))
	}

	emu.SetDown(false)
	if err := c.Move(ctx, tk, bot.TicketImplemented, "PR #12 merged"); err != nil {
		t.Fatal(err)
	}
	if err := c.Comment(ctx, tk, "health checks green"); err != nil {
		t.Fatal(err)
	}
	if err := c.Move(ctx, tk, bot.TicketClosed, "done"); err != nil {
		t.Fatal(err)
	}
	is := mustIssue(t, emu, tk.ID)
	if diff := cmp.Diff([]string{"Open", "Approved", "Implemented", "Closed"}, is.History); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"approved by @alice", "PR #12 merged", "health checks green", "done"}, comments(is)); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
	if n := len(emu.Issues()); n != 1 {
		t.Errorf("%d issues", n)
	}
}

// TestCancelAfterApproval: a change approved, then abandoned, is cancelled;
// a cancelled ticket is not closed after all.
func TestCancelAfterApproval(t *testing.T) {
	emu, c := setup(t, jiraemu.Options{}, nil)
	ctx := context.Background()
	tk, _ := c.Create(ctx, spec("k"))
	for _, to := range []bot.TicketState{bot.TicketApproved, bot.TicketImplemented, bot.TicketCancelled} {
		if err := c.Move(ctx, tk, to, string(to)); err != nil {
			t.Fatalf("move to %s: %v", to, err)
		}
	}
	err := c.Move(ctx, tk, bot.TicketClosed, "too late")
	if err == nil || !strings.Contains(err.Error(), `transition "Close" is not offered from status "Cancelled"`) {
		t.Errorf("closing a cancelled ticket: %v", err)
	}
	is := mustIssue(t, emu, tk.ID)
	if diff := cmp.Diff([]string{"Open", "Approved", "Implemented", "Cancelled"}, is.History); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"approved", "implemented", "cancelled"}, comments(is)); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
}
