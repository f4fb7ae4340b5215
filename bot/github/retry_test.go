package github

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestCommentsAreSentOnce: a comment POST that fails with a 5xx is not sent
// again (GitHub may have posted it and lost the answer), one refused for a
// rate limit is, and other writes are retried as before.
func TestCommentsAreSentOnce(t *testing.T) {
	emu, c := mergeFixture(t)
	ctx := context.Background()
	pr := mergeOpen(t, c)
	const route = "POST /repos/{owner}/{repo}/issues/{number}/comments"
	count := func() int {
		n := 0
		for _, call := range emu.Calls() {
			if call.Route == route {
				n++
			}
		}
		return n
	}

	emu.FailNext(route, http.StatusBadGateway, 1, nil)
	if _, err := c.Comment(ctx, mergeRepo, pr.Number, 0, "first"); err == nil {
		t.Fatal("a 502 on a comment was not reported")
	} else if !isStatus(err, http.StatusBadGateway) {
		t.Errorf("the error does not carry GitHub's status: %v", err)
	}
	if n := count(); n != 1 {
		t.Errorf("a comment that got a 502 was sent %d times, want once", n)
	}

	emu.FailNext(route, http.StatusTooManyRequests, 1, http.Header{"Retry-After": {"0"}})
	if _, err := c.Comment(ctx, mergeRepo, pr.Number, 0, "second"); err != nil {
		t.Fatalf("a rate-limited comment was not retried: %v", err)
	}
	got, _ := emu.PR(mergeRepo, pr.Number)
	if len(got.Comments) != 1 || got.Comments[0].Body != "second" {
		t.Errorf("comments = %+v, want the second one alone", got.Comments)
	}

	// Reactions are a set: a 502 is retried.
	id := got.Comments[0].ID
	emu.FailNext("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", http.StatusBadGateway, 1, nil)
	if err := c.React(ctx, mergeRepo, id, "eyes"); err != nil {
		t.Fatalf("a reaction was not retried after a 502: %v", err)
	}
}

// TestConditionalReads: reading a file again asks with its ETag; GitHub's
// 304 costs no rate limit and the bot gets the same content.
func TestConditionalReads(t *testing.T) {
	emu, c := mergeFixture(t)
	ctx := context.Background()
	first, err := c.ReadFile(ctx, mergeRepo, "main", "dns/web-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	emu.ResetCalls()
	again, err := c.ReadFile(ctx, mergeRepo, "main", "dns/web-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(first) {
		t.Errorf("the second read gave %q, want %q", again, first)
	}
	calls := emu.Calls()
	if len(calls) != 1 || calls[0].Status != http.StatusNotModified {
		t.Errorf("the second read made %+v, want one 304", calls)
	}
	// A changed file is read anew.
	content := "weights:\n  old: 50\n  new: 50\n"
	if _, err := emu.Push(mergeRepo, "main", map[string]*string{"dns/web-api.yaml": &content}, "by hand", "alice"); err != nil {
		t.Fatal(err)
	}
	if now, err := c.ReadFile(ctx, mergeRepo, "main", "dns/web-api.yaml"); err != nil || string(now) != content {
		t.Errorf("after a push: %q %v", now, err)
	}
}

// TestSecondaryRateLimitIsWaitedOut: a 403 with Retry-After (GitHub's
// secondary rate limit) is retried after the wait; a spent primary limit
// is not retried.
func TestSecondaryRateLimitIsWaitedOut(t *testing.T) {
	emu, c := mergeFixture(t)
	ctx := context.Background()
	const route = "GET /repos/{owner}/{repo}/collaborators/{username}/permission"
	emu.FailNext(route, http.StatusForbidden, 1, http.Header{"Retry-After": {"1"}})
	start := time.Now()
	if p, err := c.Permission(ctx, mergeRepo, "alice"); err != nil || p != "write" {
		t.Fatalf("after a secondary rate limit: %q %v", p, err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %s, before the Retry-After of 1s", waited)
	}
	emu.FailNext(route, http.StatusForbidden, 1, http.Header{"X-RateLimit-Remaining": {"0"}})
	if _, err := c.Permission(ctx, mergeRepo, "alice"); err == nil {
		t.Error("a spent primary rate limit was retried into success")
	}
}
