package github

import (
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// What the client's transport may send again.
//
// Most writes the bot makes are safe to repeat: trees, blobs and commits are
// content-addressed, labels, reviewers and reactions are sets, and ref and PR
// creation are checked for "already exists". Two are not: a comment and an
// issue (a ticket) posted twice are two. Those go out once, unless GitHub
// cannot have acted on the first try: the connection was never made, or it
// answered with a rate limit. Their callers look before they try again.

// sendOnce matches the POSTs that create a comment or an issue.
var sendOnce = regexp.MustCompile(`/repos/[^/]+/[^/]+/issues(/[0-9]+/comments)?$`)

type onceKey struct{}

// onceTagger marks the requests that must not be repeated blindly, for
// retryPolicy, which sees only the request's context.
type onceTagger struct{ next http.RoundTripper }

func (t onceTagger) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && sendOnce.MatchString(req.URL.Path) {
		req = req.WithContext(context.WithValue(req.Context(), onceKey{}, true))
	}
	return t.next.RoundTrip(req)
}

// retryPolicy is retryablehttp's default (connection errors, 429 and 5xx)
// for repeatable requests, and for the others only what GitHub did not act
// on.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if err == nil && resp.StatusCode == http.StatusForbidden {
		// A secondary rate limit (Retry-After) passes: wait and try
		// again. A spent primary limit resets within the hour: waiting
		// inside a job would be worse than failing it with the reset time.
		return resp.Header.Get("Retry-After") != "" && ctx.Err() == nil, nil
	}
	if once, _ := ctx.Value(onceKey{}).(bool); !once {
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		var op *net.OpError
		return errors.As(err, &op) && op.Op == "dial", nil
	}
	return rateLimited(resp), nil
}

// maxRetryAfter is the longest GitHub may ask the bot to wait before a
// retry; beyond it the call fails and the job says so.
const maxRetryAfter = time.Minute

// backoff waits what GitHub asks (Retry-After, on a 403 secondary rate
// limit as on a 429 or 503), else doubles from min to max.
func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, maxRetryAfter)
		}
	}
	return retryablehttp.DefaultBackoff(minWait, maxWait, attempt, resp)
}

// rateLimited says whether GitHub refused a request for its rate limits,
// primary or secondary, without acting on it.
func rateLimited(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		return true
	case http.StatusForbidden:
		if resp.Header.Get("Retry-After") != "" {
			return true
		}
		remaining, err := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining"))
		return err == nil && remaining == 0
	}
	return false
}
