package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/internal/testkit"
)

// TestConcurrentBumpsOpenOnePR: many users bump the same migration at once,
// with several workers taking the jobs in parallel. Exactly one PR opens;
// everyone else is told a change is in progress or already open.
func TestConcurrentBumpsOpenOnePR(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search")
	slack := h.SB.Slack()
	alice := h.SB.UserID("alice")
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			resp, err := slack.SlashCommand(alice, "C0MIGRATE", "/migrate", fmt.Sprintf("bump %d search", []int{10, 25}[i%2]))
			if err == nil && resp.Status != http.StatusOK {
				err = fmt.Errorf("HTTP %d", resp.Status)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	before := len(slack.Messages())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.SB.App().Queue.Run(ctx, 8, h.SB.App().Engine.Handle) }()
	// n-1 refusals to alice alone, and the step message in the thread.
	testkit.WaitFor(t, 30*time.Second, "every command answered", func() bool {
		eph, posts := 0, 0
		for _, m := range slack.Messages()[before:] {
			if m.Ephemeral {
				eph++
			} else {
				posts++
			}
		}
		return eph >= n-1 && posts >= 1
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h.SB.GitHub().WaitIdle()

	if prs := h.SB.GitHub().PRs(envRepo); len(prs) != 1 {
		t.Fatalf("%d PRs opened, want exactly 1", len(prs))
	}
	refusals := 0
	for _, m := range slack.Messages()[before:] {
		if !m.Ephemeral {
			continue
		}
		refusals++
		if !strings.Contains(m.Text, "already in progress") && !strings.Contains(m.Text, "has an open PR") {
			t.Errorf("refusal %q says neither in progress nor open PR", m.Text)
		}
	}
	if refusals != n-1 {
		t.Errorf("%d users told, want %d", refusals, n-1)
	}
	m := h.migration()
	if m.Open == nil || m.Open.State != bot.ChangeOpen {
		t.Errorf("state after the race: %+v", m.Open)
	}
}

// TestInterruptedStepResumes: a worker that died after opening the PR but
// before saving it leaves the change "opening". The next bump to the same
// weight finds the PR on the deterministic branch instead of opening a
// second one; a bump to another weight is refused until it is finished.
func TestInterruptedStepResumes(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate bump 10")
	ctx := context.Background()
	store := h.SB.App().Store
	m := h.migration()
	m.Open.State, m.Open.Number, m.Open.URL = bot.ChangeOpening, 0, "" // as saved just before the PR was opened
	if err := store.Save(ctx, m); err != nil {
		t.Fatal(err)
	}
	said := ephemeralTo(h.Do("/migrate bump 25"), "alice")
	if len(said) != 1 || !strings.Contains(said[0], "was interrupted") || !strings.Contains(said[0], "/migrate bump 10 search") {
		t.Fatalf("a different weight during an interrupted change: told %q", said)
	}
	h.Do("/migrate bump 10")
	prs := h.SB.GitHub().PRs(envRepo)
	if len(prs) != 1 {
		t.Fatalf("%d PRs after resuming, want the one already opened", len(prs))
	}
	m = h.migration()
	if m.Open == nil || m.Open.State != bot.ChangeOpen || m.Open.Number != prs[0].Number {
		t.Fatalf("after resume: %+v", m.Open)
	}
	steps := threadMessages(h.SB.Slack().Messages(), m.Thread.TS)
	if len(steps) != 1 {
		t.Errorf("%d step messages, want the one, updated", len(steps))
	}
	h.Do("github merge last")
	if m := h.migration(); m.Weights.New != 10 || m.Open != nil {
		t.Errorf("after merging the resumed PR: %+v", m)
	}
}

// TestRedeliveredMergeHasNoSecondEffect: GitHub redelivers the merge webhook
// (same X-GitHub-Delivery): nothing changes, nothing is said again.
func TestRedeliveredMergeHasNoSecondEffect(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate bump 10", "github merge last")
	before := h.snapshot()
	msgs := h.SB.Slack().Messages()
	calls := h.SB.Slack().Calls()
	evs := h.Do("github redeliver", "github redeliver")
	if len(evs) != 0 {
		t.Errorf("a redelivery had effects: %+v", evs)
	}
	if after := h.snapshot(); after != before {
		t.Errorf("a redelivery changed state:\n%s\n---\n%s", before, after)
	}
	if got := h.SB.Slack().Messages(); len(got) != len(msgs) || fmt.Sprint(got) != fmt.Sprint(msgs) {
		t.Error("a redelivery changed Slack messages")
	}
	if got := h.SB.Slack().Calls(); fmt.Sprint(got) != fmt.Sprint(calls) {
		t.Errorf("a redelivery called Slack: %v -> %v", calls, got)
	}
	ds := h.SB.GitHub().Deliveries()
	last := ds[len(ds)-1]
	if last.Status != http.StatusOK || last.ID != ds[len(ds)-2].ID {
		t.Errorf("redelivery answered %d (id %s vs %s)", last.Status, last.ID, ds[len(ds)-2].ID)
	}
	if m := h.migration(); len(m.History) != 1 || m.Weights.New != 10 {
		t.Errorf("after redelivery: weights %v history %d", m.Weights, len(m.History))
	}
}

// TestBadInputChangesNothing: each bad command gets an answer to its user
// alone naming the problem and the usage line, and changes nothing in
// Redis or on GitHub.
func TestBadInputChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate bump 10", "github merge last", "clock +30m")
	cases := []struct {
		name, as, line, want string
	}{
		{"weight too high", "alice", "/migrate bump 250", "250 is out of range"},
		{"negative weight", "alice", "/migrate bump -5", "-5 is out of range"},
		{"not a number", "alice", "/migrate bump abc", `"abc" is not a weight`},
		{"no number", "alice", "/migrate bump", "bump needs the new side's weight"},
		{"unknown service", "alice", "/migrate bump 25 nosuch", `"nosuch" is not a configured service`},
		{"rollback with a bare number", "alice", "/migrate rollback 10", "say `rollback to 10`"},
		{"done without an item", "alice", "/migrate done", "done needs the checklist item"},
		{"force on status", "alice", "/migrate status --force", "status does not take --force"},
		{"unknown service to start", "alice", "/migrate start nosuch", `"nosuch" is not a configured service`},
		{"service not migrating", "alice", "/migrate bump 10 web-api", "web-api has no active migration"},
		{"unknown subcommand", "alice", "/migrate frobnicate", `"frobnicate" is not a migratebot command`},
		{"too many words", "alice", "/migrate bump 25 web-api now", "too many words"},
		{"same weight", "alice", "/migrate bump 10", "already at old 90 / new 10"},
		{"unauthorized", "mallory", "/migrate bump 25 search", "You may not run `/migrate bump`"},
		{"approver may not bump", "carol", "/migrate bump 25 search", "only its engineers and admins"},
		{"engineer may not force", "alice", "/migrate bump 50 --force search", "only its admins may force"},
		{"unauthorized start", "mallory", "/migrate start search", "You may not run `/migrate start`"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.snapshot()
			ghCalls := len(h.SB.GitHub().Calls())
			evs := h.Do("as "+tc.as, tc.line)
			said := ephemeralTo(evs, tc.as)
			if len(said) != 1 {
				t.Fatalf("%s got %d answers, want 1: %+v", tc.as, len(said), evs)
			}
			if !strings.Contains(strings.ToLower(said[0]), strings.ToLower(tc.want)) {
				t.Errorf("answer %q lacks %q", said[0], tc.want)
			}
			if !strings.HasPrefix(tc.name, "unauthorized") && !strings.Contains(tc.name, "may not") && tc.name != "service not migrating" && tc.name != "same weight" {
				if !strings.Contains(said[0], "Usage: /migrate") {
					t.Errorf("answer %q lacks the usage line", said[0])
				}
			}
			if len(evs) != 1 {
				t.Errorf("bad input had other effects: %+v", evs)
			}
			if after := h.snapshot(); after != before {
				t.Errorf("bad input changed state:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if calls := h.SB.GitHub().Calls(); len(calls) > ghCalls {
				for _, c := range calls[ghCalls:] {
					if !strings.HasPrefix(c.Route, "GET ") {
						t.Errorf("bad input wrote to GitHub: %s", c.Route)
					}
				}
			}
		})
	}
}

// TestNoMigrationInContext: with no migration active, a command that names
// none is told so, with the usage line, and changes nothing.
func TestNoMigrationInContext(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate status") // creates the job stream, so the snapshot compares like with like
	before := h.snapshot()
	for _, line := range []string{"/migrate status", "/migrate next", "/migrate bump 10"} {
		said := ephemeralTo(h.Do(line), "alice")
		if len(said) != 1 || !strings.Contains(said[0], "no migration in this context") || !strings.Contains(said[0], "Usage: /migrate") {
			t.Errorf("%s: told %q", line, said)
		}
	}
	if after := h.snapshot(); after != before {
		t.Errorf("changed state:\n%s\n---\n%s", before, after)
	}
}

// TestForgedRequestsRejected: unsigned, wrongly signed and stale requests get
// 401, queue nothing, and are logged without their bodies.
func TestForgedRequestsRejected(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search")
	before := h.snapshot()
	form := url.Values{"command": {"/migrate"}, "text": {"bump 100 web-api SECRET-BODY-MARKER"}, "user_id": {"U0ALICE"}, "channel_id": {"C0MIGRATE"}, "team_id": {"T0ACME"}}
	body := []byte(form.Encode())
	slack := h.SB.Slack()
	cmdURL := h.SB.BotURL() + "/slack/commands"
	reqs := map[string]*http.Request{
		"slack unsigned":     mustReq(t, cmdURL, body, nil),
		"slack wrong secret": slack.SignedRequest(cmdURL, body, time.Now(), "not-the-secret"),
		"slack stale":        slack.SignedRequest(cmdURL, body, time.Now().Add(-6*time.Minute), "sandbox-signing-secret"),
		"slack interaction unsigned": mustReq(t, h.SB.BotURL()+"/slack/interactions",
			[]byte("payload="+url.QueryEscape(`{"type":"block_actions","actions":[{"action_id":"migrate:next","value":"kprod/web-api"}],"x":"SECRET-BODY-MARKER"}`)), nil),
		"github unsigned": mustReq(t, h.SB.BotURL()+"/github/webhooks", []byte(`{"action":"closed","SECRET-BODY-MARKER":1}`),
			http.Header{"X-Github-Event": {"pull_request"}, "X-Github-Delivery": {"d-1"}, "Content-Type": {"application/json"}}),
		"github wrong signature": mustReq(t, h.SB.BotURL()+"/github/webhooks", []byte(`{"action":"closed","SECRET-BODY-MARKER":1}`),
			http.Header{"X-Github-Event": {"pull_request"}, "X-Github-Delivery": {"d-2"}, "Content-Type": {"application/json"},
				"X-Hub-Signature-256": {"sha256=0000000000000000000000000000000000000000000000000000000000000000"}}),
	}
	for name, req := range reqs {
		t.Run(name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", resp.StatusCode)
			}
		})
	}
	if after := h.snapshot(); after != before {
		t.Errorf("forged requests changed state:\n%s\n---\n%s", before, after)
	}
	logs := h.Logs.String()
	if strings.Count(logs, "rejected a") < len(reqs) {
		t.Errorf("rejections not logged:\n%s", logs)
	}
	if strings.Contains(logs, "SECRET-BODY-MARKER") {
		t.Error("a rejected request's body reached the logs")
	}
}

func mustReq(t *testing.T, u string, body []byte, hdr http.Header) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	return req
}
