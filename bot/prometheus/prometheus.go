// Package prometheus measures both sides of a service (bot.Traffic) with
// Prometheus: three instant queries a side, requests, errors and the 95th
// percentile of response time, each a PromQL template filled in with the
// side's label selector and the window, evaluated at the window's end
// (GET /api/v1/query).
//
// A query answering no series, or NaN, gives no figure (nil), which the
// domain never reads as healthy. The one exception is errors: with requests
// measured, an errors query that matches no series means no request failed
// (Prometheus has no series for a status code never answered), so 0.
// Infinities are no figure either: JSON, where figures are kept, cannot hold
// them, and a 95th percentile of +Inf (beyond the highest histogram bucket)
// is no healthier read as nil.
//
// Each Measure is bounded by Config.Timeout, retries included. Connection
// errors, 429 and 5xx but 501 are retried up to 3 times, waiting
// Config.RetryWait and doubling, or what a Retry-After asks when it fits in
// the time left: a query is a GET, safe to send again.
package prometheus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/migratebot/migratebot/bot"
)

// Config configures a Client.
type Config struct {
	// URL is Prometheus's base URL, e.g. https://prometheus.internal:9090.
	// A path prefix is kept (https://gw.internal/prometheus); credentials,
	// query and fragment are refused.
	URL string
	// Requests, Errors and P95Seconds are PromQL text/templates, filled in
	// with {{.Selector}}, the side's label selector (bot.SideRef.Selector),
	// and {{.Window}}, the window as a PromQL duration ("600s"). Each must
	// aggregate to one series and use {{.Selector}}. For instance:
	//
	//	sum(increase(http_requests_total{ {{.Selector}} }[{{.Window}}]))
	//	sum(increase(http_requests_total{ {{.Selector}},code=~"5.." }[{{.Window}}]))
	//	histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{ {{.Selector}} }[{{.Window}}])))
	Requests   string
	Errors     string
	P95Seconds string
	// BearerToken, when not empty, is sent as "Authorization: Bearer ...".
	// It never appears in an error.
	BearerToken string
	// Timeout bounds each Measure, retries included. Default 10s.
	Timeout time.Duration
	// RetryWait is the wait before the first retry, doubled for each next
	// one, unless the answer says how long to wait (Retry-After). Default
	// 500ms.
	RetryWait time.Duration
	// HTTPClient is the client calls go through (tests). Default: a client
	// of its own.
	HTTPClient *http.Client
}

// Defaults for Config's zero fields.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultRetryWait = 500 * time.Millisecond
)

// retryMax is how many times a query is retried after its first attempt.
const retryMax = 3

// inFlight bounds the queries of one Measure under way at once.
const inFlight = 3

// Client implements bot.Traffic with Prometheus.
type Client struct {
	base      string // scheme://host/prefix, no trailing slash
	queries   [3]query
	token     string
	timeout   time.Duration
	retryWait time.Duration
	http      *http.Client
}

var _ bot.Traffic = (*Client)(nil)

// query is one of the three figures' PromQL template.
type query struct {
	name string // "requests", "errors", "p95": what errors call it
	tmpl *template.Template
}

// vars are what a query template is filled in with.
type vars struct {
	Selector string
	Window   string
}

func (q query) render(selector, window string) (string, error) {
	var b bytes.Buffer
	if err := q.tmpl.Execute(&b, vars{Selector: selector, Window: window}); err != nil {
		return "", err
	}
	return b.String(), nil
}

// The queries' indexes in Client.queries.
const (
	requestsQ = iota
	errorsQ
	p95Q
)

// New checks cfg and returns a Client. It calls nothing. Every problem with
// cfg is returned at once.
func New(cfg Config) (*Client, error) {
	var problems []error
	base, err := baseURL(cfg.URL)
	if err != nil {
		problems = append(problems, err)
	}
	c := &Client{
		base:      base,
		token:     cfg.BearerToken,
		timeout:   cfg.Timeout,
		retryWait: cfg.RetryWait,
		http:      cfg.HTTPClient,
	}
	for i, q := range []struct{ field, name, text string }{
		{"Requests", "requests", cfg.Requests},
		{"Errors", "errors", cfg.Errors},
		{"P95Seconds", "p95", cfg.P95Seconds},
	} {
		tmpl, err := parseQuery(q.name, q.text)
		if err != nil {
			problems = append(problems, fmt.Errorf("prometheus: %s query: %w", q.field, err))
			continue
		}
		c.queries[i] = query{name: q.name, tmpl: tmpl}
	}
	if cfg.Timeout < 0 || cfg.RetryWait < 0 {
		problems = append(problems, errors.New("prometheus: Timeout and RetryWait must not be negative"))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.retryWait == 0 {
		c.retryWait = DefaultRetryWait
	}
	if c.http == nil {
		c.http = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return c, nil
}

// baseURL checks Config.URL and returns it without a trailing slash.
func baseURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("prometheus: no URL")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", errors.New("prometheus: URL is not a URL") // url's error would repeat it, credentials and all
	case u.User != nil:
		return "", errors.New("prometheus: URL has credentials; set BearerToken instead")
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return "", fmt.Errorf("prometheus: URL %q is not an http(s) address", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("prometheus: URL %q has a query or fragment", u.Redacted())
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// parseQuery parses a query template and tries it, so that a mistake
// fails at start rather than at the first measure: a field other than
// Selector and Window, or a query that does not use the selector, which
// would measure both sides alike.
func parseQuery(name, text string) (*template.Template, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("empty")
	}
	tmpl, err := template.New(name).Parse(text)
	if err != nil {
		return nil, err
	}
	q := query{name: name, tmpl: tmpl}
	a, err := q.render(`service="a"`, "600s")
	if err != nil {
		return nil, err
	}
	b, err := q.render(`service="b"`, "600s")
	if err != nil {
		return nil, err
	}
	if a == b {
		return nil, errors.New("does not use {{.Selector}}: it would measure both sides alike")
	}
	return tmpl, nil
}

// Measure implements bot.Traffic: it runs the three queries of each side
// with a selector, evaluated at to over the window to-from. A side without
// a selector is not queried and gets empty Figures. When queries fail, the
// error is the first one's (old side first; requests, errors, p95), saying
// how many others failed: a *Error when Prometheus or a proxy answered.
func (c *Client) Measure(ctx context.Context, oldSide, newSide bot.SideRef, from, to time.Time) (bot.Figures, bot.Figures, error) {
	window, err := promDuration(to.Sub(from))
	if err != nil {
		return bot.Figures{}, bot.Figures{}, fmt.Errorf("prometheus: measure from %s to %s: %w",
			from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	sides := [2]bot.SideRef{oldSide, newSide}
	names := [2]string{"old", "new"}
	var (
		got  [2][3]value
		errs [2][3]error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, inFlight)
	)
	for i, side := range sides {
		if side.Selector == "" {
			continue
		}
		for j, q := range c.queries {
			text, err := q.render(side.Selector, window)
			if err != nil {
				errs[i][j] = fmt.Errorf("prometheus: render query %s of %s side: %w", q.name, names[i], err)
				continue
			}
			wg.Go(func() {
				select {
				case sem <- struct{}{}:
					defer func() { <-sem }()
				case <-ctx.Done():
					errs[i][j] = fmt.Errorf("prometheus: query %s of %s side: %w", q.name, names[i], ctx.Err())
					return
				}
				v, err := c.instant(ctx, text, to)
				if err != nil {
					err = fmt.Errorf("prometheus: query %s of %s side: %w", q.name, names[i], err)
				}
				got[i][j], errs[i][j] = v, err
			})
		}
	}
	wg.Wait()

	// The first failure in a fixed order (old side first; requests, errors,
	// p95) is told, and how many more there were: one line, for a health
	// summary, and most often the same cause six times over.
	var first error
	more := 0
	for i := range errs {
		for j := range errs[i] {
			switch {
			case errs[i][j] == nil:
			case first == nil:
				first = errs[i][j]
			default:
				more++
			}
		}
	}
	switch {
	case more == 1:
		return bot.Figures{}, bot.Figures{}, fmt.Errorf("%w (and 1 other query failed)", first)
	case more > 1:
		return bot.Figures{}, bot.Figures{}, fmt.Errorf("%w (and %d other queries failed)", first, more)
	case first != nil:
		return bot.Figures{}, bot.Figures{}, first
	}
	return figures(got[0]), figures(got[1]), nil
}

// figures maps one side's three answers to Figures.
func figures(v [3]value) bot.Figures {
	f := bot.Figures{
		Requests: v[requestsQ].number(),
		Errors:   v[errorsQ].number(),
		P95Ms:    v[p95Q].number(),
	}
	if f.Errors == nil && f.Requests != nil && v[errorsQ].empty {
		// No series of errors: no request has failed.
		f.Errors = new(0.0)
	}
	if f.P95Ms != nil {
		f.P95Ms = new(*f.P95Ms * 1000)
	}
	return f
}

// value is what a query answered: one number, or nothing (empty).
type value struct {
	asked bool
	empty bool // no series
	v     float64
}

// number is the value as a figure: nil for no series, NaN or an infinity.
func (v value) number() *float64 {
	if !v.asked || v.empty || math.IsNaN(v.v) || math.IsInf(v.v, 0) {
		return nil
	}
	return new(v.v)
}

// promDuration writes a window as a PromQL duration: whole seconds
// ("600s"), else milliseconds ("1500ms"), PromQL's finest unit.
func promDuration(d time.Duration) (string, error) {
	if d < time.Millisecond {
		return "", fmt.Errorf("the window %s is empty or shorter than a millisecond", d)
	}
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second), nil
	}
	return fmt.Sprintf("%dms", d/time.Millisecond), nil
}
