package faults

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/sandbox"
	"github.com/migratebot/migratebot/test/slackemu"
)

// TestSlackRateLimitDuringAStep: Slack answers 429 with Retry-After to the
// bot's posts or updates while a weight step opens its PR. The step's
// message must still be in the thread once, linking the PR (and its
// ticket); the plan message must show the open PR; the migration must know
// the message; and the merge must update that message in place.
func TestSlackRateLimitDuringAStep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		method string
		count  int
		// tickets: kprod files change tickets (the sandbox's default);
		// their job updates the step message once the ticket is filed.
		tickets bool
		// lose: the calls take effect and their answers are lost (502),
		// rather than refused with a 429; blind: the bot's first look
		// for the message it may have posted fails too.
		lose, blind bool
	}{
		// The step's own post fails; the ticket's job, due at once, finds no
		// message and posts it: the message arrives, a moment late.
		{name: "step message 429, then the ticket's update", method: "chat.postMessage", count: 1, tickets: true},
		{name: "step message 429, no ticket system", method: "chat.postMessage", count: 1},
		{name: "step message 429 twice", method: "chat.postMessage", count: 2, tickets: true},
		{name: "plan message update 429", method: "chat.update", count: 1, tickets: true},
		// The step message is posted, but the bot never learns its ts: it
		// finds the message by its key in the thread instead of posting a
		// second one, at once, or, when that look fails too, at the next
		// update (the ticket's).
		{name: "step message answer lost", method: "chat.postMessage", count: 1, lose: true},
		{name: "step message answer lost, then the ticket's update", method: "chat.postMessage", count: 1, tickets: true, lose: true, blind: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarnessOpts(t, sandbox.Options{Configure: func(c *config.Config) {
				if !tc.tickets {
					c.Environments[searchEnv].Tickets.System = "none"
				}
			}})
			slack := h.SB.Slack()
			h.Do("as alice", "/migrate start search")
			if tc.lose {
				slack.LoseNextAnswer(tc.method, tc.count)
				if tc.blind {
					slack.FailNext("conversations.replies", http.StatusInternalServerError, 1, nil)
				}
			} else {
				slack.FailNext(tc.method, http.StatusTooManyRequests, tc.count, http.Header{"Retry-After": {"1"}})
			}
			h.Do("/migrate next")
			m := h.migration()
			pr, ok := h.SB.GitHub().PR(envRepo, 1)
			if !ok || pr.Head != stepBranch || m.Open == nil || m.Open.Number != 1 {
				t.Fatalf("the step did not open its PR: %+v, open change %+v", pr, m.Open)
			}
			var problems []string
			bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
			msgs := stepMessages(slack.Messages(), m.Thread.TS, stepName)
			switch {
			case len(msgs) != 1:
				bad("the thread has %d %s messages, want 1", len(msgs), stepName)
			case !strings.Contains(msgs[0].Text, pr.HTMLURL):
				bad("the step message does not link the PR: %q", msgs[0].Text)
			case tc.tickets && !strings.Contains(msgs[0].Text, "ticket <"):
				bad("the step message does not link the ticket: %q", msgs[0].Text)
			case m.Open.MessageTS != msgs[0].TS:
				bad("the migration knows the step message as %q, the thread has it as %q", m.Open.MessageTS, msgs[0].TS)
			}
			if plan := planMessage(slack.Messages(), m.Thread.TS); !strings.Contains(plan, "Open: <"+pr.HTMLURL) {
				bad("the plan message does not show the open PR: %q", plan)
			}

			h.Do("github merge last")
			m = h.migration()
			if m.Open != nil || len(m.History) != 1 || m.History[0].Number != 1 {
				t.Fatalf("after the merge: open %+v, %d changes", m.Open, len(m.History))
			}
			if msgs := stepMessages(slack.Messages(), m.Thread.TS, stepName); len(msgs) != 1 || !strings.Contains(msgs[0].Text, "merged by bob") {
				bad("after the merge the thread has %d %s messages, want 1 saying merged", len(msgs), stepName)
			}
			report(t, problems)
		})
	}
}

// planMessages are the channel's messages that are a plan of service.
func planMessages(msgs []slackemu.Message, service string) []slackemu.Message {
	var out []slackemu.Message
	for _, m := range msgs {
		if m.ThreadTS == "" && !m.Ephemeral && strings.HasPrefix(m.Text, "*Migration of `"+service+"`") {
			out = append(out, m)
		}
	}
	return out
}

// TestPlanAnswerLost: Slack posts a new migration's plan and the answer
// is lost. The bot finds the plan in the channel by its key and makes it
// the thread; when that look fails too, the start fails, and the start run
// again finds the plan rather than posting another.
func TestPlanAnswerLost(t *testing.T) {
	for _, blind := range []bool{false, true} {
		t.Run(map[bool]string{false: "found at once", true: "found when the start is run again"}[blind], func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			slack := h.SB.Slack()
			slack.LoseNextAnswer("chat.postMessage", 1)
			if blind {
				slack.FailNext("conversations.history", http.StatusInternalServerError, 1, nil)
			}
			evs := h.Do("as alice", "/migrate start search")
			if blind {
				if m := h.migration(); m == nil || m.Thread.TS != "" {
					t.Fatalf("after a start whose plan was lost and not found: %+v, want the migration without its thread", m)
				}
				if told := ephemeralTo(evs, "alice"); len(told) != 1 || !strings.Contains(told[0], "safe to run it again") {
					t.Errorf("alice was told %q, want that the start failed and is safe to run again", told)
				}
				h.Do("/migrate start search")
			}
			m := h.migration()
			plans := planMessages(slack.Messages(), "search")
			if len(plans) != 1 {
				t.Fatalf("%d plans of search in the channel, want 1", len(plans))
			}
			if m == nil || m.Thread.TS != plans[0].TS {
				t.Errorf("the migration's thread is %+v, the plan is %s", m, plans[0].TS)
			}
			h.Do("/migrate next")
			if msgs := stepMessages(slack.Messages(), plans[0].TS, stepName); len(msgs) != 1 {
				t.Errorf("%d %s messages in the plan's thread, want 1", len(msgs), stepName)
			}
		})
	}
}
