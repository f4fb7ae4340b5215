package prometheus_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/prometheus"
	"github.com/migratebot/migratebot/test/promemu"
)

// The queries of a typical setup, and the sides of a service.
const (
	requestsTmpl = `sum(increase(http_requests_total{ {{.Selector}} }[{{.Window}}]))`
	errorsTmpl   = `sum(increase(http_requests_total{ {{.Selector}},code=~"5.." }[{{.Window}}]))`
	p95Tmpl      = `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{ {{.Selector}} }[{{.Window}}])))`

	oldSel = `service="web-api",platform="ec2"`
	newSel = `service="web-api",platform="k8s"`
)

var (
	oldSide = bot.SideRef{Side: "old", Selector: oldSel}
	newSide = bot.SideRef{Side: "new", Selector: newSel}

	to   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	from = to.Add(-10 * time.Minute)
)

// The six queries as they must be sent over a 10-minute window.
var (
	oldRequests = `sum(increase(http_requests_total{ service="web-api",platform="ec2" }[600s]))`
	oldErrors   = `sum(increase(http_requests_total{ service="web-api",platform="ec2",code=~"5.." }[600s]))`
	oldP95      = `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{ service="web-api",platform="ec2" }[600s])))`
	newRequests = `sum(increase(http_requests_total{ service="web-api",platform="k8s" }[600s]))`
	newErrors   = `sum(increase(http_requests_total{ service="web-api",platform="k8s",code=~"5.." }[600s]))`
	newP95      = `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{ service="web-api",platform="k8s" }[600s])))`
)

func config(url string) prometheus.Config {
	return prometheus.Config{
		URL:        url,
		Requests:   requestsTmpl,
		Errors:     errorsTmpl,
		P95Seconds: p95Tmpl,
		RetryWait:  time.Millisecond,
	}
}

func newEmu(t *testing.T, opts promemu.Options) *promemu.Server {
	t.Helper()
	s := promemu.New(opts)
	t.Cleanup(s.Close)
	return s
}

func newClient(t *testing.T, cfg prometheus.Config) *prometheus.Client {
	t.Helper()
	c, err := prometheus.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// setAll gives each of the six queries a value.
func setAll(s *promemu.Server) {
	s.SetResult(oldRequests, 12000)
	s.SetResult(oldErrors, 12)
	s.SetResult(oldP95, 0.183)
	s.SetResult(newRequests, 3000)
	s.SetResult(newErrors, 1)
	s.SetResult(newP95, 0.2)
}

func f(v float64) *float64 { return &v }

func TestMeasureSendsTheSixQueries(t *testing.T) {
	emu := newEmu(t, promemu.Options{})
	setAll(emu)
	c := newClient(t, config(emu.URL()))

	oldF, newF, err := c.Measure(t.Context(), oldSide, newSide, from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{oldRequests, oldErrors, oldP95, newRequests, newErrors, newP95}
	got := emu.Queries()
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
	for _, r := range emu.Requests() {
		if r.Method != http.MethodGet || r.Time != "1767225600" {
			t.Errorf("%s %q at time %q, want GET at 1767225600", r.Method, r.Query, r.Time)
		}
	}
	if diff := cmp.Diff(bot.Figures{Requests: f(12000), Errors: f(12), P95Ms: f(183)}, oldF); diff != "" {
		t.Errorf("old figures (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(bot.Figures{Requests: f(3000), Errors: f(1), P95Ms: f(200)}, newF); diff != "" {
		t.Errorf("new figures (-want +got):\n%s", diff)
	}
}

func TestFigures(t *testing.T) {
	tests := []struct {
		name string
		set  func(s *promemu.Server) // the new side's answers; unset queries answer an empty vector
		want bot.Figures
	}{
		{
			name: "every figure, p95 in milliseconds",
			set: func(s *promemu.Server) {
				s.SetResult(newRequests, 1500)
				s.SetResult(newErrors, 3)
				s.SetResult(newP95, 0.0425)
			},
			want: bot.Figures{Requests: f(1500), Errors: f(3), P95Ms: f(42.5)},
		},
		{
			name: "no series of errors while requests has data is 0 errors",
			set: func(s *promemu.Server) {
				s.SetResult(newRequests, 1500)
				s.SetEmpty(newErrors)
				s.SetResult(newP95, 0.1)
			},
			want: bot.Figures{Requests: f(1500), Errors: f(0), P95Ms: f(100)},
		},
		{
			name: "no traffic at all: no data, never 0",
			set:  func(s *promemu.Server) {},
			want: bot.Figures{},
		},
		{
			name: "no requests series: errors stay nil",
			set: func(s *promemu.Server) {
				s.SetEmpty(newRequests)
				s.SetEmpty(newErrors)
				s.SetResult(newP95, 0.1)
			},
			want: bot.Figures{P95Ms: f(100)},
		},
		{
			name: "zero requests: 0 errors, the quantile NaN is no data",
			set: func(s *promemu.Server) {
				s.SetResult(newRequests, 0)
				s.SetNaN(newP95)
			},
			want: bot.Figures{Requests: f(0), Errors: f(0)},
		},
		{
			name: "NaN everywhere is no data",
			set: func(s *promemu.Server) {
				s.SetNaN(newRequests)
				s.SetNaN(newErrors)
				s.SetNaN(newP95)
			},
			want: bot.Figures{},
		},
		{
			name: "errors NaN with requests is no data, not 0",
			set: func(s *promemu.Server) {
				s.SetResult(newRequests, 10)
				s.SetNaN(newErrors)
			},
			want: bot.Figures{Requests: f(10)},
		},
		{
			name: "an infinite p95 is no figure (JSON cannot hold it)",
			set: func(s *promemu.Server) {
				s.SetResult(newRequests, 10)
				s.SetResult(newErrors, 0)
				s.SetResult(newP95, math.Inf(1))
			},
			want: bot.Figures{Requests: f(10), Errors: f(0)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := newEmu(t, promemu.Options{})
			setAll(emu)
			emu.SetEmpty(newRequests)
			emu.SetEmpty(newErrors)
			emu.SetEmpty(newP95)
			tt.set(emu)
			c := newClient(t, config(emu.URL()))
			oldF, newF, err := c.Measure(t.Context(), oldSide, newSide, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, newF); diff != "" {
				t.Errorf("new figures (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(bot.Figures{Requests: f(12000), Errors: f(12), P95Ms: f(183)}, oldF); diff != "" {
				t.Errorf("old figures (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBadDataIsSurfacedWithTheQuery(t *testing.T) {
	emu := newEmu(t, promemu.Options{})
	setAll(emu)
	msg := `invalid parameter "query": 1:42: parse error: unexpected "}"`
	emu.SetError(newRequests, "bad_data", msg)
	c := newClient(t, config(emu.URL()))

	_, _, err := c.Measure(t.Context(), oldSide, newSide, from, to)
	if err == nil {
		t.Fatal("no error")
	}
	want := "prometheus: query requests of new side: answered 400 Bad Request: bad_data: " + msg + "; the query was " + newRequests
	if err.Error() != want {
		t.Errorf("error\n got %s\nwant %s", err, want)
	}
	pe, ok := errors.AsType[*prometheus.Error](err)
	if !ok || pe.Type != "bad_data" || pe.Query != newRequests || pe.StatusCode != 400 {
		t.Errorf("error as *prometheus.Error: %#v", pe)
	}
	if got := emu.Calls(); got != 6 {
		t.Errorf("%d calls, want 6: a 400 is not retried", got)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name  string
		fail  func(s *promemu.Server)
		calls int
	}{
		{"a 503, then success", func(s *promemu.Server) { s.FailNext(http.StatusServiceUnavailable, 1) }, 7},
		{"502s from a proxy, then success", func(s *promemu.Server) { s.FailNext(http.StatusBadGateway, 3) }, 9},
		{"a cut connection, then success", func(s *promemu.Server) { s.FailNext(0, 1) }, 7},
		{"a 500, then success", func(s *promemu.Server) { s.FailNext(http.StatusInternalServerError, 2) }, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := newEmu(t, promemu.Options{})
			setAll(emu)
			tt.fail(emu)
			c := newClient(t, config(emu.URL()))
			oldF, newF, err := c.Measure(t.Context(), oldSide, newSide, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if got := emu.Calls(); got != tt.calls {
				t.Errorf("%d calls, want %d", got, tt.calls)
			}
			if oldF.P95Ms == nil || *oldF.P95Ms != 183 || newF.Requests == nil || *newF.Requests != 3000 {
				t.Errorf("figures %+v %+v", oldF, newF)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	emu := newEmu(t, promemu.Options{})
	setAll(emu)
	emu.FailNext(http.StatusTooManyRequests, 1) // with Retry-After: 1
	c := newClient(t, config(emu.URL()))
	start := time.Now()
	if _, _, err := c.Measure(t.Context(), oldSide, newSide, from, to); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("done in %s: the Retry-After of 1s was not waited", d)
	}
	if got := emu.Calls(); got != 7 {
		t.Errorf("%d calls, want 7", got)
	}
}

func TestRetryAfterBeyondTheTimeoutFailsAtOnce(t *testing.T) {
	emu := newEmu(t, promemu.Options{})
	setAll(emu)
	emu.FailNext(http.StatusTooManyRequests, 1) // with Retry-After: 1
	cfg := config(emu.URL())
	cfg.Timeout = 500 * time.Millisecond
	c := newClient(t, cfg)
	start := time.Now()
	_, _, err := c.Measure(t.Context(), oldSide, newSide, from, to)
	if err == nil || !strings.Contains(err.Error(), "answered 429 Too Many Requests;") {
		t.Fatalf("error %v, want the 429", err)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("took %s: waited for a retry that could not be made", d)
	}
}

func TestGivesUp(t *testing.T) {
	t.Run("down", func(t *testing.T) {
		emu := newEmu(t, promemu.Options{})
		emu.SetDown(true)
		c := newClient(t, config(emu.URL()))
		_, _, err := c.Measure(t.Context(), oldSide, newSide, from, to)
		if err == nil {
			t.Fatal("no error")
		}
		want := "prometheus: query requests of old side: answered 503 Service Unavailable (after 4 attempts); the query was " +
			oldRequests + " (and 5 other queries failed)"
		if err.Error() != want {
			t.Errorf("error\n got %s\nwant %s", err, want)
		}
		if pe, ok := errors.AsType[*prometheus.Error](err); !ok || pe.StatusCode != 503 || pe.Attempts != 4 {
			t.Errorf("error as *prometheus.Error: %#v", pe)
		}
		if got := emu.Calls(); got != 24 {
			t.Errorf("%d calls, want 24 (4 attempts of 6 queries)", got)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		emu := promemu.New(promemu.Options{})
		emu.Close()
		c := newClient(t, config(emu.URL()))
		_, _, err := c.Measure(t.Context(), oldSide, newSide, from, to)
		if err == nil || !strings.HasPrefix(err.Error(), "prometheus: query requests of old side: no answer after 4 attempt(s): dial tcp") ||
			!strings.Contains(err.Error(), "connection refused") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		t.Cleanup(hang.Close)
		cfg := config(hang.URL)
		cfg.Timeout = 200 * time.Millisecond
		c := newClient(t, cfg)
		start := time.Now()
		_, _, err := c.Measure(t.Context(), oldSide, newSide, from, to)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.HasSuffix(err.Error(), "(and 5 other queries failed)") {
			t.Errorf("error %v, want the deadline", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %s, timeout 200ms", d)
		}
	})
}

func TestBearerToken(t *testing.T) {
	const token = "prom-token-9f8e7d6c5b4a"
	emu := newEmu(t, promemu.Options{BearerToken: token})
	setAll(emu)

	cfg := config(emu.URL())
	cfg.BearerToken = token
	if _, _, err := newClient(t, cfg).Measure(t.Context(), oldSide, newSide, from, to); err != nil {
		t.Fatal(err)
	}
	for _, r := range emu.Requests() {
		if r.Authorization != "Bearer "+token {
			t.Errorf("query %q sent Authorization %q", r.Query, r.Authorization)
		}
	}

	t.Run("wrong token", func(t *testing.T) {
		cfg := config(emu.URL())
		cfg.BearerToken = "wrong-token-0123456789"
		_, _, err := newClient(t, cfg).Measure(t.Context(), oldSide, newSide, from, to)
		if err == nil || !strings.Contains(err.Error(), "answered 401 Unauthorized;") {
			t.Fatalf("error %v, want the 401", err)
		}
		if strings.Contains(err.Error(), "wrong-token") || strings.Contains(err.Error(), token) {
			t.Errorf("a token is in the error: %v", err)
		}
	})
	t.Run("a proxy echoing the token", func(t *testing.T) {
		echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"bad header %s"}`, r.Header.Get("Authorization"))
		}))
		t.Cleanup(echo.Close)
		cfg := config(echo.URL)
		cfg.BearerToken = token
		_, _, err := newClient(t, cfg).Measure(t.Context(), oldSide, newSide, from, to)
		if err == nil || !strings.Contains(err.Error(), "bad header Bearer [redacted]") {
			t.Fatalf("error %v", err)
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("the token is in the error: %v", err)
		}
	})
}

func TestSideWithoutSelectorIsNotQueried(t *testing.T) {
	emu := newEmu(t, promemu.Options{})
	setAll(emu)
	c := newClient(t, config(emu.URL()))

	oldF, newF, err := c.Measure(t.Context(), bot.SideRef{Side: "old", LoadBalancer: "app/web/1"}, newSide, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(bot.Figures{}, oldF); diff != "" {
		t.Errorf("old figures (-want +got):\n%s", diff)
	}
	if newF.Requests == nil || *newF.Requests != 3000 {
		t.Errorf("new figures %+v", newF)
	}
	got := emu.Queries()
	slices.Sort(got)
	want := []string{newRequests, newErrors, newP95}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}

	if _, _, err := c.Measure(t.Context(), bot.SideRef{Side: "old"}, bot.SideRef{Side: "new"}, from, to); err != nil {
		t.Fatal(err)
	}
	if got := emu.Calls(); got != 3 {
		t.Errorf("%d calls after measuring two sides without selectors, want still 3", got)
	}
}

func TestWindow(t *testing.T) {
	emu := newEmu(t, promemu.Options{})
	c := newClient(t, config(emu.URL()))

	at := to.Add(250 * time.Millisecond)
	if _, _, err := c.Measure(t.Context(), bot.SideRef{}, newSide, at.Add(-90500*time.Millisecond), at); err != nil {
		t.Fatal(err)
	}
	for _, r := range emu.Requests() {
		if !strings.Contains(r.Query, "[90500ms]") || r.Time != "1767225600.25" {
			t.Errorf("query %q at %q, want a window of 90500ms at 1767225600.25", r.Query, r.Time)
		}
	}

	for _, w := range [][2]time.Time{{to, to}, {to, from}} {
		_, _, err := c.Measure(t.Context(), oldSide, newSide, w[0], w[1])
		if err == nil || !strings.Contains(err.Error(), "is empty") {
			t.Errorf("from %s to %s: error %v", w[0], w[1], err)
		}
	}
	if got := emu.Calls(); got != 3 {
		t.Errorf("%d calls, want 3: an empty window asks nothing", got)
	}
}

func TestPathPrefixIsKept(t *testing.T) {
	emu := newEmu(t, promemu.Options{})
	setAll(emu)
	gw := httptest.NewServer(http.StripPrefix("/prometheus", emu))
	t.Cleanup(gw.Close)
	c := newClient(t, config(gw.URL+"/prometheus/"))
	oldF, _, err := c.Measure(t.Context(), oldSide, newSide, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if oldF.Requests == nil || *oldF.Requests != 12000 {
		t.Errorf("old figures %+v", oldF)
	}
}

// TestAnswers reads answers the emulator does not give: other result types
// and what a proxy sends.
func TestAnswers(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        *float64 // the new side's requests
		wantErr     string
	}{
		{
			name:   "scalar",
			status: 200, contentType: "application/json",
			body: `{"status":"success","data":{"resultType":"scalar","result":[1767225600,"7"]}}`,
			want: f(7),
		},
		{
			name:   "a sample with labels and warnings",
			status: 200, contentType: "application/json",
			body: `{"status":"success","warnings":["partial response"],"data":{"resultType":"vector","result":[{"metric":{"service":"web-api"},"value":[1767225600.5,"1e3"]}]}}`,
			want: f(1000),
		},
		{
			name:   "several series",
			status: 200, contentType: "application/json",
			body:    `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1767225600,"1"]},{"metric":{"pod":"b"},"value":[1767225600,"2"]}]}}`,
			wantErr: "prometheus: query requests of new side: answered 2 series, not one",
		},
		{
			name:   "a matrix",
			status: 200, contentType: "application/json",
			body:    `{"status":"success","data":{"resultType":"matrix","result":[]}}`,
			wantErr: `prometheus: query requests of new side: answered a "matrix", not a vector or a scalar`,
		},
		{
			name:   "a native histogram",
			status: 200, contentType: "application/json",
			body:    `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1767225600,{"count":"2","sum":"1"}]}]}}`,
			wantErr: "prometheus: query requests of new side: answered a native histogram, not a number",
		},
		{
			name:   "a value that is not a number",
			status: 200, contentType: "application/json",
			body:    `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1767225600,"many"]}]}}`,
			wantErr: `prometheus: query requests of new side: read the sample answered: value "many" is not a number`,
		},
		{
			name:   "a login page",
			status: 200, contentType: "text/html; charset=utf-8",
			body:    `<html><head><title>Sign in - SSO</title></head><body>...</body></html>`,
			wantErr: "prometheus: query requests of new side: answered 200 OK with text/html, not Prometheus's JSON: Sign in - SSO",
		},
		{
			name:   "an execution error",
			status: 422, contentType: "application/json",
			body:    `{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}`,
			wantErr: "prometheus: query requests of new side: answered 422 Unprocessable Entity: execution: query processing would load too many samples into memory; the query was " + newRequests,
		},
		{
			name:   "a proxy's page",
			status: 403, contentType: "text/html",
			body:    `<html><head><title>403 Forbidden</title></head><body><center><h1>403 Forbidden</h1></center><hr><center>nginx</center></body></html>`,
			wantErr: "prometheus: query requests of new side: answered 403 Forbidden: 403 Forbidden; the query was " + newRequests,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasPrefix(r.URL.Query().Get("query"), "sum(increase(http_requests_total{ "+newSel+" }") {
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
					return
				}
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			c := newClient(t, config(srv.URL))
			_, newF, err := c.Measure(t.Context(), bot.SideRef{}, newSide, from, to)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error\n got %v\nwant %s…", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, newF.Requests); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	good := config("https://prometheus.internal:9090")
	tests := []struct {
		name  string
		edit  func(*prometheus.Config)
		want  []string
		never string // a secret the error must not show
	}{
		{"no URL", func(c *prometheus.Config) { c.URL = "" }, []string{"prometheus: no URL"}, ""},
		{"not a URL", func(c *prometheus.Config) { c.URL = "https://pro metheus:99999:x/%zz" }, []string{"prometheus: URL is not a URL"}, ""},
		{"not http", func(c *prometheus.Config) { c.URL = "ftp://prometheus.internal" }, []string{"is not an http(s) address"}, ""},
		{"no host", func(c *prometheus.Config) { c.URL = "/api" }, []string{"is not an http(s) address"}, ""},
		{"credentials", func(c *prometheus.Config) { c.URL = "https://admin:hunter22@prometheus.internal" }, []string{"URL has credentials"}, "hunter22"},
		{"a query in the URL", func(c *prometheus.Config) { c.URL = "https://prometheus.internal/?x=1" }, []string{"has a query or fragment"}, ""},
		{"no requests query", func(c *prometheus.Config) { c.Requests = " " }, []string{"prometheus: Requests query: empty"}, ""},
		{"a template that does not parse", func(c *prometheus.Config) { c.Errors = `sum(x{ {{.Selector }[5m])` }, []string{"prometheus: Errors query: template: errors:"}, ""},
		{"an unknown field", func(c *prometheus.Config) { c.P95Seconds = `x{ {{.Selector}} }[{{.Range}}]` }, []string{"prometheus: P95Seconds query: template: p95:", "Range"}, ""},
		{"a query without the selector", func(c *prometheus.Config) { c.Requests = `sum(increase(http_requests_total[{{.Window}}]))` },
			[]string{"prometheus: Requests query: does not use {{.Selector}}"}, ""},
		{"a negative timeout", func(c *prometheus.Config) { c.Timeout = -time.Second }, []string{"must not be negative"}, ""},
		{"every problem at once", func(c *prometheus.Config) { c.URL = ""; c.Requests = ""; c.P95Seconds = "{{" },
			[]string{"prometheus: no URL", "prometheus: Requests query: empty", "prometheus: P95Seconds query:"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			c, err := prometheus.New(cfg)
			if err == nil {
				t.Fatalf("New accepted it: %+v", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tt.never != "" && strings.Contains(err.Error(), tt.never) {
				t.Errorf("error %q shows %q", err, tt.never)
			}
		})
	}

	if _, err := prometheus.New(good); err != nil {
		t.Errorf("a good config: %v", err)
	}
}
