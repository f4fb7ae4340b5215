package prometheus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/migratebot/migratebot/internal/httpretry"
	"github.com/migratebot/migratebot/internal/redact"
)

// maxAnswer bounds how much of an answer is read: one sample is a few dozen
// bytes.
const maxAnswer = 1 << 20

// Error is Prometheus, or a proxy in front of it, refusing a query.
type Error struct {
	StatusCode int    // 400
	Status     string // "400 Bad Request"
	// Type and Message are Prometheus's errorType ("bad_data", "execution",
	// "timeout", ...) and error, when it answered with its error JSON.
	Type, Message string
	// Page sums up any other answer, a proxy's: an HTML page's title, or
	// the start of a text.
	Page string
	// Query is the PromQL sent.
	Query string
	// Attempts is how many times the query was sent.
	Attempts int
}

// Error reads like `answered 400 Bad Request: bad_data: invalid parameter
// "query": 1:27: parse error: unexpected "}"; the query was sum(...)`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("answered " + e.Status)
	if e.Type != "" {
		b.WriteString(": " + e.Type)
	}
	switch {
	case e.Message != "":
		b.WriteString(": " + e.Message)
	case e.Page != "" && e.Page != http.StatusText(e.StatusCode):
		b.WriteString(": " + e.Page)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	b.WriteString("; the query was " + e.Query)
	return b.String()
}

// instant runs one instant query evaluated at at, with retries, and reads
// its one number.
func (c *Client) instant(ctx context.Context, q string, at time.Time) (value, error) {
	u := c.base + "/api/v1/query?" + url.Values{"query": {q}, "time": {unixTime(at)}}.Encode()
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return value{}, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "migratebot")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}

	// A client per query, for the hooks to count this query's attempts;
	// the connections are c.http's, shared.
	attempts, last := 0, ""
	rc := &retryablehttp.Client{
		HTTPClient:      c.http,
		Logger:          nil, // nothing logged, so nothing leaks
		RetryWaitMin:    c.retryWait,
		RetryWaitMax:    c.retryWait << retryMax,
		RetryMax:        retryMax,
		CheckRetry:      checkRetry,
		Backoff:         retryablehttp.DefaultBackoff, // honours Retry-After on 429 and 503
		ErrorHandler:    retryablehttp.PassthroughErrorHandler,
		RequestLogHook:  func(_ retryablehttp.Logger, _ *http.Request, i int) { attempts = i + 1 },
		ResponseLogHook: func(_ retryablehttp.Logger, r *http.Response) { last = r.Status },
	}
	resp, err := rc.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		// The URL a *url.Error repeats is long and says nothing the caller
		// does not: keep what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if last != "" {
			last = ", the last answering " + last
		}
		return value{}, fmt.Errorf("no answer after %d attempt(s)%s: %w", attempts, last, c.redact(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return value{}, fmt.Errorf("read the answer: %w", c.redact(err))
	}
	return c.decode(resp, b, q, attempts)
}

// checkRetry says whether to send a query again: after a connection error,
// a 429 or a 5xx but 501, unless the time is up or the wait asked for
// (Retry-After) outlasts it.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, nil
	}
	if err != nil {
		retry, _ := retryablehttp.DefaultRetryPolicy(ctx, resp, err) // its error is err itself, or ctx's
		return retry, nil
	}
	code := resp.StatusCode
	if code != http.StatusTooManyRequests && (code < 500 || code == http.StatusNotImplemented) {
		return false, nil
	}
	if wait, ok := httpretry.RetryAfter(resp); ok && httpretry.Outlasts(ctx, wait) {
		return false, nil
	}
	return true, nil
}

// unixTime writes a time as Unix seconds, to the millisecond: Prometheus's
// precision.
func unixTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

// answer is Prometheus's JSON envelope.
type answer struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      *struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// decode reads an answer: Prometheus's error, or one number.
func (c *Client) decode(resp *http.Response, b []byte, q string, attempts int) (value, error) {
	var ans answer
	jsonErr := json.Unmarshal(b, &ans)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || (jsonErr == nil && ans.Status == "error") {
		e := &Error{StatusCode: resp.StatusCode, Status: resp.Status, Query: q, Attempts: attempts}
		if jsonErr == nil && ans.Status == "error" {
			e.Type, e.Message = c.scrub(ans.ErrorType), c.scrub(ans.Error)
		} else {
			e.Page = c.scrub(page(resp, b))
		}
		return value{}, e
	}
	if jsonErr != nil || ans.Status != "success" || ans.Data == nil {
		p := c.scrub(page(resp, b))
		if p != "" {
			p = ": " + p
		}
		return value{}, fmt.Errorf("answered %s with %s, not Prometheus's JSON%s", resp.Status, contentType(resp), p)
	}

	switch ans.Data.ResultType {
	case "vector":
		var samples []struct {
			Value     []json.RawMessage `json:"value"`
			Histogram json.RawMessage   `json:"histogram"`
		}
		if err := json.Unmarshal(ans.Data.Result, &samples); err != nil {
			return value{}, fmt.Errorf("read the vector answered: %w; the query was %s", err, q)
		}
		switch {
		case len(samples) == 0:
			return value{asked: true, empty: true}, nil
		case len(samples) > 1:
			return value{}, fmt.Errorf("answered %d series, not one: the query must aggregate them (sum, or sum by (le) inside histogram_quantile); the query was %s", len(samples), q)
		case samples[0].Value == nil && samples[0].Histogram != nil:
			return value{}, fmt.Errorf("answered a native histogram, not a number; the query was %s", q)
		}
		v, err := sampleValue(samples[0].Value)
		if err != nil {
			return value{}, fmt.Errorf("read the sample answered: %w; the query was %s", err, q)
		}
		return value{asked: true, v: v}, nil
	case "scalar":
		var pair []json.RawMessage
		if err := json.Unmarshal(ans.Data.Result, &pair); err != nil {
			return value{}, fmt.Errorf("read the scalar answered: %w; the query was %s", err, q)
		}
		v, err := sampleValue(pair)
		if err != nil {
			return value{}, fmt.Errorf("read the scalar answered: %w; the query was %s", err, q)
		}
		return value{asked: true, v: v}, nil
	}
	return value{}, fmt.Errorf("answered a %q, not a vector or a scalar; the query was %s", ans.Data.ResultType, q)
}

// sampleValue reads [<unix time>, "<value>"]; the value may be "NaN",
// "+Inf" or "-Inf".
func sampleValue(pair []json.RawMessage) (float64, error) {
	if len(pair) != 2 {
		return 0, fmt.Errorf("%d elements, not [time, value]", len(pair))
	}
	var s string
	if err := json.Unmarshal(pair[1], &s); err != nil {
		return 0, fmt.Errorf("value %s is not a string", pair[1])
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	return v, nil
}

func contentType(resp *http.Response) string {
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
		return mt
	}
	return "no content type"
}

var htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// page sums up an answer that is not Prometheus's JSON: an HTML page's
// title, or the start of a text, on one line.
func page(resp *http.Response, b []byte) string {
	var s string
	if m := htmlTitle.FindSubmatch(b); m != nil {
		s = string(m[1])
	} else if contentType(resp) != "text/html" {
		s = string(bytes.ToValidUTF8(b, nil))
	}
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// scrub takes the bearer token out of text that came back, should a proxy
// echo it.
func (c *Client) scrub(s string) string { return redact.String(s, c.token) }

// redact scrubs an error's text of the credentials.
func (c *Client) redact(err error) error { return redact.Error(err, c.token) }
