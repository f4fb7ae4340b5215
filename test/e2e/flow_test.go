package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/weightfile"
)

func weightsIn(t *testing.T, content string) map[string]int64 {
	t.Helper()
	sources, err := weightfile.ReadYAML([]byte(content))
	if err != nil {
		t.Fatalf("read weights: %v\n%s", err, content)
	}
	w := map[string]int64{}
	for _, s := range sources {
		w[s.Name] = s.Weight
	}
	return w
}

// TestStartBumpMerge is the walking skeleton from Slack to GitHub and back:
// start, bump 10, merge, next (25), merge.
func TestStartBumpMerge(t *testing.T) {
	h := newHarness(t)
	gh := h.SB.GitHub()
	mainBefore, _ := gh.File(envRepo, "main", searchFile)

	evs := h.Do("as alice", "/migrate start search")
	if n := countKind(evs, "slack.message", "posted"); n != 1 {
		t.Fatalf("start posted %d messages, want the plan alone: %+v", n, evs)
	}
	m := h.migration()
	if m.Weights != (bot.Weights{Old: 100, New: 0}) || m.Thread.TS == "" || m.StartedBy != h.SB.UserID("alice") {
		t.Fatalf("after start: %+v", m)
	}

	gh.ResetCalls()
	evs = h.Do("/migrate bump 10")
	writes := map[string]int{}
	for _, c := range gh.Calls() {
		if c.Method != "GET" {
			writes[c.Route]++
		}
	}
	// One tree, one commit, one ref, one PR: never a commit per file.
	for _, route := range []string{"/git/trees", "/git/commits", "/git/refs", "/pulls"} {
		if n := writes["POST /repos/{owner}/{repo}"+route]; n != 1 {
			t.Errorf("POST %s called %d times for one change, want 1 (writes: %v)", route, n, writes)
		}
	}
	if n := writes["POST /repos/{owner}/{repo}/git/blobs"]; n != 0 {
		t.Errorf("%d blob writes: content goes inline in the one tree", n)
	}
	prs := gh.PRs(envRepo)
	if len(prs) != 1 {
		t.Fatalf("want 1 PR, got %d", len(prs))
	}
	pr := prs[0]
	if pr.Head != "migratebot/search/weights-10" || pr.Base != "main" {
		t.Errorf("PR head/base = %s/%s", pr.Head, pr.Base)
	}
	for _, want := range []string{"search", "kprod", "old 100 / new 0", "old 90 / new 10"} {
		if !strings.Contains(pr.Title, want) {
			t.Errorf("PR title %q lacks %q", pr.Title, want)
		}
	}
	for _, want := range []string{"`legacy-elb`", "**90**", "**10**", "/migrate rollback search", "/migrate next search` → new 25"} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, pr.Body)
		}
	}
	if got := pr.Reviewers; len(got) != 1 || got[0] != "carol" {
		t.Errorf("reviewers = %v, want the environment's approvers [carol]", got)
	}
	onBranch, ok := gh.File(envRepo, pr.Head, searchFile)
	if !ok {
		t.Fatal("weights file missing on the PR branch")
	}
	if w := weightsIn(t, onBranch); w["legacy-elb"] != 90 || w["k8s"] != 10 {
		t.Errorf("weights on the branch = %v, want legacy-elb 90, k8s 10", w)
	}
	if now, _ := gh.File(envRepo, "main", searchFile); now != mainBefore {
		t.Error("main changed before the merge")
	}
	m = h.migration()
	if m.Open == nil || m.Open.Number != pr.Number || m.Open.State != bot.ChangeOpen || m.Weights.New != 0 {
		t.Fatalf("after bump: open=%+v weights=%v", m.Open, m.Weights)
	}
	var threadPost string
	for _, e := range evs {
		if e.Kind == "slack.message" && e.Action == "posted" && e.Thread == m.Thread.TS {
			threadPost = e.Text
		}
	}
	if !strings.Contains(threadPost, pr.HTMLURL) {
		t.Errorf("the thread was not told the PR link %s: %q", pr.HTMLURL, threadPost)
	}

	h.Do("github merge last")
	m = h.migration()
	if m.Open != nil || m.Weights != (bot.Weights{Old: 90, New: 10}) || len(m.History) != 1 || m.History[0].ClosedBy != "bob" {
		t.Fatalf("after merge: open=%+v weights=%v history=%+v", m.Open, m.Weights, m.History)
	}
	steps := threadMessages(h.SB.Slack().Messages(), m.Thread.TS)
	if len(steps) != 1 {
		t.Fatalf("want one step message in the thread, got %d", len(steps))
	}
	if !strings.Contains(steps[0].Text, "merged by bob") || !strings.Contains(steps[0].Text, "/migrate next search") {
		t.Errorf("step message after merge = %q, want it merged with the next command", steps[0].Text)
	}

	h.Do("clock +30m", "/migrate next", "github merge last by carol")
	m = h.migration()
	if m.Weights != (bot.Weights{Old: 75, New: 25}) || len(m.History) != 2 {
		t.Fatalf("after the second step: weights=%v history=%d", m.Weights, len(m.History))
	}
	if w := weightsIn(t, mustFile(t, h, "main")); w["legacy-elb"] != 75 || w["k8s"] != 25 {
		t.Errorf("main after two merges = %v", w)
	}
	if got := len(gh.PRs(envRepo)); got != 2 {
		t.Errorf("PRs = %d, want 2", got)
	}

	evs = h.Do("/migrate status")
	status := ephemeralTo(evs, "alice")
	if len(status) != 1 || !strings.Contains(status[0], "old 75 / new 25") || !strings.Contains(status[0], "→ new 50") {
		t.Errorf("status = %q", status)
	}
}

func mustFile(t *testing.T, h *harness, ref string) string {
	t.Helper()
	s, ok := h.SB.GitHub().File(envRepo, ref, searchFile)
	if !ok {
		t.Fatalf("%s missing at %s", searchFile, ref)
	}
	return s
}

// TestButtonRunsNext: the merged step's button opens the next PR as the
// user who pressed it.
func TestButtonRunsNext(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate bump 10", "github merge last", "clock +30m", "click migrate:next")
	prs := h.SB.GitHub().PRs(envRepo)
	if len(prs) != 2 || prs[1].Head != "migratebot/search/weights-25" {
		t.Fatalf("the button did not open the PR to 25: %+v", prs)
	}
	if m := h.migration(); m.Open == nil || m.Open.RequestedBy != h.SB.UserID("alice") {
		t.Errorf("open change = %+v", m.Open)
	}
}

// TestOpenPRRefusesBump: while a PR is open, a further bump is refused with
// its link, and nothing else happens.
func TestOpenPRRefusesBump(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate bump 10")
	pr := h.SB.GitHub().PRs(envRepo)[0]
	before := h.snapshot()
	evs := h.Do("/migrate bump 25")
	said := ephemeralTo(evs, "alice")
	if len(said) != 1 || !strings.Contains(said[0], pr.HTMLURL) || !strings.Contains(said[0], "open PR") {
		t.Fatalf("refusal = %q, want the open PR's link", said)
	}
	if after := h.snapshot(); after != before {
		t.Errorf("a refused bump changed state:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestClosedPRAllowsRetry: a PR closed unmerged leaves the weights as they
// were and lets the step run again.
func TestClosedPRAllowsRetry(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate bump 10", "github close last")
	m := h.migration()
	if m.Open != nil || m.Weights.New != 0 || len(m.History) != 1 || m.History[0].State != bot.ChangeClosed {
		t.Fatalf("after close: %+v", m)
	}
	h.Do("/migrate bump 10")
	prs := h.SB.GitHub().PRs(envRepo)
	if len(prs) != 2 || prs[1].State != "open" || prs[1].Head != prs[0].Head {
		t.Fatalf("retry after close: %+v", prs)
	}
	if w := weightsIn(t, mustFile(t, h, prs[1].Head)); w["k8s"] != 10 {
		t.Errorf("retried branch has %v", w)
	}
}

// TestConversationPicksMigration: without a service name, a command goes to
// the user's last migration in the channel, and the bot asks which one when
// that is unclear.
func TestConversationPicksMigration(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start web-api", "/migrate start search")
	// alice last worked on search.
	h.Do("/migrate bump 10")
	prs := h.SB.GitHub().PRs(envRepo)
	if len(prs) != 1 || prs[0].Head != "migratebot/search/weights-10" {
		t.Fatalf("bump without a service went to %+v, want search", prs)
	}
	// dave has worked on neither; two are active in the channel.
	before := h.snapshot()
	evs := h.Do("as dave", "/migrate next")
	said := ephemeralTo(evs, "dave")
	if len(said) != 1 || !strings.Contains(said[0], "Which migration?") || !strings.Contains(said[0], "search, web-api") {
		t.Fatalf("dave was told %q, want to be asked which migration", said)
	}
	if after := h.snapshot(); after != before {
		t.Errorf("an unclear command changed state:\n%s\n---\n%s", before, after)
	}
	// Naming it works, and becomes dave's context.
	h.Do("/migrate next web-api", "/migrate status")
	if m := h.migrationOf("web-api"); m.Open == nil || m.Open.Step != "dns-source" || m.Open.RequestedBy != h.SB.UserID("dave") {
		t.Errorf("web-api open change = %+v", m.Open)
	}
}

// TestCompletedMigrationUnfreezes: the last weight step completes the
// migration, archives it and unfreezes the service.
func TestCompletedMigrationUnfreezes(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search")
	for range 5 {
		h.Do("/migrate next search", "github merge last", "clock +30m")
	}
	h.Do("clock +336h", "/migrate next search", "click migrate:confirm", "github merge last")
	ctx := context.Background()
	// The old side is gone; the migration completes with the health
	// summary of that last merge.
	if m := h.migration(); m.Status != bot.StatusActive || m.Health != string(bot.VerdictPending) {
		t.Fatalf("after the decommission merge: %s, health %q; want active until its summary", m.Status, m.Health)
	}
	h.Do("clock +13m")
	if _, err := h.SB.App().Store.Load(ctx, searchKey); err != bot.ErrNotFound {
		t.Fatalf("search still active after its last summary: %v", err)
	}
	hist, err := h.SB.App().Store.History(ctx, searchKey)
	if err != nil || len(hist) != 1 || hist[0].Status != bot.StatusCompleted || hist[0].Weights.New != 100 {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	last := hist[0].History[len(hist[0].History)-1]
	if last.Step != "decommission" || last.Health == nil || !last.Health.Applied || last.Health.Verdict != bot.VerdictHealthy {
		t.Errorf("the decommission's summary: %+v, want applied and healthy", last.Health)
	}
	var done []string
	for _, msg := range h.SB.Slack().Messages() {
		if strings.Contains(msg.Text, "The migration of search is complete") {
			done = append(done, msg.Text)
		}
	}
	if len(done) != 1 || !strings.HasPrefix(done[0], "✅") {
		t.Errorf("completion told %q, want once, healthy", done)
	}
	if tk := ticketFor(t, h, "decommission"); tk.State != "closed" || !strings.Contains(strings.Join(tk.Notes, "\n"), "Health after the merge: healthy") {
		t.Errorf("the decommission's ticket: %s, notes %q; want closed on its healthy summary", tk.State, tk.Notes)
	}
	if w := weightsIn(t, mustFile(t, h, "main")); len(w) != 1 || w["k8s"] != 100 {
		t.Errorf("main = %v, want k8s alone at 100", w)
	}
	// Unfrozen: a new start is judged on the file (all on new), not
	// refused as "already migrating".
	said := ephemeralTo(h.Do("/migrate start search"), "alice")
	if len(said) != 1 || !strings.Contains(said[0], "nothing to migrate") {
		t.Errorf("start after completion said %q", said)
	}
}

// TestLostPRWebhooksAreFound: GitHub does not send a failed webhook again
// by itself. A PR merged, or closed, while the bot could not hear it is
// found by the bot's own look at its open PR (every 15 minutes) and
// applied as its webhook would have been: once, by whom it says.
func TestLostPRWebhooksAreFound(t *testing.T) {
	for _, merged := range []bool{true, false} {
		t.Run(map[bool]string{true: "merged", false: "closed"}[merged], func(t *testing.T) {
			h := newHarness(t)
			h.Do("as alice", "/migrate start search", "/migrate next")
			gh := h.SB.GitHub()
			gh.SetWebhookURL("") // the bot is down: the webhook is lost
			var err error
			if merged {
				err = gh.Merge(envRepo, 1, "bob")
			} else {
				err = gh.ClosePR(envRepo, 1, "bob")
			}
			if err != nil {
				t.Fatal(err)
			}
			gh.SetWebhookURL(h.SB.BotURL() + "/github/webhooks")
			h.Do("clock +14m")
			if m := h.migration(); m.Open == nil || m.Open.Number != 1 {
				t.Fatalf("before the look: open change %+v, want PR #1 still open", m.Open)
			}
			h.Do("clock +2m")
			m := h.migration()
			if m.Open != nil || len(m.History) != 1 {
				t.Fatalf("after the look: open %+v, %d changes; want PR #1 applied", m.Open, len(m.History))
			}
			c := m.History[0]
			wantState, wantWeights := bot.ChangeClosed, bot.Weights{Old: 100, New: 0}
			if merged {
				wantState, wantWeights = bot.ChangeMerged, bot.Weights{Old: 90, New: 10}
			}
			if c.State != wantState || m.Weights != wantWeights {
				t.Errorf("PR #1: %s, weights %s; want %s, %s", c.State, m.Weights, wantState, wantWeights)
			}
			if merged && c.ClosedBy != "bob" {
				t.Errorf("merged by %q, want bob", c.ClosedBy)
			}
			if !strings.Contains(h.Logs.String(), "the PR closed without its webhook reaching the bot") {
				t.Error("the log does not say the webhook was missed")
			}
			// Its webhook, sent again late, changes nothing more.
			if err := gh.Redeliver(); err != nil {
				t.Fatal(err)
			}
			h.Do("as alice")
			if again := h.migration(); again.Version != m.Version {
				t.Errorf("the late webhook changed the migration: version %d, was %d", again.Version, m.Version)
			}
		})
	}
}

// TestOnePRCheckPerOpenPR: an open PR is looked at on one timer. A second
// timer for it (a step run again after a crash schedules another) is
// superseded: it does nothing, and the PR keeps one timer.
func TestOnePRCheckPerOpenPR(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate next")
	ctx := context.Background()
	prChecks := func() []bot.Timer {
		t.Helper()
		timers, err := h.SB.App().Queue.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []bot.Timer
		for _, tm := range timers {
			if tm.Kind == bot.TimerPRCheck {
				out = append(out, tm)
			}
		}
		return out
	}
	if got := prChecks(); len(got) != 1 || !got[0].Due.Equal(h.migration().Open.PRCheckAt) {
		t.Fatalf("after the PR opened: PR checks %+v, the change's %s; want one, its own", got, h.migration().Open.PRCheckAt)
	}
	stray := prChecks()[0]
	stray.Due = h.SB.Clock().Now().UTC().Add(5 * time.Minute)
	if err := h.SB.App().Queue.Schedule(ctx, stray); err != nil {
		t.Fatal(err)
	}
	version := h.migration().Version
	h.Do("clock +6m")
	if m := h.migration(); m.Version != version || len(prChecks()) != 1 {
		t.Errorf("the superseded check ran: version %d (was %d), %d PR checks", m.Version, version, len(prChecks()))
	}
	h.Do("clock +10m") // the change's own check: the PR is open, looked at again later
	if got := prChecks(); len(got) != 1 || !got[0].Due.Equal(h.migration().Open.PRCheckAt) {
		t.Errorf("after its check: PR checks %+v, the change's %s; want one, its own", got, h.migration().Open.PRCheckAt)
	}
}
