package github

import (
	"context"
	"net/http"
	"testing"
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
