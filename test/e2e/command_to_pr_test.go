package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/migratebot/migratebot/test/githubemu"
)

// prCalls splits the GitHub calls of a weight step into those before the
// PR existed (the critical path) and those after, and counts the rounds of
// the critical path: calls that overlap in time are one round.
func prCalls(calls []githubemu.Call) (before []githubemu.Call, after []githubemu.Call, rounds int) {
	opened := -1
	for i, c := range calls {
		if c.Method == "POST" && c.Route == "POST /repos/{owner}/{repo}/pulls" {
			opened = i
			break
		}
	}
	if opened < 0 {
		return nil, calls, 0
	}
	before, after = calls[:opened+1], calls[opened+1:]
	var roundEnd time.Time
	for _, c := range before {
		if rounds == 0 || !c.Start.Before(roundEnd) {
			rounds++
			roundEnd = c.End
		} else if c.End.After(roundEnd) {
			roundEnd = c.End
		}
	}
	return before, after, rounds
}

// TestWeightPRCriticalPath: a weight PR takes at most six GitHub calls
// before it exists, in at most five rounds (the file and the base branch are
// read together); labels, reviewers and the ticket come after.
func TestWeightPRCriticalPath(t *testing.T) {
	h := newHarness(t)
	gh := h.SB.GitHub()
	gh.SetLatency(20 * time.Millisecond) // so that overlapping calls show
	h.Do("as alice", "/migrate start search")
	gh.ResetCalls()
	h.Do("/migrate next")
	before, after, rounds := prCalls(gh.Calls())
	var names []string
	for _, c := range before {
		names = append(names, c.Method+" "+strings.TrimPrefix(c.Route, "/repos/{owner}/{repo}"))
	}
	if len(before) > 6 || rounds > 5 {
		t.Errorf("%d calls in %d rounds before the PR existed, want ≤ 6 in ≤ 5: %q", len(before), rounds, names)
	}
	var labelled, reviewed bool
	for _, c := range after {
		labelled = labelled || strings.HasSuffix(c.Route, "/labels")
		reviewed = reviewed || strings.HasSuffix(c.Route, "/requested_reviewers")
	}
	if !labelled || !reviewed {
		t.Errorf("labels %v, reviewers %v: want both asked after the PR opened", labelled, reviewed)
	}
}

// BenchmarkCommandToPR: from the signed slash command to the weight PR
// existing, with GitHub answering every call after 50 ms. Goal: at most
// (calls in sequence × 50 ms) + 30 ms. Reported as ms/PR, with the calls
// and rounds before the PR.
func BenchmarkCommandToPR(b *testing.B) {
	var total time.Duration
	var calls, rounds int
	for range b.N {
		b.StopTimer()
		h := newHarness(b)
		gh := h.SB.GitHub()
		h.Do("as alice", "/migrate start search")
		gh.SetLatency(50 * time.Millisecond)
		gh.ResetCalls()
		start := time.Now()
		b.StartTimer()
		h.Do("/migrate next")
		b.StopTimer()
		before, _, r := prCalls(gh.Calls())
		if len(before) == 0 {
			b.Fatal("no PR opened")
		}
		total += before[len(before)-1].End.Sub(start)
		calls, rounds = len(before), r
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/PR")
	b.ReportMetric(float64(calls), "calls")
	b.ReportMetric(float64(rounds), "rounds")
	b.ReportMetric(float64(rounds*50+30), "goal-ms")
}
