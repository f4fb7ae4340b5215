package faults

import (
	"net/http"
	"strings"
	"testing"

	"github.com/migratebot/migratebot/test/githubemu"
)

// retryAfter is GitHub's secondary rate limit header: wait a second.
var retryAfter = http.Header{"Retry-After": {"1"}}

// TestGitHubFaultsDuringAStep: GitHub answers 502, a secondary rate limit
// (403 or 429 with Retry-After), or acts and then answers 502, on each
// write of a weight step. The adapter's retries absorb it: the step's PR
// opens once, its branch has one commit, there is one ticket and one step
// message, and the user is told of no failure.
func TestGitHubFaultsDuringAStep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		route  string
		status int
		count  int
		header http.Header
		// served: GitHub acts on the call, then answers status (once):
		// the retry meets what the lost answer would have said.
		served bool
	}{
		{name: "tree 502 twice", route: routeTrees, status: http.StatusBadGateway, count: 2},
		{name: "commit 502 three times", route: routeCommit, status: http.StatusBadGateway, count: 3},
		{name: "ref 502 twice", route: routeRefs, status: http.StatusBadGateway, count: 2},
		{name: "PR 502 twice", route: routePulls, status: http.StatusBadGateway, count: 2},
		{name: "tree secondary rate limit 429", route: routeTrees, status: http.StatusTooManyRequests, count: 1, header: retryAfter},
		{name: "commit secondary rate limit 403", route: routeCommit, status: http.StatusForbidden, count: 1, header: retryAfter},
		{name: "ref secondary rate limit 403", route: routeRefs, status: http.StatusForbidden, count: 1, header: retryAfter},
		{name: "PR secondary rate limit 429", route: routePulls, status: http.StatusTooManyRequests, count: 1, header: retryAfter},
		{name: "commit written, answer lost", route: routeCommit, status: http.StatusBadGateway, served: true},
		{name: "ref written, answer lost", route: routeRefs, status: http.StatusBadGateway, served: true},
		{name: "PR opened, answer lost", route: routePulls, status: http.StatusBadGateway, served: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			gh := h.SB.GitHub()
			h.Do("as alice", "/migrate start search")
			if tc.served {
				gh.OnNextCall(tc.route, githubemu.AfterServing, func() int { return tc.status })
			} else {
				gh.FailNext(tc.route, tc.status, tc.count, tc.header)
			}
			gh.ResetCalls()
			evs := h.Do("/migrate next")
			if said := ephemeralTo(evs, "alice"); len(said) > 0 {
				t.Errorf("alice was told %q, want nothing (the PR opened)", said)
			}
			calls, failed := 0, 0
			for _, c := range gh.Calls() {
				if c.Route == tc.route {
					calls++
					if c.Status == tc.status {
						failed++
					}
				}
			}
			if want := max(tc.count, 1); failed != want || calls != want+1 {
				t.Errorf("%d calls to %s, %d of them answered %d; want %d answered so, then one that is not", calls, tc.route, failed, tc.status, want)
			}
			report(t, onceEach(gh, h.SB.Slack(), h.migration()))
		})
	}
}

// TestGitHubFaultOutlastsRetries: a 502 on every try of one write. The
// user is told plainly that the step failed and may be run again; the
// migration holds no open change; and running the command again opens the
// step once, reusing what the failed run left behind.
func TestGitHubFaultOutlastsRetries(t *testing.T) {
	t.Parallel()
	for _, route := range []string{routeCommit, routePulls} {
		t.Run(route, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			gh := h.SB.GitHub()
			h.Do("as alice", "/migrate start search")
			gh.FailNext(route, http.StatusBadGateway, 10, nil)
			evs := h.Do("/migrate next")
			gh.FailNext(route, 0, 0, nil) // GitHub is back
			said := ephemeralTo(evs, "alice")
			if len(said) != 1 || !strings.Contains(said[0], "`/migrate next` failed") || !strings.Contains(said[0], "502") ||
				!strings.Contains(said[0], "safe to run it again") {
				t.Fatalf("alice was told %q, want one message that next failed with GitHub's 502 and may be run again", said)
			}
			if m := h.migration(); m.Open != nil {
				t.Errorf("after the failure the migration holds %+v, want no open change", m.Open)
			}
			if n := len(gh.PRs(envRepo)); n != 0 {
				t.Errorf("%d PRs after the failure, want 0", n)
			}
			if msgs := stepMessages(h.SB.Slack().Messages(), h.migration().Thread.TS, stepName); len(msgs) != 0 {
				t.Errorf("the thread has %d messages about the failed step, want none: %+v", len(msgs), msgs)
			}

			evs = h.Do("/migrate next")
			if said := ephemeralTo(evs, "alice"); len(said) > 0 {
				t.Errorf("on the rerun alice was told %q, want nothing", said)
			}
			report(t, onceEach(gh, h.SB.Slack(), h.migration()))
		})
	}
}
