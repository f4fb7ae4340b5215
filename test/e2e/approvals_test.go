package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/migratebot/migratebot/config"
)

// TestReviewersRequested: every bot PR asks the environment's approvers (a
// user and a team) and the code owners of the files it changes.
func TestReviewersRequested(t *testing.T) {
	h := newHarness(t)
	gh := h.SB.GitHub()
	h.Do("as alice", "/migrate start search", "/migrate next")
	pr, _ := gh.PR(envRepo, 1)
	if !slices.Equal(pr.Reviewers, []string{"carol"}) || !slices.Equal(pr.TeamReviewers, []string{"change-approvers"}) {
		t.Errorf("search PR reviewers = %v, teams %v; want [carol] and [change-approvers]", pr.Reviewers, pr.TeamReviewers)
	}
	// billing's DNS source is Terraform under terraform/route53/, which
	// CODEOWNERS gives to @acme/network.
	h.Do("/migrate start billing", "/migrate next billing")
	billing := gh.PRs(envRepo)[1]
	if !strings.Contains(billing.Head, "billing") {
		t.Fatalf("second PR is %s, want billing's DNS source", billing.Head)
	}
	slices.Sort(billing.TeamReviewers)
	if !slices.Equal(billing.TeamReviewers, []string{"change-approvers", "network"}) {
		t.Errorf("billing PR teams = %v, want change-approvers and the code owners' network", billing.TeamReviewers)
	}
}

// TestReviewsReflectedOnce: a review shows in the step's message and on
// the ticket once; a redelivery, or the same review again, adds nothing;
// only change approvers (a listed login, a team member or a code owner)
// count.
func TestReviewsReflectedOnce(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate next")
	pr, _ := h.SB.GitHub().PR(envRepo, 1)
	notes := func() int { return len(ticketFor(t, h, "weights-10").Notes) }

	h.Do("github review last approve by eve")
	msg := stepMessage(t, h, pr.HTMLURL)
	if !strings.Contains(msg, "approved by eve (not a change approver)") || strings.Contains(msg, "✅") {
		t.Errorf("eve's approval: step message %q", msg)
	}
	if tk := ticketFor(t, h, "weights-10"); tk.State != "open" {
		t.Errorf("eve's approval moved the ticket to %s", tk.State)
	}

	evs := h.Do("github review last request-changes by bob")
	if n := countKind(evs, "slack.message", "updated"); n != 1 {
		t.Errorf("changes requested updated %d messages, want the step's one", n)
	}
	if msg := stepMessage(t, h, pr.HTMLURL); !strings.Contains(msg, "✋ changes requested by bob") {
		t.Errorf("changes requested: step message %q", msg)
	}

	h.Do("github review last approve by carol")
	msg = stepMessage(t, h, pr.HTMLURL)
	if !strings.Contains(msg, "✅ approved by carol") {
		t.Errorf("carol's approval: step message %q", msg)
	}
	tk := ticketFor(t, h, "weights-10")
	if tk.State != "approved" {
		t.Errorf("carol's approval: ticket %s", tk.State)
	}
	before, updates := notes(), h.SB.Slack().Messages()
	evs = h.Do("github redeliver")
	if n := countKind(evs, "slack.message", "updated") + countKind(evs, "slack.message", "posted") + countKind(evs, "ticket", "updated"); n != 0 {
		t.Errorf("a redelivered review had %d effects: %+v", n, evs)
	}
	// The same approval again (a second review by carol) is no news either.
	evs = h.Do("github review last approve by carol")
	if n := countKind(evs, "slack.message", "updated") + countKind(evs, "ticket", "updated"); n != 0 {
		t.Errorf("a repeated approval had %d effects: %+v", n, evs)
	}
	if notes() != before || len(h.SB.Slack().Messages()) != len(updates) {
		t.Error("repeated reviews added ticket notes or messages")
	}

	// A dismissed approval no longer counts, and says so once.
	pr, _ = h.SB.GitHub().PR(envRepo, 1)
	var id int64
	for _, r := range pr.Reviews {
		if r.Author == "carol" && r.State == "APPROVED" {
			id = r.ID
		}
	}
	if err := h.SB.GitHub().DismissReview(envRepo, 1, id, "alice", "new commits coming"); err != nil {
		t.Fatal(err)
	}
	h.Do("clock +1s")
	if msg := stepMessage(t, h, pr.HTMLURL); strings.Contains(msg, "approved by carol") {
		t.Errorf("a dismissed approval still shows: %q", msg)
	}
	if r := h.migration().Open.Reviews["carol"]; r.State != "dismissed" {
		t.Errorf("carol's review after dismissal = %+v", r)
	}
	if got := strings.Join(ticketFor(t, h, "weights-10").Notes, "\n"); !strings.Contains(got, "The review by carol was dismissed.") {
		t.Errorf("ticket notes lack the dismissal: %q", got)
	}
}

// TestCodeOwnerTeamMemberCounts: bob is in @acme/network, the code owner
// of billing's Terraform, so his approval of billing's PR counts.
func TestCodeOwnerTeamMemberCounts(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start billing", "/migrate next billing", "github review last approve by bob")
	m := h.migrationOf("billing")
	if r := m.Open.Reviews["bob"]; r.State != "approved" || !r.Approver {
		t.Errorf("bob's review = %+v, want a counted approval", r)
	}
}

// TestSlackApproval: the step message's button lets a change approver (in
// the Slack user group) approve; others are told why not, alone, and
// nothing changes.
func TestSlackApproval(t *testing.T) {
	// alice is an approver too here, to show that nobody approves their
	// own change.
	h := newHarnessWith(t, func(c *config.Config) {
		p := &c.Environments["kprod"].People
		p.Approvers = append(p.Approvers, "U0ALICE")
	})
	h.Do("as alice", "/migrate start search", "/migrate next")
	pr, _ := h.SB.GitHub().PR(envRepo, 1)
	before := h.snapshot()
	for _, c := range []struct{ user, want string }{
		{"mallory", "You may not approve changes in kprod"},
		{"alice", "You asked for this change"},
	} {
		evs := h.Do("as "+c.user, "click migrate:approve")
		if said := ephemeralTo(evs, c.user); len(said) != 1 || !strings.Contains(said[0], c.want) {
			t.Errorf("%s pressing approve was told %q, want %q", c.user, said, c.want)
		}
	}
	if after := h.snapshot(); after != before {
		t.Errorf("refused approvals changed state:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if tk := ticketFor(t, h, "weights-10"); tk.State != "open" {
		t.Errorf("refused approvals moved the ticket to %s", tk.State)
	}
	h.Do("as carol", "click migrate:approve")
	if msg := stepMessage(t, h, pr.HTMLURL); !strings.Contains(msg, "✅ approved by <@"+h.SB.UserID("carol")+"> in Slack") {
		t.Errorf("step message after carol's Slack approval: %q", msg)
	}
	tk := ticketFor(t, h, "weights-10")
	if tk.State != "approved" || !strings.Contains(strings.Join(tk.Notes, "\n"), "in Slack") {
		t.Errorf("ticket after carol's Slack approval: %s %q", tk.State, tk.Notes)
	}
	evs := h.Do("click migrate:approve")
	if said := ephemeralTo(evs, "carol"); len(said) != 1 || !strings.Contains(said[0], "already approved") {
		t.Errorf("a second press told carol %q", said)
	}
}

// TestPRCommentCommands: commands in comments on the bot's PRs run for
// people with write access or approvers, answered in one comment edited in
// place, after a 👀; others are refused in that comment and nothing
// changes; bots and other PRs are ignored.
func TestPRCommentCommands(t *testing.T) {
	h := newHarness(t)
	gh := h.SB.GitHub()
	h.Do("as alice", "/migrate start search", "/migrate next", "github merge last", "clock +30m")

	before := h.snapshot()
	h.Do("github comment #1 /migrate next by eve")
	pr, _ := gh.PR(envRepo, 1)
	botComments := func() []string { return botReplies(h, 1) }
	if got := botComments(); len(got) != 1 || !strings.Contains(got[0], "@eve: you may not run `/migrate next` here") {
		t.Fatalf("answer to eve: %q", got)
	}
	pr, _ = gh.PR(envRepo, 1)
	for _, c := range pr.Comments {
		if c.Author == "eve" && c.Reactions["eyes"] != 1 {
			t.Errorf("eve's comment reactions = %v, want 👀", c.Reactions)
		}
	}
	if after := h.snapshot(); strings.Count(after, "PR #") != strings.Count(before, "PR #") {
		t.Errorf("a refused comment opened a PR:\n%s", after)
	}
	if m := h.migration(); m.Open != nil {
		t.Fatalf("a refused comment opened %+v", m.Open)
	}

	h.Do("github comment #1 /migrate next by bob")
	m := h.migration()
	if m.Open == nil || m.Open.Step != "weights-25" || m.Open.RequestedBy != "github:bob" {
		t.Fatalf("bob's /migrate next: open = %+v", m.Open)
	}
	got := botComments()
	if len(got) != 1 || !strings.Contains(got[0], "opened [PR #2]") {
		t.Errorf("the bot's comments after bob's command = %q, want its one comment edited to name PR #2", got)
	}
	if msg := stepMessage(t, h, m.Open.URL); !strings.Contains(msg, "opened for @bob (GitHub)") {
		t.Errorf("thread message for a PR-comment step: %q", msg)
	}

	// Bots, edits and comments that are not commands do nothing.
	calls := len(gh.Calls())
	h.Do("github comment #2 /migrate rollback by migratebot[bot]", "github comment #2 looks good to me by carol")
	if m := h.migration(); m.Open.Step != "weights-25" {
		t.Errorf("a bot's comment ran a command: open %s", m.Open.Step)
	}
	for _, c := range gh.Calls()[calls:] {
		if c.Method != "GET" && !strings.Contains(c.Route, "/issues/{number}/comments") {
			t.Errorf("ignored comments caused %s %s", c.Method, c.Route)
		}
	}

	// A PR a person opened is not the bot's: commands there do nothing.
	content := "# a hand edit\n"
	if _, err := gh.Push(envRepo, "hand-edit", map[string]*string{"NOTES.md": &content}, "hand edit", "bob"); err != nil {
		t.Fatal(err)
	}
	n, err := gh.OpenPR(envRepo, "hand-edit", "main", "A hand edit", "bob")
	if err != nil {
		t.Fatal(err)
	}
	h.Do(fmt.Sprintf("github comment #%d /migrate rollback by carol", n))
	if hand, _ := gh.PR(envRepo, n); len(hand.Comments) != 1 || len(hand.Comments[0].Reactions) != 0 {
		t.Errorf("the bot answered on a person's PR: %+v", hand.Comments)
	}
	if m := h.migration(); m.Open.Step != "weights-25" {
		t.Errorf("a command on a person's PR ran: open %s", m.Open.Step)
	}

	// An approver may roll back from the PR: the open PR is superseded.
	h.Do("github comment #2 /migrate rollback by carol")
	m = h.migration()
	if m.Open == nil || !strings.HasPrefix(m.Open.Step, "rollback") {
		t.Errorf("carol's rollback: open = %+v", m.Open)
	}
}

// TestAutoMerge: with auto_merge on, the bot merges its PR once a change
// approver approved it and its checks are green, and not before.
func TestAutoMerge(t *testing.T) {
	h := newHarnessWith(t, func(c *config.Config) { c.Environments["kprod"].AutoMerge = true })
	gh := h.SB.GitHub()
	h.Do("as alice", "/migrate start search", "/migrate next")
	pr, _ := gh.PR(envRepo, 1)
	gh.SetCheckRun(envRepo, pr.HeadSHA, "lint", "in_progress", "")

	h.Do("github review last approve by eve")
	if pr, _ = gh.PR(envRepo, 1); pr.Merged {
		t.Fatal("merged on the approval of someone who is no approver")
	}
	h.Do("github review last approve by carol")
	if pr, _ = gh.PR(envRepo, 1); pr.Merged {
		t.Fatal("merged while a check was running")
	}
	if msg := stepMessage(t, h, pr.HTMLURL); !strings.Contains(msg, "waits for checks: lint") {
		t.Errorf("step message while checks run: %q", msg)
	}
	gh.SetCheckRun(envRepo, pr.HeadSHA, "lint", "completed", "failure")
	h.Do("clock +1m")
	if pr, _ = gh.PR(envRepo, 1); pr.Merged {
		t.Fatal("merged with a failing check")
	}
	if msg := stepMessage(t, h, pr.HTMLURL); !strings.Contains(msg, "checks fail: lint") {
		t.Errorf("step message with a failing check: %q", msg)
	}
	gh.SetCheckRun(envRepo, pr.HeadSHA, "lint", "completed", "success")
	h.Do("clock +5m")
	pr, _ = gh.PR(envRepo, 1)
	if !pr.Merged || pr.MergedBy != "migratebot[bot]" {
		t.Fatalf("not auto-merged once green: merged=%v by %q", pr.Merged, pr.MergedBy)
	}
	if m := h.migration(); m.Weights.New != 10 || m.Open != nil {
		t.Errorf("after the auto-merge: weights %v, open %+v", m.Weights, m.Open)
	}

	// Changes requested hold the merge even with an approval and green checks.
	h.Do("clock +30m", "/migrate next", "github review last request-changes by bob", "github review last approve by carol")
	if pr, _ := gh.PR(envRepo, 2); pr.Merged {
		t.Error("merged although bob asked for changes")
	}
}

// TestAutoMergeOffByDefault: an approved, green PR waits for a person.
func TestAutoMergeOffByDefault(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate next", "github review last approve by carol", "clock +10m")
	if pr, _ := h.SB.GitHub().PR(envRepo, 1); pr.Merged {
		t.Error("merged without auto_merge")
	}
}

// TestApprovalsScript runs the sandbox's approval flow, as the README
// shows it, and checks what a change approver would.
func TestApprovalsScript(t *testing.T) {
	h := newHarness(t)
	lines := h.runScript("approvals.txt")
	if s := said(lines, "mallory"); !strings.Contains(s, "You may not approve changes in kprod") {
		t.Errorf("mallory was told %q", s)
	}
	for _, l := range lines {
		if l.text == "github redeliver" && len(l.events) != 0 {
			t.Errorf("the redelivered review had effects: %+v", l.events)
		}
	}
	tickets := h.SB.Tickets()
	if len(tickets) != 2 {
		t.Fatalf("want a ticket per PR (2), got %+v", tickets)
	}
	first, second := tickets[0], tickets[1]
	notes := strings.Join(first.Notes, "\n")
	for _, want := range []string{"Approved by carol (Slack U0CAROL), a change approver, in Slack.", "Approved by carol, a change approver, on GitHub", "Merged by bob"} {
		if !strings.Contains(notes, want) {
			t.Errorf("first ticket's notes lack %q:\n%s", want, notes)
		}
	}
	if first.State != "closed" || second.State != "cancelled" {
		t.Errorf("ticket states = %s, %s; want closed, cancelled", first.State, second.State)
	}
	answers := botReplies(h, 1)
	if len(answers) != 1 || !strings.Contains(answers[0], "opened [PR #2]") {
		t.Errorf("the bot's comments on #1 = %q, want one, edited to name PR #2", answers)
	}
	if pr2, _ := h.SB.GitHub().PR(envRepo, 2); pr2.State != "closed" || pr2.Merged {
		t.Errorf("PR #2: state %s merged %v", pr2.State, pr2.Merged)
	}
}

// botReplies are the bot's answers to commands on a PR of the env-config
// repo (its health summaries are a comment of their own).
func botReplies(h *harness, n int) []string {
	var out []string
	for _, b := range botComments(h, n) {
		if strings.HasPrefix(b, "**migratebot**:") {
			out = append(out, b)
		}
	}
	return out
}
