// Package httpretry holds what the HTTP adapters (Jira, ServiceNow,
// Prometheus) share in deciding whether and when to send a call again,
// on top of hashicorp/go-retryablehttp.
package httpretry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryAfter reads an answer's Retry-After header, in seconds or as an
// HTTP date; false when it has none (or there is no answer).
func RetryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// Outlasts says whether a wait ends after ctx's deadline: a retry after it
// could not be sent in time, so it is not waited for.
func Outlasts(ctx context.Context, wait time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < wait
}

// NeverSent says whether a call failed before reaching the server (the
// connection was never made), so that even a call that must not be sent
// twice may be sent again.
func NeverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
