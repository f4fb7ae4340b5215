// Package faults shows that a weight step completes exactly once, nothing
// lost and nothing duplicated, when what the bot depends on fails under it:
// GitHub answering 502s and rate limits, Slack rate-limiting, Redis
// restarted mid-run, and the bot itself SIGKILLed at each point of a step.
// Every test runs the real bot (the sandbox's wiring, or `migratebot serve`
// processes) against the emulators and real redis-servers.
package faults

import (
	"fmt"
	"strings"
	"testing"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/internal/redistest"
	"github.com/migratebot/migratebot/internal/sandboxtest"
	"github.com/migratebot/migratebot/sandbox"
	"github.com/migratebot/migratebot/test/githubemu"
	"github.com/migratebot/migratebot/test/slackemu"
)

func TestMain(m *testing.M) { redistest.Main(m) }

const (
	envRepo     = "acme/envs-config"
	ticketRepo  = "acme/change-requests"
	searchFile  = "dns/kprod/search.yaml"
	searchEnv   = "kprod"
	searchName  = "search"
	baseBranch  = "main"
	stepBranch  = "migratebot/search/weights-10"
	stepName    = "weights-10"
	routeTrees  = "POST /repos/{owner}/{repo}/git/trees"
	routeCommit = "POST /repos/{owner}/{repo}/git/commits"
	routeRefs   = "POST /repos/{owner}/{repo}/git/refs"
	routePulls  = "POST /repos/{owner}/{repo}/pulls"
)

var searchKey = bot.ServiceKey{Env: searchEnv, Service: searchName}

// harness is the bot under test (sandboxtest), with this package's helpers.
type harness struct{ *sandboxtest.Harness }

// newHarness starts the bot on the package's shared redis-server, with a
// key prefix of its own.
func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessOpts(t, sandbox.Options{})
}

// newHarnessOpts starts the bot with sandbox options; an empty RedisURL
// is the package's shared redis-server.
func newHarnessOpts(t *testing.T, o sandbox.Options) *harness {
	t.Helper()
	return &harness{sandboxtest.New(t, o)}
}

func (h *harness) migration() *bot.Migration { return h.Migration(searchKey) }

// ephemeralTo is what the bot told user alone.
func ephemeralTo(evs []sandbox.Event, user string) []string {
	var out []string
	for _, e := range evs {
		if e.Kind == "slack.message" && e.Ephemeral != nil && *e.Ephemeral && e.ToUser == user {
			out = append(out, e.Text)
		}
	}
	return out
}

// stepMessages are the thread's messages about a step: "▶ *weights-10* ·
// <PR> opened", later updated in place.
func stepMessages(msgs []slackemu.Message, thread, step string) []slackemu.Message {
	var out []slackemu.Message
	for _, m := range msgs {
		if m.ThreadTS == thread && !m.Ephemeral && strings.Contains(m.Text, "*"+step+"*") {
			out = append(out, m)
		}
	}
	return out
}

// planMessage is the text of the message at the top of the thread.
func planMessage(msgs []slackemu.Message, thread string) string {
	for _, m := range msgs {
		if m.TS == thread {
			return m.Text
		}
	}
	return ""
}

// onceEach lists what is wrong with a step that must have left everything
// behind exactly once: one PR from its branch, one commit on that branch,
// one ticket naming the step, one message about it in the thread (linking
// the PR), and the migration holding that PR open.
func onceEach(gh *githubemu.Server, slack *slackemu.Server, m *bot.Migration) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var prs []githubemu.PullRequest
	for _, pr := range gh.PRs(envRepo) {
		if pr.Head == stepBranch {
			prs = append(prs, pr)
		}
	}
	if len(prs) != 1 {
		bad("%d PRs from %s, want 1", len(prs), stepBranch)
		return problems
	}
	pr := prs[0]
	if commits, err := gh.BranchCommits(envRepo, stepBranch, baseBranch); err != nil || len(commits) != 1 {
		bad("commits on %s: %v (%v), want 1", stepBranch, commits, err)
	}
	if got := pr.Files[searchFile]; got == nil || !strings.Contains(*got, "weight: 10\n") {
		bad("the PR does not set the new side to 10 in %s", searchFile)
	}
	var tickets int
	for _, is := range gh.Issues(ticketRepo) {
		if strings.Contains(is.Title, stepName) {
			tickets++
		}
	}
	if tickets != 1 {
		bad("%d tickets for %s, want 1", tickets, stepName)
	}
	if m == nil {
		bad("no migration")
		return problems
	}
	if msgs := stepMessages(slack.Messages(), m.Thread.TS, stepName); len(msgs) != 1 {
		var texts []string
		for _, msg := range msgs {
			texts = append(texts, msg.TS+" "+msg.Text)
		}
		bad("%d %s messages in the thread, want 1: %q", len(msgs), stepName, texts)
	} else if !strings.Contains(msgs[0].Text, pr.HTMLURL) {
		bad("the step message does not link %s: %q", pr.HTMLURL, msgs[0].Text)
	} else if m.Open != nil && m.Open.MessageTS != msgs[0].TS {
		bad("the migration knows the step message as %q, the thread has it as %q", m.Open.MessageTS, msgs[0].TS)
	}
	if m.Open == nil || m.Open.State != bot.ChangeOpen || m.Open.Number != pr.Number || m.Open.Step != stepName {
		bad("the migration's open change is %+v, want %s open as PR #%d", m.Open, stepName, pr.Number)
	}
	return problems
}

// report fails the test with the problems found.
func report(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}
