package github_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/github"
	"github.com/migratebot/migratebot/test/githubemu"
)

const (
	ticketsAppID = 4242
	ticketsOrg   = "acme"
	ticketsRepo  = "acme/changes"
)

// Generating an RSA key is slow under -race; the tests share one.
var ticketsKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// ticketsFixture starts the GitHub emulator with the app installed on acme
// and a repo for the tickets, and the real client's ticket system on it.
// transport, when not nil, wraps the client's base transport.
func ticketsFixture(t *testing.T, transport func(http.RoundTripper) http.RoundTripper) (*githubemu.Server, *github.IssueTickets) {
	t.Helper()
	key := ticketsKey()
	emu := githubemu.New(githubemu.Options{AppID: ticketsAppID, AppPublicKey: &key.PublicKey, BotLogin: "migratebot[bot]", WebhookSecret: "s3cret"})
	t.Cleanup(emu.Close)
	emu.AddInstallation(77, ticketsOrg)
	if err := emu.AddRepo(ticketsRepo, "main", map[string]string{"README.md": "# changes\n"}); err != nil {
		t.Fatal(err)
	}
	cfg := github.Config{
		AppID:      ticketsAppID,
		PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		APIURL:     emu.URL(),
		Timeout:    10 * time.Second,
	}
	if transport != nil {
		cfg.Transport = transport(http.DefaultTransport)
	}
	c, err := github.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return emu, c.Tickets(ticketsRepo)
}

func ticketSpec(key string) bot.TicketSpec {
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

func mustIssue(t *testing.T, emu *githubemu.Server, tk bot.Ticket) githubemu.Issue {
	t.Helper()
	n, err := strconv.Atoi(tk.ID)
	if err != nil {
		t.Fatalf("ticket %v: id is not an issue number", tk)
	}
	is, ok := emu.Issue(ticketsRepo, n)
	if !ok || tk.Number != ticketsRepo+"#"+tk.ID {
		t.Fatalf("no issue for ticket %v", tk)
	}
	return is
}

func bodies(is githubemu.Issue) []string {
	var out []string
	for _, c := range is.Comments {
		out = append(out, c.Body)
	}
	return out
}

// stateLabels are the labels of is that say a change's state.
func stateLabels(is githubemu.Issue) []string {
	var out []string
	for _, l := range is.Labels {
		if strings.HasPrefix(l, "change:") {
			out = append(out, l)
		}
	}
	return out
}

var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

func TestTicketsCreateAnIssue(t *testing.T) {
	emu, tickets := ticketsFixture(t, nil)
	ctx := context.Background()
	s := ticketSpec("web-api-20260105-090000/weights-25")
	tk, err := tickets.Create(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	want := bot.Ticket{System: "github", ID: "1", Number: "acme/changes#1", URL: "https://github.com/acme/changes/issues/1"}
	if diff := cmp.Diff(want, tk); diff != "" {
		t.Errorf("ticket (-want +got):\n%s", diff)
	}
	is, ok := emu.Issue(ticketsRepo, 1)
	if !ok {
		t.Fatal("no issue #1")
	}
	if is.Title != s.Title || is.State != "open" || is.Author != "migratebot[bot]" || is.IsPR {
		t.Errorf("issue %+v", is)
	}
	if !strings.HasPrefix(is.Body, s.Body) || !strings.Contains(is.Body, s.Key) {
		t.Errorf("body %q does not have the spec's body and key", is.Body)
	}
	var keyLabel string
	for _, l := range is.Labels {
		if strings.HasPrefix(l, "migratebot:") {
			keyLabel = l
		}
	}
	if diff := cmp.Diff([]string{"change", "migratebot", keyLabel}, is.Labels, sortStrings); diff != "" || keyLabel == "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}

	r := ticketSpec("web-api/rollback-1")
	r.ChangeType = "emergency"
	tk2, err := tickets.Create(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	is2 := mustIssue(t, emu, tk2)
	if !slices.Contains(is2.Labels, "emergency") || slices.Contains(is.Labels, "emergency") {
		t.Errorf("emergency labels: %v (normal change: %v)", is2.Labels, is.Labels)
	}
	if slices.Contains(is2.Labels, keyLabel) {
		t.Errorf("two keys share label %s", keyLabel)
	}
}

func TestTicketsCreateIsIdempotentByKey(t *testing.T) {
	emu, tickets := ticketsFixture(t, nil)
	ctx := context.Background()
	first, err := tickets.Create(ctx, ticketSpec("web-api/weights-25"))
	if err != nil {
		t.Fatal(err)
	}
	// Found again when closed, too.
	if err := tickets.Move(ctx, first, bot.TicketCancelled, "aborted"); err != nil {
		t.Fatal(err)
	}
	again, err := tickets.Create(ctx, ticketSpec("web-api/weights-25"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := tickets.Create(ctx, ticketSpec("web-api/weights-50"))
	if err != nil {
		t.Fatal(err)
	}
	if again != first || other == first {
		t.Errorf("first %v, again %v, other %v", first, again, other)
	}
	if n := len(emu.Issues(ticketsRepo)); n != 2 {
		t.Errorf("%d issues, want 2", n)
	}
}

func TestTicketsLifecycle(t *testing.T) {
	emu, tickets := ticketsFixture(t, nil)
	ctx := context.Background()
	tk, err := tickets.Create(ctx, ticketSpec("k"))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		to     bot.TicketState
		note   string
		labels []string // the state labels after the move
		state  string
		reason string
	}{
		{bot.TicketApproved, "approved by @alice in Slack", []string{"change:approved"}, "open", ""},
		{bot.TicketImplemented, "PR #12 merged", []string{"change:implemented"}, "open", ""},
		{bot.TicketImplemented, "retried", []string{"change:implemented"}, "open", ""},
		{bot.TicketClosed, "health checks green for 30m", []string{"change:closed"}, "closed", "completed"},
	}
	for _, s := range steps {
		if err := tickets.Move(ctx, tk, s.to, s.note); err != nil {
			t.Fatalf("move to %s: %v", s.to, err)
		}
		is := mustIssue(t, emu, tk)
		if diff := cmp.Diff(s.labels, stateLabels(is)); diff != "" {
			t.Errorf("after the move to %s, state labels (-want +got):\n%s", s.to, diff)
		}
		if is.State != s.state || is.StateReason != s.reason {
			t.Errorf("after the move to %s: %s (%s), want %s (%s)", s.to, is.State, is.StateReason, s.state, s.reason)
		}
		if !slices.Contains(is.Labels, "change") || !slices.Contains(is.Labels, "migratebot") {
			t.Errorf("after the move to %s, labels lost: %v", s.to, is.Labels)
		}
	}
	if err := tickets.Comment(ctx, tk, "old stack decommissioned"); err != nil {
		t.Fatal(err)
	}
	is := mustIssue(t, emu, tk)
	want := []string{"approved by @alice in Slack", "PR #12 merged", "retried", "health checks green for 30m", "old stack decommissioned"}
	if diff := cmp.Diff(want, bodies(is)); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
	for _, c := range is.Comments {
		if c.Author != "migratebot[bot]" {
			t.Errorf("comment by %s", c.Author)
		}
	}
}

func TestTicketsCancel(t *testing.T) {
	emu, tickets := ticketsFixture(t, nil)
	ctx := context.Background()
	tk, _ := tickets.Create(ctx, ticketSpec("k"))
	if err := tickets.Move(ctx, tk, bot.TicketApproved, ""); err != nil {
		t.Fatal(err)
	}
	if err := tickets.Move(ctx, tk, bot.TicketCancelled, "migration aborted by @bob"); err != nil {
		t.Fatal(err)
	}
	is := mustIssue(t, emu, tk)
	if is.State != "closed" || is.StateReason != "not_planned" || !cmp.Equal(stateLabels(is), []string{"change:cancelled"}) {
		t.Errorf("cancelled: %s (%s), labels %v", is.State, is.StateReason, is.Labels)
	}
	if diff := cmp.Diff([]string{"migration aborted by @bob"}, bodies(is)); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
}

func TestTicketsBadTicket(t *testing.T) {
	_, tickets := ticketsFixture(t, nil)
	ctx := context.Background()
	for _, tk := range []bot.Ticket{{System: "github", ID: "CHG-1"}, {System: "github", ID: "404"}} {
		if err := tickets.Move(ctx, tk, bot.TicketApproved, "x"); err == nil {
			t.Errorf("moved %v", tk)
		}
		if err := tickets.Comment(ctx, tk, "x"); err == nil {
			t.Errorf("commented on %v", tk)
		}
	}
}

// TestTicketsDownThenUp: while GitHub answers 503, Create fails with an
// error saying so and files nothing; once it is back, one issue is filed.
func TestTicketsDownThenUp(t *testing.T) {
	emu, tickets := ticketsFixture(t, nil)
	ctx := context.Background()
	emu.FailNext("GET /repos/{owner}/{repo}/issues", http.StatusServiceUnavailable, 4, nil) // the call and its 3 retries
	_, err := tickets.Create(ctx, ticketSpec("k"))
	if err == nil || !strings.HasPrefix(err.Error(), "look for the ticket of k in acme/changes: ") {
		t.Fatalf("err %v", err)
	}
	if n := len(emu.Issues(ticketsRepo)); n != 0 {
		t.Fatalf("%d issues filed while down", n)
	}
	var got []bot.Ticket
	for range 2 {
		tk, err := tickets.Create(ctx, ticketSpec("k"))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tk)
	}
	if n := len(emu.Issues(ticketsRepo)); n != 1 || got[0] != got[1] {
		t.Errorf("%d issues, tickets %v", n, got)
	}
}

// loseAnswers passes requests on, but loses the answer to the first n that
// match and succeed, after they were served: a 502 (a proxy timing out after
// GitHub did the work), or err when it is set (the connection cut).
type loseAnswers struct {
	base   http.RoundTripper
	method string
	path   string // suffix of the path
	err    error
	n      atomic.Int32
}

func (l *loseAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r)
	if err != nil || resp.StatusCode >= 300 || r.Method != l.method || !strings.HasSuffix(r.URL.Path, l.path) || l.n.Add(-1) < 0 {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if l.err != nil {
		return nil, l.err
	}
	return &http.Response{
		Status: "502 Bad Gateway", StatusCode: http.StatusBadGateway, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/html"}},
		Body:    io.NopCloser(strings.NewReader("<html><title>502 Bad Gateway</title></html>")),
		Request: r,
	}, nil
}

// TestTicketsCreateAnswerLost: GitHub filed the issue but the answer was
// lost; neither the client's retries nor the caller's file a second one.
func TestTicketsCreateAnswerLost(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		lost int32 // answers lost
		// failed is how many POSTs fail before filing anything.
		failed int
	}{
		{name: "502", lost: 1},
		{name: "connection cut", err: io.ErrUnexpectedEOF, lost: 1},
		{name: "502 before filing, then lost", lost: 1, failed: 1},
		{name: "502 before filing", failed: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lose := &loseAnswers{method: http.MethodPost, path: "/repos/acme/changes/issues", err: tc.err}
			emu, tickets := ticketsFixture(t, func(base http.RoundTripper) http.RoundTripper {
				lose.base = base
				return lose
			})
			lose.n.Store(tc.lost)
			if tc.failed > 0 {
				emu.FailNext("POST /repos/{owner}/{repo}/issues", http.StatusBadGateway, tc.failed, nil)
			}
			ctx := context.Background()
			tk, err := tickets.Create(ctx, ticketSpec("k"))
			if err != nil {
				t.Fatal(err)
			}
			if issues := emu.Issues(ticketsRepo); len(issues) != 1 || tk.ID != "1" {
				t.Errorf("ticket %v, %d issues: %+v", tk, len(issues), issues)
			}
			again, err := tickets.Create(ctx, ticketSpec("k"))
			if err != nil || again != tk || len(emu.Issues(ticketsRepo)) != 1 {
				t.Errorf("again: %v, %v; %d issues", again, err, len(emu.Issues(ticketsRepo)))
			}
		})
	}
}

// TestTicketsRefusedCreateNotRepeated: a 422 files nothing and is not sent
// again.
func TestTicketsRefusedCreateNotRepeated(t *testing.T) {
	emu, tickets := ticketsFixture(t, nil)
	emu.FailNext("POST /repos/{owner}/{repo}/issues", http.StatusUnprocessableEntity, 1, nil)
	if _, err := tickets.Create(context.Background(), ticketSpec("k")); err == nil || !strings.Contains(err.Error(), "422") {
		t.Fatalf("err %v", err)
	}
	posts := 0
	for _, c := range emu.Calls() {
		if c.Route == "POST /repos/{owner}/{repo}/issues" {
			posts++
		}
	}
	if posts != 1 || len(emu.Issues(ticketsRepo)) != 0 {
		t.Errorf("%d POSTs, %d issues", posts, len(emu.Issues(ticketsRepo)))
	}
}

// TestTicketsMoveRetriedCommentsOnce: a move whose edit failed, retried by
// the engine, comments once.
func TestTicketsMoveRetriedCommentsOnce(t *testing.T) {
	emu, tickets := ticketsFixture(t, nil)
	ctx := context.Background()
	tk, _ := tickets.Create(ctx, ticketSpec("k"))
	emu.FailNext("PATCH /repos/{owner}/{repo}/issues/{number}", http.StatusUnprocessableEntity, 1, nil)
	if err := tickets.Move(ctx, tk, bot.TicketApproved, "approved by @alice"); err == nil {
		t.Fatal("the failed edit was not reported")
	}
	if err := tickets.Move(ctx, tk, bot.TicketApproved, "approved by @alice"); err != nil {
		t.Fatal(err)
	}
	is := mustIssue(t, emu, tk)
	if !cmp.Equal(bodies(is), []string{"approved by @alice"}) || !cmp.Equal(stateLabels(is), []string{"change:approved"}) {
		t.Errorf("comments %v, labels %v", bodies(is), is.Labels)
	}
}
