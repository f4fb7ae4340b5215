package e2e

import (
	"strings"
	"testing"

	"github.com/migratebot/migratebot/sandbox"
)

// ticketSystems are the three backends, each run through the whole bot.
var ticketSystems = []string{sandbox.TicketsGitHub, sandbox.TicketsJira, sandbox.TicketsServiceNow}

// ticketFor returns the one ticket whose title names step, failing when
// there is not exactly one.
func ticketFor(t *testing.T, h *harness, step string) sandbox.TicketView {
	t.Helper()
	var found []sandbox.TicketView
	for _, tk := range h.SB.Tickets() {
		if strings.Contains(tk.Title, ": "+step) {
			found = append(found, tk)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one ticket for %s, got %d: %+v", step, len(found), h.SB.Tickets())
	}
	return found[0]
}

// stepMessage is the thread's message about a PR.
func stepMessage(t *testing.T, h *harness, prURL string) string {
	t.Helper()
	m := h.migration()
	for _, msg := range threadMessages(h.SB.Slack().Messages(), m.Thread.TS) {
		if strings.Contains(msg.Text, prURL) {
			return msg.Text
		}
	}
	t.Fatalf("no thread message names %s", prURL)
	return ""
}

// TestTicketLifecycleInEachSystem: a ticket per change, with the fields a
// change approver checks, moved through its whole life: approved with the
// review, implemented and closed with the merge, cancelled when a PR is
// closed unmerged or the migration aborts.
func TestTicketLifecycleInEachSystem(t *testing.T) {
	for _, system := range ticketSystems {
		t.Run(system, func(t *testing.T) {
			h := newHarnessOpts(t, sandbox.Options{Tickets: system})
			gh := h.SB.GitHub()
			h.Do("as alice", "/migrate start search", "/migrate next")
			pr, _ := gh.PR(envRepo, 1)
			tk := ticketFor(t, h, "weights-10")
			if tk.State != "open" {
				t.Errorf("new ticket state = %q, want open", tk.State)
			}
			for _, want := range []string{"search (kprod): weights-10", "old 100 / new 0 → old 90 / new 10"} {
				if !strings.Contains(tk.Title, want) {
					t.Errorf("ticket title %q lacks %q", tk.Title, want)
				}
			}
			for _, want := range []string{
				"Service: search", "Environment: kprod", "Change type: normal",
				"Weights: old 100 / new 0 → old 90 / new 10", "Pull request: " + pr.HTMLURL,
				"Requested by: alice (Slack " + h.SB.UserID("alice") + ")", "Approvers: carol; teams change-approvers",
				"Planned window:", "Rollback plan: `/migrate rollback search`",
			} {
				if !strings.Contains(tk.Body, want) {
					t.Errorf("ticket body lacks %q:\n%s", want, tk.Body)
				}
			}
			// Linked from the PR and the thread.
			pr, _ = gh.PR(envRepo, 1)
			if strings.Contains(pr.Body, "pending") || !strings.Contains(pr.Body, tk.URL) {
				t.Errorf("PR body does not link the ticket %s:\n%s", tk.URL, pr.Body)
			}
			if msg := stepMessage(t, h, pr.HTMLURL); !strings.Contains(msg, tk.URL) {
				t.Errorf("step message does not link the ticket %s: %q", tk.URL, msg)
			}

			h.Do("github review last approve by carol")
			if tk = ticketFor(t, h, "weights-10"); tk.State != "approved" || !strings.Contains(strings.Join(tk.Notes, "\n"), "Approved by carol") {
				t.Errorf("after carol's approval: state %q, notes %q", tk.State, tk.Notes)
			}
			h.Do("github merge last")
			if tk = ticketFor(t, h, "weights-10"); tk.State != "implemented" || !strings.Contains(strings.Join(tk.Notes, "\n"), "Merged by bob") {
				t.Errorf("after the merge: state %q, notes %q", tk.State, tk.Notes)
			}
			h.Do("clock +13m")
			if tk = ticketFor(t, h, "weights-10"); tk.State != "closed" || !strings.Contains(strings.Join(tk.Notes, "\n"), "Health after the merge: healthy") {
				t.Errorf("after a healthy summary: state %q, notes %q", tk.State, tk.Notes)
			}

			h.Do("clock +30m", "/migrate next", "github close last")
			if tk = ticketFor(t, h, "weights-25"); tk.State != "cancelled" || !strings.Contains(strings.Join(tk.Notes, "\n"), "closed without merging") {
				t.Errorf("after closing the PR: state %q, notes %q", tk.State, tk.Notes)
			}
			// The retry of the same step is a new PR, with a ticket of its own.
			h.Do("/migrate next", "/migrate abort")
			var cancelled int
			for _, tk := range h.SB.Tickets() {
				if strings.Contains(tk.Title, ": weights-25") && tk.State == "cancelled" {
					cancelled++
				}
			}
			if cancelled != 2 {
				t.Errorf("want both weights-25 tickets cancelled (closed PR, abort), got %d: %+v", cancelled, h.SB.Tickets())
			}
			// The abort's revert is an emergency change with its own ticket.
			var all []string
			for _, tk := range h.SB.Tickets() {
				all = append(all, tk.Title)
			}
			if len(all) != 4 || !strings.Contains(strings.Join(all, "\n"), "revert") {
				t.Errorf("tickets = %q, want weights-10, weights-25 twice and the revert", all)
			}
		})
	}
}

// TestTicketSystemDownThenBack: the PR does not wait for the ticket system;
// the thread and the PR say the ticket is pending; once the system is back
// the ticket is filed exactly once, in the state the change reached
// meanwhile.
func TestTicketSystemDownThenBack(t *testing.T) {
	for _, system := range []string{sandbox.TicketsJira, sandbox.TicketsServiceNow} {
		t.Run(system, func(t *testing.T) {
			h := newHarnessOpts(t, sandbox.Options{Tickets: system})
			setDown := func(down bool) {
				if system == sandbox.TicketsJira {
					h.SB.Jira().SetDown(down)
				} else {
					h.SB.ServiceNow().SetDown(down)
				}
			}
			h.Do("as alice", "/migrate start search")
			setDown(true)
			h.Do("/migrate next")
			pr, ok := h.SB.GitHub().PR(envRepo, 1)
			if !ok {
				t.Fatal("the PR waited for the ticket system")
			}
			if got := h.SB.Tickets(); len(got) != 0 {
				t.Fatalf("a ticket exists while the system is down: %+v", got)
			}
			if !strings.Contains(pr.Body, "pending") {
				t.Errorf("PR body does not say the ticket is pending:\n%s", pr.Body)
			}
			if msg := stepMessage(t, h, pr.HTMLURL); !strings.Contains(msg, "ticket pending") {
				t.Errorf("step message does not say the ticket is pending: %q", msg)
			}
			// Retries while down file nothing, and the merge goes on.
			h.Do("clock +2m", "github review last approve by carol", "github merge last", "clock +5m")
			if got := h.SB.Tickets(); len(got) != 0 {
				t.Fatalf("a ticket exists while the system is down: %+v", got)
			}
			if m := h.migration(); m.Weights.New != 10 {
				t.Fatalf("the merge waited for the ticket system: weights %v", m.Weights)
			}

			setDown(false)
			h.Do("clock +10m", "clock +10m")
			got := h.SB.Tickets()
			if len(got) != 1 {
				t.Fatalf("want exactly one ticket once the system is back, got %+v", got)
			}
			notes := strings.Join(got[0].Notes, "\n")
			if got[0].State != "closed" || !strings.Contains(notes, "Approved by carol") || !strings.Contains(notes, "Merged by bob") {
				t.Errorf("ticket after recovery: state %q, notes %q", got[0].State, notes)
			}
			pr, _ = h.SB.GitHub().PR(envRepo, 1)
			if !strings.Contains(pr.Body, got[0].URL) {
				t.Errorf("PR body does not link the ticket once filed:\n%s", pr.Body)
			}
			if msg := stepMessage(t, h, pr.HTMLURL); strings.Contains(msg, "pending") || !strings.Contains(msg, got[0].URL) {
				t.Errorf("step message after recovery: %q", msg)
			}
		})
	}
}
