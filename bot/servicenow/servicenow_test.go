package servicenow_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/servicenow"
	"github.com/migratebot/migratebot/test/servicenowemu"
)

const (
	table = "/api/now/table/change_request"
	post  = "POST " + table
	list  = "GET " + table
)

// setup starts an emulator and a client of it, with fast retries; edit
// adjusts the client's config.
func setup(t *testing.T, edit func(*servicenow.Config)) (*servicenowemu.Server, *servicenow.Client) {
	t.Helper()
	emu := servicenowemu.New(servicenowemu.Options{})
	t.Cleanup(emu.Close)
	cfg := servicenow.Config{
		URL:       emu.URL(),
		Username:  servicenowemu.DefaultUsername,
		Password:  servicenowemu.DefaultPassword,
		RetryWait: time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := servicenow.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return emu, c
}

func spec(key string) bot.TicketSpec {
	cet := time.FixedZone("CET", 3600)
	return bot.TicketSpec{
		Key:          key,
		Title:        "web-api: weights 25% to aws",
		Body:         "Moves 25% of web-api's traffic.\n\n- service: web-api\n- environment: prod",
		Service:      "web-api",
		Environment:  "prod",
		ChangeType:   "normal",
		PlannedStart: time.Date(2026, 1, 5, 10, 0, 0, 0, cet), // 09:00 UTC
		PlannedEnd:   time.Date(2026, 1, 6, 18, 30, 0, 0, cet),
	}
}

func mustChange(t *testing.T, emu *servicenowemu.Server, tk bot.Ticket) servicenowemu.Change {
	t.Helper()
	ch, ok := emu.Change(tk.ID)
	if !ok {
		t.Fatalf("no change %s", tk.ID)
	}
	return ch
}

func TestCreateFilesAChangeWithItsFields(t *testing.T) {
	emu, c := setup(t, func(cfg *servicenow.Config) {
		cfg.AssignmentGroup = "Platform CAB"
		cfg.Fields = map[string]string{"category": "Network", "risk": "2"}
	})
	ctx := context.Background()
	s := spec("web-api-20260105-090000/weights-25")
	tk, err := c.Create(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	ch := mustChange(t, emu, tk)
	want := bot.Ticket{System: "servicenow", ID: ch.SysID, Number: "CHG0030001",
		URL: emu.URL() + "/nav_to.do?uri=change_request.do?sys_id=" + ch.SysID}
	if diff := cmp.Diff(want, tk); diff != "" {
		t.Errorf("ticket (-want +got):\n%s", diff)
	}
	wantFields := map[string]string{
		"short_description":   s.Title,
		"description":         s.Body,
		"correlation_id":      s.Key,
		"correlation_display": "migratebot",
		"type":                "normal",
		"start_date":          "2026-01-05 09:00:00", // UTC, ServiceNow's internal format
		"end_date":            "2026-01-06 17:30:00",
		"assignment_group":    "Platform CAB",
		"category":            "Network",
		"risk":                "2",
		"state":               "-5",
	}
	for k, v := range wantFields {
		if ch.Fields[k] != v {
			t.Errorf("%s = %q, want %q", k, ch.Fields[k], v)
		}
	}

	// An emergency change (a rollback), with no planned window and no
	// assignment group configured.
	emu2, c2 := setup(t, nil)
	r := spec("web-api/rollback-1")
	r.ChangeType = "emergency"
	r.PlannedStart, r.PlannedEnd = time.Time{}, time.Time{}
	tk2, err := c2.Create(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	ch2 := mustChange(t, emu2, tk2)
	if ch2.Fields["type"] != "emergency" || ch2.Fields["start_date"] != "" || ch2.Fields["end_date"] != "" || ch2.Fields["assignment_group"] != "" {
		t.Errorf("emergency change fields: %v", ch2.Fields)
	}

	for _, bad := range []string{"standard", "Emergency!"} {
		r.Key, r.ChangeType = "web-api/"+bad, bad
		if _, err := c2.Create(ctx, r); err == nil || !strings.Contains(err.Error(), "is not normal or emergency") {
			t.Errorf("change type %q: %v", bad, err)
		}
	}
	if _, err := c2.Create(ctx, bot.TicketSpec{Title: "no key"}); err == nil {
		t.Error("filed a change with no key")
	}
	if n := len(emu2.Changes()); n != 1 {
		t.Errorf("%d changes, want 1", n)
	}
}

func TestCreateIsIdempotentByKey(t *testing.T) {
	emu, c := setup(t, nil)
	ctx := context.Background()
	long := strings.Repeat("web-api/weights-", 10) // 160 characters: more than correlation_id holds
	keys := []string{
		"web-api/weights-25",
		"web-api/weights-50",
		"Web-API/Weights-25", // differs only by case: ServiceNow compares ignoring it
		"web-api weights^25", // a space and the query's ^
		long,
		long + "x", // the same first 100 characters
	}
	first := map[string]bot.Ticket{}
	for _, k := range keys {
		tk, err := c.Create(ctx, spec(k))
		if err != nil {
			t.Fatalf("create %q: %v", k, err)
		}
		first[k] = tk
	}
	for _, k := range keys {
		again, err := c.Create(ctx, spec(k))
		if err != nil {
			t.Fatalf("create %q again: %v", k, err)
		}
		if again != first[k] {
			t.Errorf("key %q: first %v, again %v", k, first[k], again)
		}
	}
	if n := len(emu.Changes()); n != len(keys) {
		t.Errorf("%d changes for %d keys", n, len(keys))
	}
	if n := emu.Calls()[post]; n != len(keys) {
		t.Errorf("%d POSTs for %d keys", n, len(keys))
	}
	for _, k := range keys {
		if got, want := mustChange(t, emu, first[k]).Fields["correlation_id"], servicenow.CorrelationID(k); got != want {
			t.Errorf("key %q filed under %q, want %q", k, got, want)
		}
	}
}

// TestLostAnswer: ServiceNow filed the change but the answer never came
// back; Create looks again before filing, and finds it.
func TestLostAnswer(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(*servicenowemu.Server)
		// posts is how many POSTs reach ServiceNow.
		posts int
	}{
		{"502 after filing", func(e *servicenowemu.Server) { e.FailNextAfter("POST", http.StatusBadGateway, 1) }, 1},
		{"504 after filing", func(e *servicenowemu.Server) { e.FailNextAfter("POST", http.StatusGatewayTimeout, 1) }, 1},
		{"connection cut after filing", func(e *servicenowemu.Server) { e.FailNextAfter("POST", 0, 1) }, 1},
		{"500 before filing", func(e *servicenowemu.Server) { e.FailNext("POST", http.StatusInternalServerError, 1) }, 2},
		{"lost twice", func(e *servicenowemu.Server) {
			e.FailNext("POST", http.StatusBadGateway, 1)
			e.FailNextAfter("POST", http.StatusBadGateway, 1)
		}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu, c := setup(t, nil)
			tc.fail(emu)
			tk, err := c.Create(context.Background(), spec("web-api/weights-25"))
			if err != nil {
				t.Fatal(err)
			}
			changes := emu.Changes()
			if len(changes) != 1 || changes[0].SysID != tk.ID || changes[0].Number != tk.Number {
				t.Fatalf("ticket %v, changes %+v", tk, changes)
			}
			if n := emu.Calls()[post]; n != tc.posts {
				t.Errorf("%d POSTs, want %d", n, tc.posts)
			}
			// The caller, not knowing, creates again: still one.
			again, err := c.Create(context.Background(), spec("web-api/weights-25"))
			if err != nil || again != tk || len(emu.Changes()) != 1 {
				t.Errorf("again: %v, %v; %d changes", again, err, len(emu.Changes()))
			}
		})
	}
}

// TestRefusedCreateNotRepeated: a 4xx cannot have filed anything; it is
// reported, not retried.
func TestRefusedCreateNotRepeated(t *testing.T) {
	emu, c := setup(t, nil)
	emu.FailNext("POST", http.StatusForbidden, 1)
	_, err := c.Create(context.Background(), spec("k"))
	var e *servicenow.Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusForbidden || !strings.Contains(err.Error(), "file the ServiceNow change of k") {
		t.Fatalf("err %v", err)
	}
	if n := emu.Calls()[post]; n != 1 {
		t.Errorf("%d POSTs, want 1", n)
	}
	if n := len(emu.Changes()); n != 0 {
		t.Errorf("%d changes", n)
	}
}

func TestLifecycle(t *testing.T) {
	emu, c := setup(t, nil)
	ctx := context.Background()
	tk, err := c.Create(ctx, spec("k"))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		to      bot.TicketState
		comment string
		state   string
	}{
		{bot.TicketApproved, "approved by @alice in Slack", "-2"},
		{bot.TicketImplemented, "PR #12 merged", "-1"},
		{bot.TicketImplemented, "retried: already implemented", "-1"},
		{bot.TicketClosed, "health checks green for 30m", "3"},
	}
	for _, s := range steps {
		if err := c.Move(ctx, tk, s.to, s.comment); err != nil {
			t.Fatalf("move to %s: %v", s.to, err)
		}
		if ch := mustChange(t, emu, tk); ch.State != s.state {
			t.Fatalf("after moving to %s: state %s, want %s", s.to, ch.State, s.state)
		}
	}
	if err := c.Comment(ctx, tk, "decommissioned the old stack"); err != nil {
		t.Fatal(err)
	}
	if err := c.Comment(ctx, tk, " "); err != nil {
		t.Fatal(err)
	}
	// Closing again only adds the note.
	if err := c.Move(ctx, tk, bot.TicketClosed, "closed again"); err != nil {
		t.Fatal(err)
	}

	ch := mustChange(t, emu, tk)
	if diff := cmp.Diff([]string{"-5", "-2", "-1", "3"}, ch.States); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	wantNotes := []string{"approved by @alice in Slack", "PR #12 merged", "retried: already implemented",
		"health checks green for 30m", "decommissioned the old stack", "closed again"}
	if diff := cmp.Diff(wantNotes, ch.WorkNotes); diff != "" {
		t.Errorf("work notes (-want +got):\n%s", diff)
	}
	if len(ch.Comments) != 0 {
		t.Errorf("customer-visible comments written: %v", ch.Comments)
	}
	if ch.Fields["close_code"] != "successful" || ch.Fields["close_notes"] != "health checks green for 30m" || ch.Fields["active"] != "false" {
		t.Errorf("closed change: close_code %q, close_notes %q, active %q", ch.Fields["close_code"], ch.Fields["close_notes"], ch.Fields["active"])
	}
}

func TestCloseWithoutCommentHasCloseNotes(t *testing.T) {
	emu, c := setup(t, nil)
	ctx := context.Background()
	tk, _ := c.Create(ctx, spec("k"))
	if err := c.Move(ctx, tk, bot.TicketClosed, ""); err != nil {
		t.Fatal(err)
	}
	ch := mustChange(t, emu, tk)
	if ch.State != "3" || ch.Fields["close_notes"] == "" || len(ch.WorkNotes) != 0 {
		t.Errorf("state %s, close_notes %q, work notes %v", ch.State, ch.Fields["close_notes"], ch.WorkNotes)
	}
}

func TestCancel(t *testing.T) {
	emu, c := setup(t, nil)
	ctx := context.Background()
	tk, _ := c.Create(ctx, spec("k"))
	if err := c.Move(ctx, tk, bot.TicketApproved, "approved"); err != nil {
		t.Fatal(err)
	}
	if err := c.Move(ctx, tk, bot.TicketCancelled, "migration aborted by @bob"); err != nil {
		t.Fatal(err)
	}
	ch := mustChange(t, emu, tk)
	if ch.State != "4" || !cmp.Equal(ch.States, []string{"-5", "-2", "4"}) || !cmp.Equal(ch.WorkNotes, []string{"approved", "migration aborted by @bob"}) {
		t.Errorf("cancelled change: %+v", ch)
	}
	// A cancelled change is final: ServiceNow refuses, and the error says so.
	err := c.Move(ctx, tk, bot.TicketClosed, "too late")
	if err == nil || !strings.Contains(err.Error(), "move ServiceNow change CHG0030001 to closed") || !strings.Contains(err.Error(), "403") ||
		!strings.Contains(err.Error(), "cannot be changed") {
		t.Errorf("closing a cancelled change: %v", err)
	}
	if ch := mustChange(t, emu, tk); ch.State != "4" {
		t.Errorf("state %s", ch.State)
	}
}

func TestConfiguredStates(t *testing.T) {
	emu, c := setup(t, func(cfg *servicenow.Config) {
		cfg.States = map[bot.TicketState]string{bot.TicketApproved: "-3", bot.TicketImplemented: "0"}
	})
	ctx := context.Background()
	tk, _ := c.Create(ctx, spec("k"))
	for _, to := range []bot.TicketState{bot.TicketApproved, bot.TicketImplemented, bot.TicketClosed} {
		if err := c.Move(ctx, tk, to, string(to)); err != nil {
			t.Fatal(err)
		}
	}
	if ch := mustChange(t, emu, tk); !cmp.Equal(ch.States, []string{"-5", "-3", "0", "3"}) {
		t.Errorf("states %v", ch.States)
	}
}

func TestBadTickets(t *testing.T) {
	emu, c := setup(t, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		tk   bot.Ticket
		want string
	}{
		{"jira ticket", bot.Ticket{System: "jira", ID: "CHG-1"}, "it is a jira ticket"},
		{"not a sys_id", bot.Ticket{System: "servicenow", ID: "../sys_user"}, "is not a sys_id"},
		{"no such change", bot.Ticket{System: "servicenow", ID: "0123456789abcdef0123456789abcdef", Number: "CHG0099999"},
			"ServiceNow answered 404 Not Found: No Record found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, err := range []error{c.Move(ctx, tc.tk, bot.TicketApproved, "x"), c.Comment(ctx, tc.tk, "x")} {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err %v, want %q", err, tc.want)
				}
			}
		})
	}
	if err := c.Move(ctx, bot.Ticket{ID: "0123456789abcdef0123456789abcdef"}, "done", ""); err == nil {
		t.Error("moved to a state that does not exist")
	}
	if n := len(emu.Changes()); n != 0 {
		t.Errorf("%d changes", n)
	}
}

func TestDownThenUp(t *testing.T) {
	emu, c := setup(t, nil)
	ctx := context.Background()
	open, err := c.Create(ctx, spec("web-api/weights-10"))
	if err != nil {
		t.Fatal(err)
	}

	emu.SetDown(true)
	_, err = c.Create(ctx, spec("web-api/weights-25"))
	if err == nil {
		t.Fatal("filed a change while ServiceNow is down")
	}
	for _, want := range []string{"look for the ServiceNow change of web-api/weights-25", "503", "Instance Unavailable", "after 4 attempts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if err := c.Move(ctx, open, bot.TicketApproved, "approved"); err == nil || !strings.Contains(err.Error(), "Instance Unavailable") {
		t.Errorf("move while down: %v", err)
	}
	if err := c.Comment(ctx, open, "note"); err == nil || !strings.Contains(err.Error(), "Instance Unavailable") {
		t.Errorf("comment while down: %v", err)
	}
	if n := emu.Calls()[post]; n != 1 {
		t.Errorf("%d POSTs: a change was filed blind while down", n)
	}

	emu.SetDown(false)
	tk, err := c.Create(ctx, spec("web-api/weights-25"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Move(ctx, open, bot.TicketApproved, "approved"); err != nil {
		t.Fatal(err)
	}
	if err := c.Comment(ctx, open, "note"); err != nil {
		t.Fatal(err)
	}
	changes := emu.Changes()
	if len(changes) != 2 || changes[1].SysID != tk.ID || changes[1].Fields["correlation_id"] != "web-api/weights-25" {
		t.Errorf("changes %+v", changes)
	}
	ch := mustChange(t, emu, open)
	if ch.State != "-2" || !cmp.Equal(ch.WorkNotes, []string{"approved", "note"}) {
		t.Errorf("state %s, work notes %v", ch.State, ch.WorkNotes)
	}
}

// TestDownUntilItComesBack: calls fail while ServiceNow is down, and the
// engine's later retries file the change exactly once when it is back.
func TestDownUntilItComesBack(t *testing.T) {
	emu, c := setup(t, nil)
	ctx := context.Background()
	emu.SetDown(true)
	for range 3 {
		if _, err := c.Create(ctx, spec("k")); err == nil {
			t.Fatal("filed while down")
		}
	}
	emu.SetDown(false)
	var tickets []bot.Ticket
	for range 2 {
		tk, err := c.Create(ctx, spec("k"))
		if err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, tk)
	}
	if len(emu.Changes()) != 1 || tickets[0] != tickets[1] || emu.Calls()[post] != 1 {
		t.Errorf("tickets %v, %d changes, %d POSTs", tickets, len(emu.Changes()), emu.Calls()[post])
	}
}

func TestTransientFailuresRetried(t *testing.T) {
	emu, c := setup(t, nil)
	ctx := context.Background()
	emu.FailNext("GET", http.StatusBadGateway, 2)
	tk, err := c.Create(ctx, spec("k"))
	if err != nil {
		t.Fatal(err)
	}
	if n := emu.Calls()[list]; n != 3 {
		t.Errorf("%d searches, want 3", n)
	}
	emu.FailNext("PATCH", http.StatusServiceUnavailable, 1)
	if err := c.Move(ctx, tk, bot.TicketApproved, "ok"); err != nil {
		t.Fatal(err)
	}
	if ch := mustChange(t, emu, tk); ch.State != "-2" || len(ch.WorkNotes) != 1 {
		t.Errorf("state %s, notes %v", ch.State, ch.WorkNotes)
	}
}

// TestRetryAfterBeyondTimeout: a wait ServiceNow asks for that outlasts the
// call's timeout is not waited.
func TestRetryAfterBeyondTimeout(t *testing.T) {
	emu, c := setup(t, func(cfg *servicenow.Config) { cfg.Timeout = 300 * time.Millisecond })
	emu.FailNext("GET", http.StatusTooManyRequests, 1) // Retry-After: 1
	start := time.Now()
	_, err := c.Create(context.Background(), spec("k"))
	if err == nil || !strings.Contains(err.Error(), "429") || time.Since(start) > 250*time.Millisecond {
		t.Errorf("err %v after %s", err, time.Since(start))
	}
}

// TestIgnoredQueryNotTakenForAMatch: an instance that ignores a query it
// cannot run answers some other change; Create must not take it for the
// ticket, nor file blindly.
func TestIgnoredQueryNotTakenForAMatch(t *testing.T) {
	posts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts++
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"result":[{"sys_id":"0123456789abcdef0123456789abcdef","number":"CHG0000001","correlation_id":"someone-else"}]}`))
	}))
	defer srv.Close()
	c, err := servicenow.New(servicenow.Config{URL: srv.URL, Username: "u", Password: "p", RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(context.Background(), spec("k"))
	if err == nil || !strings.Contains(err.Error(), "is the query ignored?") || posts != 0 {
		t.Errorf("err %v, %d POSTs", err, posts)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	ok := servicenow.Config{URL: "https://acme.service-now.com/", Username: "migratebot", Password: "hunter2-secret"}
	if _, err := servicenow.New(ok); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*servicenow.Config)
		want string
	}{
		{"no URL", func(c *servicenow.Config) { c.URL = "" }, "no URL"},
		{"not a URL", func(c *servicenow.Config) { c.URL = "https://acme.service-now.com/%zz" }, "is not a URL"},
		{"not http", func(c *servicenow.Config) { c.URL = "ftp://acme.service-now.com" }, "not an http(s) address"},
		{"no host", func(c *servicenow.Config) { c.URL = "https://" }, "not an http(s) address"},
		{"credentials in the URL", func(c *servicenow.Config) { c.URL = "https://migratebot:hunter2-secret@acme.service-now.com" }, "URL has credentials"},
		{"query", func(c *servicenow.Config) { c.URL = "https://acme.service-now.com/?sysparm_x=1" }, "has a query or fragment"},
		{"no username", func(c *servicenow.Config) { c.Username = "" }, "needs Username and Password"},
		{"no password", func(c *servicenow.Config) { c.Password = "" }, "needs Username and Password"},
		{"negative timeout", func(c *servicenow.Config) { c.Timeout = -time.Second }, "must not be negative"},
		{"negative retry wait", func(c *servicenow.Config) { c.RetryWait = -time.Second }, "must not be negative"},
		{"field the client writes", func(c *servicenow.Config) { c.Fields = map[string]string{"state": "3"} }, `may not set "state"`},
		{"journal field", func(c *servicenow.Config) { c.Fields = map[string]string{"comments": "x"} }, `may not set "comments"`},
		{"system field", func(c *servicenow.Config) { c.Fields = map[string]string{"sys_created_by": "x"} }, `may not set "sys_created_by"`},
		{"not a field name", func(c *servicenow.Config) { c.Fields = map[string]string{"Risk Level": "x"} }, `may not set "Risk Level"`},
		{"unknown ticket state", func(c *servicenow.Config) { c.States = map[bot.TicketState]string{"done": "3"} }, `"done" is not a ticket state`},
		{"empty state value", func(c *servicenow.Config) { c.States = map[bot.TicketState]string{bot.TicketClosed: " "} }, "no state value for closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			_, err := servicenow.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// TestPasswordNeverInErrors: not when ServiceNow refuses it, nor when a
// proxy or the instance echoes it back.
func TestPasswordNeverInErrors(t *testing.T) {
	const password = "hunter2-S3cret"
	basic := base64.StdEncoding.EncodeToString([]byte("migratebot:" + password))
	secretIn := func(err error) bool {
		return strings.Contains(err.Error(), password) || strings.Contains(err.Error(), basic)
	}
	ctx := context.Background()
	tk := bot.Ticket{System: "servicenow", ID: "0123456789abcdef0123456789abcdef"}

	t.Run("wrong password", func(t *testing.T) {
		emu, c := setup(t, func(cfg *servicenow.Config) { cfg.Username, cfg.Password = "migratebot", password })
		_, err := c.Create(ctx, spec("k"))
		var e *servicenow.Error
		if !errors.As(err, &e) || e.StatusCode != http.StatusUnauthorized || e.Message != "User Not Authenticated" || e.Attempts != 1 {
			t.Errorf("err %#v", err)
		}
		for _, err := range []error{err, c.Move(ctx, tk, bot.TicketApproved, "x"), c.Comment(ctx, tk, "x")} {
			if err == nil || secretIn(err) {
				t.Errorf("err %v (must fail, without the password)", err)
			}
		}
		if n := emu.Calls()[list]; n != 1 {
			t.Errorf("a 401 retried: %d searches", n)
		}
	})

	echo := map[string]http.HandlerFunc{
		"JSON error": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"message":"bad auth ` + r.Header.Get("Authorization") + `","detail":"password ` + password + `"},"status":"failure"}`))
		},
		"HTML page": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`<html><head><title>Denied ` + password + `</title></head></html>`))
		},
		"plain text": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte("denied " + r.Header.Get("Authorization")))
		},
		"not JSON on 200": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("welcome " + password))
		},
	}
	for name, h := range echo {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			c, err := servicenow.New(servicenow.Config{URL: srv.URL, Username: "migratebot", Password: password, RetryWait: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Create(ctx, spec("k"))
			for _, err := range []error{err, c.Move(ctx, tk, bot.TicketApproved, "x"), c.Comment(ctx, tk, "x")} {
				if err == nil || secretIn(err) || !strings.Contains(err.Error(), "[redacted]") {
					t.Errorf("err %v (must fail, the password redacted)", err)
				}
			}
		})
	}
}

// TestMoveAnswerLost: the move was made but its answer lost; the move is
// not made twice, so its work note is not written twice.
func TestMoveAnswerLost(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(*servicenowemu.Server)
	}{
		{"502 after the move", func(e *servicenowemu.Server) { e.FailNextAfter("PATCH", http.StatusBadGateway, 1) }},
		{"connection cut after the move", func(e *servicenowemu.Server) { e.FailNextAfter("PATCH", 0, 1) }},
		{"503 before the move", func(e *servicenowemu.Server) { e.FailNext("PATCH", http.StatusServiceUnavailable, 2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu, c := setup(t, nil)
			ctx := context.Background()
			tk, err := c.Create(ctx, spec("k"))
			if err != nil {
				t.Fatal(err)
			}
			tc.fail(emu)
			if err := c.Move(ctx, tk, bot.TicketApproved, "approved by @alice"); err != nil {
				t.Fatal(err)
			}
			ch := mustChange(t, emu, tk)
			if !cmp.Equal(ch.States, []string{"-5", "-2"}) || !cmp.Equal(ch.WorkNotes, []string{"approved by @alice"}) {
				t.Errorf("states %v, work notes %v", ch.States, ch.WorkNotes)
			}
		})
	}
}
