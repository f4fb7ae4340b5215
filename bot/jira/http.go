package jira

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/internal/httpretry"
)

// Error is Jira's answer to a call that failed.
type Error struct {
	// Op is what was being done: "create Change issue in CHG".
	Op         string
	StatusCode int
	// Messages are Jira's errorMessages; Fields its errors, by field id.
	Messages []string
	Fields   map[string]string
	// Body is the start of an answer that was not Jira's error JSON (a
	// proxy's page), else "".
	Body string
	// RetryAfter is what Jira asked to wait, when it said so.
	RetryAfter time.Duration
	// Attempts is how many times the call was made.
	Attempts int
}

// Error reads like "jira: create Change issue in CHG: 400 issuetype: Specify
// a valid issue type".
func (e *Error) Error() string {
	var parts []string
	parts = append(parts, e.Messages...)
	ids := make([]string, 0, len(e.Fields))
	for id := range e.Fields {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		parts = append(parts, id+": "+e.Fields[id])
	}
	if len(parts) == 0 && e.Body != "" {
		parts = append(parts, e.Body)
	}
	if len(parts) == 0 {
		parts = append(parts, http.StatusText(e.StatusCode))
	}
	s := fmt.Sprintf("jira: %s: %d %s", e.Op, e.StatusCode, strings.Join(parts, "; "))
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (Jira asks to retry after %s)", e.RetryAfter)
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	return s
}

// Unwrap makes a 404 match bot.ErrNotFound.
func (e *Error) Unwrap() error {
	if e.StatusCode == http.StatusNotFound {
		return bot.ErrNotFound
	}
	return nil
}

// ambiguous says whether a failed POST may have been carried out: anything
// but a clear refusal (4xx) may have been.
func ambiguous(err error) bool {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.StatusCode >= 500 || e.StatusCode < 400
	}
	return true
}

func basicAuth(email, token string) string {
	return base64.StdEncoding.EncodeToString([]byte(email + ":" + token))
}

// maxBody bounds what is read of an answer.
const maxBody = 4 << 20

// call makes one API call, with retries: every failure that may pass when
// idempotent, else only those where Jira cannot have acted (see retryable).
// A 2xx answer is decoded into out when out is not nil; any other is an
// *Error.
func (c *Client) call(ctx context.Context, op, method, path string, query url.Values, body any, idempotent bool, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var raw any
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("jira: %s: %w", op, err)
		}
		raw = b
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, target, raw)
	if err != nil {
		return fmt.Errorf("jira: %s: %w", op, err)
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "migratebot")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	attempts := 0
	rc := &retryablehttp.Client{
		HTTPClient:     c.http,
		RetryWaitMin:   c.wait,
		RetryWaitMax:   8 * c.wait,
		RetryMax:       maxRetries,
		RequestLogHook: func(_ retryablehttp.Logger, _ *http.Request, i int) { attempts = i + 1 },
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			return retryable(ctx, resp, err, idempotent), nil
		},
		Backoff: retryablehttp.DefaultBackoff, // honours Retry-After on 429 and 503
		// Give the last answer back, to decode Jira's error from it.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	resp, err := rc.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		if attempts > 1 {
			return fmt.Errorf("jira: %s: %w (after %d attempts)", op, c.redactErr(err), attempts)
		}
		return fmt.Errorf("jira: %s: %w", op, c.redactErr(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("jira: %s: read the answer: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.apiError(op, resp, data, attempts)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("jira: %s: decode the answer: %w", op, err)
		}
	}
	return nil
}

// retryable says whether to try a call again. An idempotent call is retried
// on connection errors, 429 and 5xx (but 501). Any other only when Jira
// cannot have acted on it: 429, 503, or a connection never made. A wait Jira
// asks for (Retry-After) that outlasts the call's deadline is not waited.
func retryable(ctx context.Context, resp *http.Response, err error, idempotent bool) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		if idempotent {
			ok, _ := retryablehttp.DefaultRetryPolicy(ctx, resp, err)
			return ok
		}
		return httpretry.NeverSent(err)
	}
	code := resp.StatusCode
	retry := code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable ||
		(idempotent && code >= 500 && code != http.StatusNotImplemented)
	if !retry {
		return false
	}
	if wait, ok := httpretry.RetryAfter(resp); ok && httpretry.Outlasts(ctx, wait) {
		return false
	}
	return true
}

// apiError decodes Jira's error answer:
// {"errorMessages": [...], "errors": {"field": "message"}}.
func (c *Client) apiError(op string, resp *http.Response, data []byte, attempts int) error {
	e := &Error{Op: op, StatusCode: resp.StatusCode, Attempts: attempts}
	if e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusServiceUnavailable {
		e.RetryAfter, _ = httpretry.RetryAfter(resp)
	}
	var body struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
		Message       string            `json:"message"`
	}
	if json.Unmarshal(data, &body) == nil {
		e.Messages = body.ErrorMessages
		if body.Message != "" {
			e.Messages = append(e.Messages, body.Message)
		}
		e.Fields = body.Errors
		for i, m := range e.Messages {
			e.Messages[i] = c.redact(m)
		}
		for k, m := range e.Fields {
			e.Fields[k] = c.redact(m)
		}
	}
	if len(e.Messages) == 0 && len(e.Fields) == 0 {
		e.Body = c.redact(snippet(data))
	}
	return e
}

// snippet is the start of a non-JSON answer, on one line.
func snippet(data []byte) string {
	s := strings.Join(strings.Fields(string(bytes.ToValidUTF8(data, nil))), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// redact takes the token out of text from elsewhere, should it echo it.
// Real tokens are long (a Data Center PAT has 44 characters); shorter
// strings are left alone, as they would match ordinary text.
func (c *Client) redact(s string) string {
	for _, secret := range []string{c.cfg.Token, strings.TrimPrefix(c.auth, "Basic ")} {
		if len(secret) >= 8 {
			s = strings.ReplaceAll(s, secret, "[REDACTED]")
		}
	}
	return s
}

// redactErr is err, its text redacted if it carried the token.
func (c *Client) redactErr(err error) error {
	if s := c.redact(err.Error()); s != err.Error() {
		return errors.New(s)
	}
	return err
}
