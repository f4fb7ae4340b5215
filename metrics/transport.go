package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// codeClasses are every value of code_class; Transport starts each at zero so
// that rate() and absent() work before the first failure.
var codeClasses = []string{"1xx", "2xx", "3xx", "4xx", "5xx", "error"}

// Transport wraps next (http.DefaultTransport if nil) so that each call
// through it is counted in migratebot_outside_calls_total and timed in
// migratebot_outside_call_duration_seconds under system, one of the System
// constants.
//
// The request is passed on untouched and bodies are neither read nor
// buffered, so the time is to the response headers. Put it beneath any retry
// layer to count each attempt.
//
// For SystemGitHub it also keeps the GitHub rate-limit gauges from the
// response headers. Calls authenticated as the app itself with a JWT (such
// as minting installation tokens or finding an installation) are left out:
// they draw on the app's own limit, not the installation's.
func (m *Metrics) Transport(system string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	calls := m.calls.MustCurryWith(prometheus.Labels{"system": system})
	for _, c := range codeClasses {
		calls.WithLabelValues(c)
	}
	return &transport{
		next:     next,
		calls:    calls,
		duration: m.callDuration.WithLabelValues(system),
		github:   system == SystemGitHub,
		m:        m,
	}
}

type transport struct {
	next     http.RoundTripper
	calls    *prometheus.CounterVec // curried with system
	duration prometheus.Observer
	github   bool
	m        *Metrics
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	t.duration.Observe(time.Since(start).Seconds())
	if err != nil {
		t.calls.WithLabelValues("error").Inc()
		return resp, err
	}
	t.calls.WithLabelValues(codeClass(resp.StatusCode)).Inc()
	if t.github && !isAppJWT(req) {
		t.m.rateLimits(t.m.installationOf(req), resp.Header)
	}
	return resp, nil
}

// CloseIdleConnections passes on http.Client.CloseIdleConnections.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func codeClass(code int) string {
	if code >= 100 && code < 600 {
		return codeClasses[code/100-1]
	}
	// net/http accepts three-digit codes up to 999; none is expected, and
	// one bounded label is enough for them.
	return "other"
}

// isAppJWT reports whether the call is authenticated as the GitHub App
// itself (ghinstallation's AppsTransport sends "Bearer <JWT>") rather than as
// an installation ("token ghs_..."). A JWT is three dot-separated parts;
// GitHub's own tokens have no dots, whichever scheme carries them. Nothing of
// the header is kept.
func isAppJWT(req *http.Request) bool {
	scheme, cred, _ := strings.Cut(req.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Bearer") && strings.Count(cred, ".") == 2
}

// LabelInstallations tells the GitHub rate-limit gauges which installation
// a call was made as: of reads it from the call's context ("" when it
// cannot say, labelled "unknown"). Each installation has its own limit.
func (m *Metrics) LabelInstallations(of func(ctx context.Context) string) {
	m.installation.Store(&of)
}

// installationOf labels a GitHub call with its installation.
func (m *Metrics) installationOf(req *http.Request) string {
	if of := m.installation.Load(); of != nil {
		if id := (*of)(req.Context()); id != "" {
			return id
		}
	}
	return "unknown"
}

// rateLimits keeps the rate-limit gauges from a GitHub response's headers,
// if it has them (GitHub Enterprise Server with rate limiting off has none).
func (m *Metrics) rateLimits(installation string, h http.Header) {
	resource := h.Get("X-RateLimit-Resource")
	if resource == "" {
		resource = "unknown"
	}
	if v, err := strconv.ParseInt(h.Get("X-RateLimit-Remaining"), 10, 64); err == nil {
		m.rateLeft.WithLabelValues(installation, resource).Set(float64(v))
	}
	if v, err := strconv.ParseInt(h.Get("X-RateLimit-Limit"), 10, 64); err == nil {
		m.rateLimit.WithLabelValues(installation, resource).Set(float64(v))
	}
}
