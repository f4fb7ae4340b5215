package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/migratebot/migratebot/app"
	"github.com/migratebot/migratebot/bot"
)

// botComments are the bot's comments on a PR of the env-config repo.
func botComments(h *harness, n int) []string {
	pr, _ := h.SB.GitHub().PR(envRepo, n)
	var out []string
	for _, c := range pr.Comments {
		if c.Author == "migratebot[bot]" {
			out = append(out, c.Body)
		}
	}
	return out
}

func metricDataCalls(h *harness) int { return h.SB.AWS().Calls()["cloudwatch.GetMetricData"] }

// TestHealthySummaryAfterMerge: after a merge the bot confirms Route53
// serves the new weights, waits 2×TTL and the window, and posts one
// summary (in the step's message and the PR's comment) from one
// GetMetricData call; the ticket closes only then.
func TestHealthySummaryAfterMerge(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate next", "github merge last")
	pr, _ := h.SB.GitHub().PR(envRepo, 1)
	if m := h.migration(); m.Health != "pending" {
		t.Errorf("right after the merge the health is %q, want pending", m.Health)
	}
	if msg := stepMessage(t, h, pr.HTMLURL); !strings.Contains(msg, "🩺 Health: waiting for the change to be live") || !strings.Contains(msg, "after the soak (from 09:30 UTC) and a healthy summary") {
		t.Errorf("step message before the summary: %q", msg)
	}
	if tk := ticketFor(t, h, "weights-10"); tk.State != "implemented" {
		t.Errorf("ticket before the summary: %s, want implemented", tk.State)
	}
	calls := metricDataCalls(h)
	h.Do("clock +11m")
	if got := botComments(h, 1); len(got) != 0 {
		t.Errorf("a summary came before 2×TTL and the window had passed: %q", got)
	}
	h.Do("clock +2m")
	if n := metricDataCalls(h) - calls; n != 1 {
		t.Errorf("%d GetMetricData calls for one summary, want 1", n)
	}
	m := h.migration()
	if m.Health != "healthy" || m.LastHealth == nil || m.LastHealth.Verdict != bot.VerdictHealthy {
		t.Fatalf("after the summary: health %q, %+v", m.Health, m.LastHealth)
	}
	s := m.LastHealth
	if s.Old.Requests == nil || *s.Old.Requests != 10800 || s.NewShare == nil || *s.NewShare != 10 || s.New.Probe != "ok" || s.New.ErrorRate == nil {
		t.Errorf("summary figures: %+v", s)
	}
	if s.To.Sub(s.From).Minutes() != 10 || s.From.Sub(m.History[0].AppliedAt).Minutes() != 2 {
		t.Errorf("window %s–%s, applied at %s: want 10 minutes from 2×TTL after the apply", s.From, s.To, m.History[0].AppliedAt)
	}
	msg := stepMessage(t, h, pr.HTMLURL)
	for _, want := range []string{"✅ *Health: healthy* after the merge · Route53 serves old 90 / new 10", "observed new 10.0% `█░░░░░░░░░`", "new        1,200     0.2%       180", "Next: `/migrate next search` → new 25"} {
		if !strings.Contains(msg, want) {
			t.Errorf("step message lacks %q:\n%s", want, msg)
		}
	}
	if got := botComments(h, 1); len(got) != 1 || !strings.Contains(got[0], "Health of `search`: **healthy** after this merge") || !strings.Contains(got[0], "| new | 1,200 |") {
		t.Errorf("PR comments: %q", got)
	}
	if tk := ticketFor(t, h, "weights-10"); tk.State != "closed" || !strings.Contains(strings.Join(tk.Notes, "\n"), "Health after the merge: healthy") {
		t.Errorf("ticket after a healthy summary: %s %q", tk.State, tk.Notes)
	}
	// The summary is made once: later timers and clocks add nothing.
	before := len(h.SB.Slack().Messages())
	h.Do("clock +1h")
	if n := metricDataCalls(h) - calls; n != 1 || len(h.SB.Slack().Messages()) != before {
		t.Errorf("after an hour more: %d GetMetricData calls, %d messages (was %d)", n, len(h.SB.Slack().Messages()), before)
	}
}

// TestFailingSummaryGatesNextStep: 8% 5xx on the new side fails the
// summary; the next bump is refused, even forced by an admin, and nothing
// changes; once fixed, an on-demand summary opens the gate.
func TestFailingSummaryGatesNextStep(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate next", "github merge last", "clock +31m",
		"/migrate next", "metrics search new.error_rate=8%", "github merge last", "clock +31m")
	m := h.migration()
	if m.Health != "failing" || len(m.LastHealth.Reasons) == 0 || !strings.Contains(m.LastHealth.Reasons[0], "new side: 8.0% 5xx (limit 5.0%)") {
		t.Fatalf("health %q, reasons %q", m.Health, m.LastHealth.Reasons)
	}
	if got := botComments(h, 2); len(got) != 1 || !strings.Contains(got[0], "**failing**") || !strings.Contains(got[0], "new side: 8.0% 5xx") {
		t.Errorf("PR comment: %q", got)
	}
	tk := ticketFor(t, h, "weights-25")
	if tk.State != "implemented" || !strings.Contains(strings.Join(tk.Notes, "\n"), "Health after the merge: failing") {
		t.Errorf("ticket after a failing summary: %s %q", tk.State, tk.Notes)
	}
	before := h.snapshot()
	evs := h.Do("/migrate next")
	if said := ephemeralTo(evs, "alice"); len(said) != 1 || !strings.Contains(said[0], "Gate *health*") || !strings.Contains(said[0], "8.0% 5xx") {
		t.Errorf("alice was told %q", said)
	}
	evs = h.Do("as dave", "/migrate bump 50 --force")
	if said := ephemeralTo(evs, "dave"); len(said) != 1 || !strings.Contains(said[0], "Gate *health*") {
		t.Errorf("dave's forced bump: %q", said)
	}
	if after := h.snapshot(); after != before {
		t.Errorf("refused steps changed state:\n%s\n---\n%s", before, after)
	}
	h.Do("metrics search new.error_rate=0.2%", "as alice", "/migrate health")
	if m := h.migration(); m.Health != "healthy" {
		t.Fatalf("after the fix, on demand: %q %q", m.Health, m.LastHealth.Reasons)
	}
	if tk := ticketFor(t, h, "weights-25"); tk.State != "closed" {
		t.Errorf("a healthy on-demand summary left the ticket %s", tk.State)
	}
	h.Do("/migrate next")
	if m := h.migration(); m.Open == nil || m.Open.Step != "weights-50" {
		t.Errorf("after a healthy summary the next step did not open: %+v", m.Open)
	}
}

// TestAutoRollbackOnFailure: an environment with auto_rollback opens the
// rollback PR as soon as a summary fails, and says so in the thread.
func TestAutoRollbackOnFailure(t *testing.T) {
	h := newHarness(t)
	lines := h.runScript("auto-rollback.txt")
	m := h.migrationOf("catalog")
	if m.Weights.New != 0 {
		t.Errorf("after the rollback merged: weights %s", m.Weights)
	}
	var rollback *bot.Change
	for i := range m.History {
		if m.History[i].Kind == bot.KindRollback {
			rollback = &m.History[i]
		}
	}
	if rollback == nil || rollback.RequestedBy != "migratebot" || rollback.To.New != 0 {
		t.Fatalf("no automatic rollback in the history: %+v", m.History)
	}
	var opened, told bool
	for _, l := range lines {
		if !strings.HasPrefix(l.text, "clock +8m") {
			continue
		}
		for _, e := range l.events {
			if e.Kind == "github.pull_request" && e.Action == "opened" && strings.Contains(e.Branch, "rollback-0") {
				pr, _ := h.SB.GitHub().PR(e.Repo, e.Number)
				opened = containsAll(pr.Labels, "rollback", "urgent")
			}
			if e.Kind == "slack.message" && strings.Contains(e.Text, "🚨 *Automatic rollback*") {
				told = true
			}
		}
	}
	if !opened || !told {
		t.Errorf("the failing summary's line: rollback PR opened %v, thread told %v", opened, told)
	}
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, l := range list {
			found = found || l == w
		}
		if !found {
			return false
		}
	}
	return true
}

// TestApplyTimeoutGates: DNS that does not follow the merge is reported as
// not applied yet, which gates the next step, until it catches up.
func TestApplyTimeoutGates(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate next", "metrics search dns=stuck", "github merge last", "clock +11m")
	m := h.migration()
	if m.Health != "unknown" || len(m.LastHealth.Reasons) == 0 || !strings.Contains(m.LastHealth.Reasons[0], "not applied yet: Route53 serves old 100 / new 0, not old 90 / new 10") {
		t.Fatalf("after the apply timeout: %q %+v", m.Health, m.LastHealth)
	}
	evs := h.Do("clock +20m", "/migrate next")
	if said := ephemeralTo(evs, "alice"); len(said) != 1 || !strings.Contains(said[0], "Gate *health*") || !strings.Contains(said[0], "not applied yet") {
		t.Errorf("next while not applied: %q", said)
	}
	h.Do("metrics search dns=live", "clock +3m", "clock +13m")
	if m := h.migration(); m.Health != "healthy" {
		t.Fatalf("once DNS caught up: %q %q", m.Health, m.LastHealth.Reasons)
	}
	h.Do("/migrate next")
	if m := h.migration(); m.Open == nil || m.Open.Step != "weights-25" {
		t.Errorf("next after the late apply: %+v", m.Open)
	}
}

// TestMissingFiguresAreUnknown: a side that served nothing is never read
// as healthy.
func TestMissingFiguresAreUnknown(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate next", "metrics search new.requests=0", "github merge last", "clock +13m")
	m := h.migration()
	if m.Health != "unknown" || !strings.Contains(strings.Join(m.LastHealth.Reasons, "\n"), "new side: served no requests") {
		t.Errorf("health %q, reasons %q", m.Health, m.LastHealth.Reasons)
	}
}

// TestBadMetricsLineChangesNothing: a metrics line with one bad word is an
// error and sets none of its words.
func TestBadMetricsLineChangesNothing(t *testing.T) {
	h := newHarness(t)
	for _, line := range []string{"metrics search new.error_rate=8% old.latency=5", "metrics nowhere new.requests=1", "metrics search new.error_rate=120%", "metrics search dns=maybe"} {
		evs, err := h.SB.Exec(context.Background(), 1, line)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Kind != "error" {
			t.Errorf("%s: events %+v, want one error", line, evs)
		}
	}
	h.Do("as alice", "/migrate start search", "/migrate next", "github merge last", "clock +13m")
	if m := h.migration(); m.Health != "healthy" {
		t.Errorf("a refused metrics line changed the figures: %q %q", m.Health, m.LastHealth.Reasons)
	}
}

// TestHealthTimerSurvivesRestartAndRunsOnce: the summary's timer lives in
// Redis: with the replica that scheduled it gone and two new ones waking
// together, the summary is posted exactly once.
func TestHealthTimerSurvivesRestartAndRunsOnce(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate next", "github merge last")
	// The sandbox's own replica stops here: from now on only b and c run.
	ctx := context.Background()
	b, err := h.SB.NewReplica(ctx, "replica-b")
	if err != nil {
		t.Fatal(err)
	}
	c, err := h.SB.NewReplica(ctx, "replica-c")
	if err != nil {
		t.Fatal(err)
	}
	calls := metricDataCalls(h)
	comments := len(botComments(h, 1))
	h.SB.Clock().Advance(15 * time.Minute)
	var wg sync.WaitGroup
	for _, replica := range []*app.App{b, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 { // wake together, a few times, as timer loops do
				if _, err := replica.Queue.FireDue(ctx, h.SB.Clock().Now()); err != nil {
					t.Error(err)
				}
				if _, err := replica.Drain(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	h.SB.GitHub().WaitIdle()
	if n := metricDataCalls(h) - calls; n != 1 {
		t.Errorf("%d GetMetricData calls, want 1: the summary was made %d times", n, n)
	}
	if got := botComments(h, 1); len(got) != comments+1 || !strings.Contains(got[len(got)-1], "**healthy**") {
		t.Errorf("PR comments after the restart: %q", got)
	}
	if m := h.migration(); m.Health != "healthy" {
		t.Errorf("health after the restart: %q", m.Health)
	}
}

// TestHealthScripts runs the README's health scripts and checks what their
// comments promise.
func TestHealthScripts(t *testing.T) {
	t.Run("health.txt", func(t *testing.T) {
		h := newHarness(t)
		lines := h.runScript("health.txt")
		verdicts := map[string]bot.Verdict{}
		for _, c := range h.migration().History {
			if c.Health != nil {
				verdicts[c.Step] = c.Health.Verdict
			}
		}
		if verdicts["weights-10"] != bot.VerdictHealthy || verdicts["weights-25"] != bot.VerdictFailing {
			t.Errorf("verdicts by step: %v, want weights-10 healthy and weights-25 failing", verdicts)
		}
		if s := said(lines, "alice"); !strings.Contains(s, "Gate *health*") || !strings.Contains(s, "8.0% 5xx") {
			t.Errorf("alice was not refused by the health gate: %q", s)
		}
		if m := h.migration(); m.Open == nil || m.Open.Step != "weights-50" || m.Health != "healthy" {
			t.Errorf("at the end: open %+v, health %q", m.Open, m.Health)
		}
	})
	t.Run("apply-timeout.txt", func(t *testing.T) {
		h := newHarness(t)
		lines := h.runScript("apply-timeout.txt")
		if s := said(lines, "alice"); !strings.Contains(s, "not applied yet") {
			t.Errorf("alice was not told the change is not applied: %q", s)
		}
		m := h.migration()
		if c := m.History[0]; c.Health == nil || c.Health.Verdict != bot.VerdictHealthy || c.AppliedAt.Sub(c.ClosedAt) < 30*time.Minute {
			t.Errorf("the late change: %+v", c)
		}
		if m.Open == nil || m.Open.Step != "weights-25" {
			t.Errorf("at the end: open %+v", m.Open)
		}
	})
}

// TestVerdicts: each finding leads to its verdict, with its reason.
func TestVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(h *harness)
		verdict bot.Verdict
		reason  string
	}{
		{"slow new side", func(h *harness) { h.Do("metrics search new.p95_ms=1500") }, bot.VerdictDegraded, "new side: p95 1,500 ms (limit 1,000 ms)"},
		{"split off its weight", func(h *harness) { h.Do("metrics search old.requests=100") }, bot.VerdictDegraded, "the new side served 92.3% of requests for a weight of 10%"},
		{"alarm in ALARM", func(h *harness) { h.Do("metrics search alarm.search-5xx-rate=ALARM") }, bot.VerdictFailing, "in ALARM: search-5xx-rate"},
		{"alarm of another service", func(h *harness) { h.Do("metrics search alarm.billing-5xx-rate=ALARM") }, bot.VerdictHealthy, ""},
		{"health URL failing", func(h *harness) { h.SB.SetHealthy("search", false) }, bot.VerdictFailing, "new side: http://search.k8s.kprod.acme.example/healthz fails"},
		{"old side failing", func(h *harness) { h.Do("metrics search old.error_rate=0.06") }, bot.VerdictFailing, "old side: 6.0% 5xx (limit 5.0%)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.Do("as alice", "/migrate start search", "/migrate next", "github merge last")
			tc.setup(h)
			h.Do("clock +13m")
			s := h.migration().LastHealth
			if s == nil || s.Verdict != tc.verdict || !strings.Contains(strings.Join(s.Reasons, "\n"), tc.reason) {
				t.Errorf("summary %+v, want %s with %q", s, tc.verdict, tc.reason)
			}
		})
	}
}

// TestFailingHealthAfterDecommission: the last merge (decommission) is
// measured too, and its summary completes the migration. Failing, in an
// environment that rolls back on its own, it opens no rollback (there is
// no old side left) and the thread is told the migration is complete but
// failing, with why.
func TestFailingHealthAfterDecommission(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start catalog")
	for range 5 {
		h.Do("/migrate next catalog", "github merge last", "clock +16m")
	}
	h.Do("clock +336h", "/migrate next catalog", "click migrate:confirm", "metrics catalog new.error_rate=8%", "github merge last")
	if m := h.migrationOf("catalog"); m.Status != bot.StatusActive || m.Open != nil {
		t.Fatalf("after the decommission merge: %s, open %+v; want active until its summary", m.Status, m.Open)
	}
	prs := len(h.SB.GitHub().PRs(envRepo))
	evs := h.Do("clock +10m")
	key := bot.ServiceKey{Env: "kdev", Service: "catalog"}
	if _, err := h.SB.App().Store.Load(context.Background(), key); err != bot.ErrNotFound {
		t.Fatalf("catalog still active after its last summary: %v", err)
	}
	hist, err := h.SB.App().Store.History(context.Background(), key)
	if err != nil || len(hist) != 1 || hist[0].Status != bot.StatusCompleted {
		t.Fatalf("history %+v, %v", hist, err)
	}
	if last := hist[0].History[len(hist[0].History)-1]; last.Step != "decommission" || last.Health == nil || last.Health.Verdict != bot.VerdictFailing {
		t.Errorf("the decommission's summary: %+v, want failing", last.Health)
	}
	if got := len(h.SB.GitHub().PRs(envRepo)); got != prs {
		t.Errorf("%d PRs after the failing summary, were %d: no rollback can be opened", got, prs)
	}
	var told []string
	for _, e := range evs {
		if e.Kind == "slack.message" && strings.Contains(e.Text, "The migration of catalog is complete") {
			told = append(told, e.Text)
		}
		if e.Kind == "slack.message" && strings.Contains(e.Text, "Automatic rollback") {
			t.Errorf("told of an automatic rollback: %q", e.Text)
		}
	}
	if len(told) != 1 || !strings.HasPrefix(told[0], "⚠") || !strings.Contains(told[0], "failing") || !strings.Contains(told[0], "no old side left to roll back to") {
		t.Errorf("completion told %q, want once, failing, with why", told)
	}
	if logs := h.Logs.String(); strings.Contains(logs, "job failed") {
		t.Errorf("a job failed:\n%s", logs)
	}
}
