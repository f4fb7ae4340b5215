package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// statusServer answers /200, /404 and /503 with that status, echoing the
// request's method, X-Test header and body so a test can see they arrived
// unchanged.
func statusServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("server read body: %v", err)
		}
		code := map[string]int{"/200": 200, "/404": 404, "/503": 503}[r.URL.Path]
		if code == 0 {
			code = http.StatusTeapot
		}
		w.WriteHeader(code)
		io.WriteString(w, r.Method+" "+r.Header.Get("X-Test")+" "+string(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestTransportCountsByClass(t *testing.T) {
	m := New()
	srv := statusServer(t)
	client := &http.Client{Transport: m.Transport(SystemJira, srv.Client().Transport)}

	for _, path := range []string{"/200", "/200", "/404", "/503"} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader("payload"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Test", "kept")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		if want := "POST kept payload"; string(body) != want {
			t.Errorf("%s: body %q, want %q (request or response altered)", path, body, want)
		}
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if _, err := client.Get(closed.URL + "/200"); err == nil {
		t.Fatal("call to a closed server succeeded")
	}

	got := scrape(t, m.Handler())
	got.lint(t)
	for class, want := range map[string]float64{"1xx": 0, "2xx": 2, "3xx": 0, "4xx": 1, "5xx": 1, "error": 1} {
		if v := got.value(t, "migratebot_outside_calls_total", labels("system", "jira", "code_class", class)); v != want {
			t.Errorf("code_class %s: %v, want %v", class, v, want)
		}
	}
	if v := got.value(t, "migratebot_outside_call_duration_seconds", labels("system", "jira")); v != 5 {
		t.Errorf("durations observed %v, want 5", v)
	}
	if _, ok := got["migratebot_github_rate_limit_remaining"]; ok {
		t.Errorf("jira calls set GitHub rate limits: %v", got.series("migratebot_github_rate_limit_remaining"))
	}
}

// recordingTransport returns its response as is and records what it was given.
type recordingTransport struct {
	resp *http.Response
	err  error
	got  *http.Request
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = req
	return r.resp, r.err
}

func TestTransportPassesThrough(t *testing.T) {
	body := &countingBody{Reader: strings.NewReader("untouched")}
	next := &recordingTransport{resp: &http.Response{StatusCode: 200, Header: http.Header{}, Body: body}}
	tr := New().Transport(SystemSlack, next)

	req := httptest.NewRequest(http.MethodGet, "https://slack.example/api/chat.postMessage", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if next.got != req {
		t.Error("the request passed on is not the caller's")
	}
	if resp != next.resp {
		t.Error("the response returned is not the one received")
	}
	if body.read != 0 {
		t.Errorf("transport read %d bytes of the body", body.read)
	}

	wantErr := errors.New("dial failed")
	next = &recordingTransport{err: wantErr}
	if _, err := New().Transport(SystemSlack, next).RoundTrip(req); !errors.Is(err, wantErr) {
		t.Errorf("error %v, want %v", err, wantErr)
	}
}

type countingBody struct {
	io.Reader
	read int
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	b.read += n
	return n, err
}

func (b *countingBody) Close() error { return nil }

func TestTransportConcurrent(t *testing.T) {
	m := New()
	srv := statusServer(t)
	client := &http.Client{Transport: m.Transport(SystemPrometheus, srv.Client().Transport)}

	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		path := "/200"
		if i%5 == 0 {
			path = "/503"
		}
		wg.Go(func() {
			resp, err := client.Get(srv.URL + path)
			if err != nil {
				t.Errorf("GET %s: %v", path, err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	wg.Wait()

	got := scrape(t, m.Handler())
	if v := got.value(t, "migratebot_outside_calls_total", labels("system", "prometheus", "code_class", "2xx")); v != 40 {
		t.Errorf("2xx %v, want 40", v)
	}
	if v := got.value(t, "migratebot_outside_calls_total", labels("system", "prometheus", "code_class", "5xx")); v != 10 {
		t.Errorf("5xx %v, want 10", v)
	}
}

func TestGitHubRateLimits(t *testing.T) {
	tests := []struct {
		name          string
		system        string
		auth          string
		headers       map[string]string
		wantRemaining map[string]float64 // by resource; nil means no series
		wantLimit     map[string]float64
	}{
		{
			name:   "installation call",
			system: SystemGitHub,
			auth:   "token ghs_installation",
			headers: map[string]string{
				"X-RateLimit-Remaining": "4990", "X-RateLimit-Limit": "5000", "X-RateLimit-Resource": "core"},
			wantRemaining: map[string]float64{"core": 4990},
			wantLimit:     map[string]float64{"core": 5000},
		},
		{
			name:   "other resource",
			system: SystemGitHub,
			auth:   "token ghs_installation",
			headers: map[string]string{
				"X-RateLimit-Remaining": "29", "X-RateLimit-Limit": "30", "X-RateLimit-Resource": "search"},
			wantRemaining: map[string]float64{"search": 29},
			wantLimit:     map[string]float64{"search": 30},
		},
		{
			name:          "no resource header",
			system:        SystemGitHub,
			auth:          "token ghs_installation",
			headers:       map[string]string{"X-RateLimit-Remaining": "7", "X-RateLimit-Limit": "60"},
			wantRemaining: map[string]float64{"unknown": 7},
			wantLimit:     map[string]float64{"unknown": 60},
		},
		{
			name:    "no rate-limit headers",
			system:  SystemGitHub,
			auth:    "token ghs_installation",
			headers: map[string]string{},
		},
		{
			name:   "unparsable header",
			system: SystemGitHub,
			auth:   "token ghs_installation",
			headers: map[string]string{
				"X-RateLimit-Remaining": "lots", "X-RateLimit-Limit": "5000", "X-RateLimit-Resource": "core"},
			wantLimit: map[string]float64{"core": 5000},
		},
		{
			name:   "app JWT call left out",
			system: SystemGitHub,
			auth:   "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxIn0.c2ln",
			headers: map[string]string{
				"X-RateLimit-Remaining": "1", "X-RateLimit-Limit": "5000", "X-RateLimit-Resource": "core"},
		},
		{
			name:   "bearer installation token counted",
			system: SystemGitHub,
			auth:   "Bearer ghs_installation",
			headers: map[string]string{
				"X-RateLimit-Remaining": "12", "X-RateLimit-Limit": "5000", "X-RateLimit-Resource": "core"},
			wantRemaining: map[string]float64{"core": 12},
			wantLimit:     map[string]float64{"core": 5000},
		},
		{
			name:   "not github",
			system: SystemSlack,
			headers: map[string]string{
				"X-RateLimit-Remaining": "1", "X-RateLimit-Limit": "5000", "X-RateLimit-Resource": "core"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.headers {
					w.Header().Set(k, v)
				}
				w.WriteHeader(http.StatusForbidden) // limits are read from any answer
			}))
			defer srv.Close()
			m := New()
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/repos/o/r", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := m.Transport(tt.system, srv.Client().Transport).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()

			got := scrape(t, m.Handler())
			for name, want := range map[string]map[string]float64{
				"migratebot_github_rate_limit_remaining": tt.wantRemaining,
				"migratebot_github_rate_limit":           tt.wantLimit,
			} {
				if n := len(got[name].GetMetric()); n != len(want) {
					t.Errorf("%s: %v, want %v", name, got.series(name), want)
				}
				for resource, v := range want {
					if g := got.value(t, name, labels("installation", "unknown", "resource", resource)); g != v {
						t.Errorf("%s{resource=%s} = %v, want %v", name, resource, g, v)
					}
				}
			}
		})
	}
}

func TestGitHubRateLimitFollowsLatest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", r.URL.Query().Get("left"))
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Resource", "core")
	}))
	defer srv.Close()
	m := New()
	client := &http.Client{Transport: m.Transport(SystemGitHub, srv.Client().Transport)}
	for _, left := range []string{"100", "99"} {
		resp, err := client.Get(srv.URL + "/?left=" + left)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if v := scrape(t, m.Handler()).value(t, "migratebot_github_rate_limit_remaining", labels("installation", "unknown", "resource", "core")); v != 99 {
		t.Errorf("remaining %v, want 99", v)
	}
}

// TestGitHubRateLimitsByInstallation: each installation has its own limit,
// and the gauges keep one series per installation, as LabelInstallations
// reads it from each call's context.
func TestGitHubRateLimitsByInstallation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", r.URL.Query().Get("left"))
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Resource", "core")
	}))
	defer srv.Close()
	type instKey struct{}
	m := New()
	m.LabelInstallations(func(ctx context.Context) string {
		id, _ := ctx.Value(instKey{}).(string)
		return id
	})
	client := &http.Client{Transport: m.Transport(SystemGitHub, srv.Client().Transport)}
	for _, call := range []struct{ inst, left string }{{"11", "4000"}, {"22", "300"}, {"11", "3999"}, {"", "7"}} {
		req, err := http.NewRequestWithContext(context.WithValue(context.Background(), instKey{}, call.inst), http.MethodGet, srv.URL+"/?left="+call.left, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	got := scrape(t, m.Handler())
	for inst, want := range map[string]float64{"11": 3999, "22": 300, "unknown": 7} {
		if v := got.value(t, "migratebot_github_rate_limit_remaining", labels("installation", inst, "resource", "core")); v != want {
			t.Errorf("remaining of installation %s = %v, want %v", inst, v, want)
		}
	}
}
