package promemu

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// reply is a call's outcome: status, headers, the raw body and, when the
// body is JSON, its decoding.
type reply struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// get calls the server with GET and the given parameters.
func get(t *testing.T, s *Server, path string, params url.Values, header http.Header) reply {
	t.Helper()
	u := s.URL() + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &a.body); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, b)
		}
	}
	return a
}

func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	s := New(opts)
	t.Cleanup(s.Close)
	return s
}

func TestInstantQueryAnswers(t *testing.T) {
	s := newServer(t, Options{})
	s.SetResult(`sum(x{a="1"})`, 42.5)
	s.SetResult(`big`, 1e21)
	s.SetResult(`inf`, math.Inf(1))
	s.SetNaN(`nan`)
	s.SetEmpty(`empty`)

	tests := []struct {
		name  string
		query string
		time  string
		want  string
	}{
		{
			name:  "a set result at a whole second",
			query: `sum(x{a="1"})`,
			time:  "1767225600",
			want:  `{"data":{"result":[{"metric":{},"value":[1767225600,"42.5"]}],"resultType":"vector"},"status":"success"}`,
		},
		{
			name:  "milliseconds kept, three decimals",
			query: `sum(x{a="1"})`,
			time:  "1767225600.25",
			want:  `{"data":{"result":[{"metric":{},"value":[1767225600.250,"42.5"]}],"resultType":"vector"},"status":"success"}`,
		},
		{
			name:  "RFC 3339 time",
			query: `sum(x{a="1"})`,
			time:  "2026-01-01T00:00:00Z",
			want:  `{"data":{"result":[{"metric":{},"value":[1767225600,"42.5"]}],"resultType":"vector"},"status":"success"}`,
		},
		{
			name:  "a large value without exponent",
			query: `big`,
			time:  "1767225600",
			want:  `{"data":{"result":[{"metric":{},"value":[1767225600,"1000000000000000000000"]}],"resultType":"vector"},"status":"success"}`,
		},
		{
			name:  "infinity",
			query: `inf`,
			time:  "1767225600",
			want:  `{"data":{"result":[{"metric":{},"value":[1767225600,"+Inf"]}],"resultType":"vector"},"status":"success"}`,
		},
		{
			name:  "NaN",
			query: `nan`,
			time:  "1767225600",
			want:  `{"data":{"result":[{"metric":{},"value":[1767225600,"NaN"]}],"resultType":"vector"},"status":"success"}`,
		},
		{
			name:  "set empty",
			query: `empty`,
			time:  "1767225600",
			want:  `{"data":{"result":[],"resultType":"vector"},"status":"success"}`,
		},
		{
			name:  "unknown query is an empty vector",
			query: `nobody_set_this`,
			time:  "1767225600",
			want:  `{"data":{"result":[],"resultType":"vector"},"status":"success"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, s, "/api/v1/query", url.Values{"query": {tt.query}, "time": {tt.time}}, nil)
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if a.raw != tt.want {
				t.Errorf("answer\n got %s\nwant %s", a.raw, tt.want)
			}
		})
	}
}

func TestPostForm(t *testing.T) {
	s := newServer(t, Options{})
	s.SetResult(`up`, 1)
	resp, err := http.PostForm(s.URL()+"/api/v1/query", url.Values{"query": {"up"}, "time": {"1767225600"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	want := `{"data":{"result":[{"metric":{},"value":[1767225600,"1"]}],"resultType":"vector"},"status":"success"}`
	if resp.StatusCode != http.StatusOK || string(b) != want {
		t.Fatalf("got %d %s, want 200 %s", resp.StatusCode, b, want)
	}
	if diff := cmp.Diff([]Request{{Method: "POST", Query: "up", Time: "1767225600"}}, s.Requests()); diff != "" {
		t.Errorf("Requests (-want +got):\n%s", diff)
	}
}

func TestNoTimeIsNow(t *testing.T) {
	s := newServer(t, Options{})
	s.SetResult(`up`, 1)
	a := get(t, s, "/api/v1/query", url.Values{"query": {"up"}}, nil)
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
	result := a.body["data"].(map[string]any)["result"].([]any)
	if len(result) != 1 {
		t.Fatalf("result %v", result)
	}
	ts := result[0].(map[string]any)["value"].([]any)[0].(float64)
	if ts < 1.7e9 {
		t.Errorf("timestamp %v is not now", ts)
	}
}

func TestBadRequests(t *testing.T) {
	s := newServer(t, Options{})
	tests := []struct {
		name    string
		params  url.Values
		wantErr string
	}{
		{
			name:    "no query",
			params:  url.Values{"time": {"1767225600"}},
			wantErr: `invalid parameter "query": 1:1: parse error: no expression found in input`,
		},
		{
			name:    "a bad time",
			params:  url.Values{"query": {"up"}, "time": {"yesterday"}},
			wantErr: `invalid parameter "time": invalid time value for 'time': cannot parse "yesterday" to a valid timestamp`,
		},
		{
			name:    "a bad timeout",
			params:  url.Values{"query": {"up"}, "timeout": {"soon"}},
			wantErr: `invalid parameter "timeout": cannot parse "soon" to a valid duration`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, s, "/api/v1/query", tt.params, nil)
			if a.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", a.status, a.raw)
			}
			want := map[string]any{"status": "error", "errorType": "bad_data", "error": tt.wantErr}
			if diff := cmp.Diff(want, a.body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("good timeouts", func(t *testing.T) {
		for _, to := range []string{"30", "2.5", "30s", "1m30s", "500ms"} {
			if a := get(t, s, "/api/v1/query", url.Values{"query": {"up"}, "timeout": {to}}, nil); a.status != http.StatusOK {
				t.Errorf("timeout %q: status %d: %s", to, a.status, a.raw)
			}
		}
	})
	t.Run("other method", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodDelete, s.URL()+"/api/v1/query?query=up", nil)
		if a := do(t, req); a.status != http.StatusMethodNotAllowed {
			t.Errorf("status %d, want 405", a.status)
		}
	})
	t.Run("other path", func(t *testing.T) {
		if a := get(t, s, "/api/v1/query_range", url.Values{"query": {"up"}}, nil); a.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", a.status)
		}
	})
}

func TestSetError(t *testing.T) {
	s := newServer(t, Options{})
	s.SetError(`sum(x{`, "bad_data", `invalid parameter "query": 1:7: parse error: unexpected end of input`)
	s.SetError(`slow`, "timeout", "query timed out in expression evaluation")
	a := get(t, s, "/api/v1/query", url.Values{"query": {`sum(x{`}}, nil)
	want := map[string]any{"status": "error", "errorType": "bad_data", "error": `invalid parameter "query": 1:7: parse error: unexpected end of input`}
	if a.status != http.StatusBadRequest || !cmp.Equal(want, a.body) {
		t.Errorf("got %d %s", a.status, a.raw)
	}
	if a := get(t, s, "/api/v1/query", url.Values{"query": {`slow`}}, nil); a.status != http.StatusServiceUnavailable || a.body["errorType"] != "timeout" {
		t.Errorf("got %d %s", a.status, a.raw)
	}
}

func TestFailNext(t *testing.T) {
	s := newServer(t, Options{})
	s.SetResult(`up`, 1)
	s.FailNext(http.StatusServiceUnavailable, 2)
	s.FailNext(http.StatusTooManyRequests, 1)
	s.FailNext(http.StatusBadGateway, 1)
	q := url.Values{"query": {"up"}}

	for i := range 2 {
		a := get(t, s, "/api/v1/query", q, nil)
		if a.status != http.StatusServiceUnavailable || a.body["errorType"] != "unavailable" {
			t.Errorf("call %d: got %d %s, want 503 unavailable", i, a.status, a.raw)
		}
	}
	a := get(t, s, "/api/v1/query", q, nil)
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") != "1" {
		t.Errorf("got %d Retry-After %q, want 429 with Retry-After: 1", a.status, a.header.Get("Retry-After"))
	}
	a = get(t, s, "/api/v1/query", q, nil)
	if a.status != http.StatusBadGateway || a.body != nil {
		t.Errorf("got %d %s, want 502 in plain text", a.status, a.raw)
	}
	if a := get(t, s, "/api/v1/query", q, nil); a.status != http.StatusOK {
		t.Errorf("after the failures: %d %s", a.status, a.raw)
	}
	if got := s.Calls(); got != 5 {
		t.Errorf("Calls %d, want 5", got)
	}
	if diff := cmp.Diff([]string{"up", "up", "up", "up", "up"}, s.Queries()); diff != "" {
		t.Errorf("Queries (-want +got):\n%s", diff)
	}
}

func TestFailNextCutsTheConnection(t *testing.T) {
	s := newServer(t, Options{})
	s.FailNext(0, 1)
	resp, err := http.Get(s.URL() + "/api/v1/query?query=up")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got %d, want no answer", resp.StatusCode)
	}
	if a := get(t, s, "/api/v1/query", url.Values{"query": {"up"}}, nil); a.status != http.StatusOK {
		t.Errorf("next call: %d %s", a.status, a.raw)
	}
}

func TestSetDown(t *testing.T) {
	s := newServer(t, Options{})
	s.SetDown(true)
	a := get(t, s, "/api/v1/query", url.Values{"query": {"up"}}, nil)
	if a.status != http.StatusServiceUnavailable || a.raw != "Service Unavailable\n" {
		t.Errorf("down: got %d %q", a.status, a.raw)
	}
	s.SetDown(false)
	if a := get(t, s, "/api/v1/query", url.Values{"query": {"up"}}, nil); a.status != http.StatusOK {
		t.Errorf("up again: %d %s", a.status, a.raw)
	}
}

func TestClosedRefusesConnections(t *testing.T) {
	s := New(Options{})
	u := s.URL()
	s.Close()
	resp, err := http.Get(u + "/api/v1/query?query=up")
	if err == nil {
		resp.Body.Close()
		t.Fatal("a closed server answered")
	}
}

func TestBearerToken(t *testing.T) {
	s := newServer(t, Options{BearerToken: "s3cret-token"})
	q := url.Values{"query": {"up"}}
	for _, h := range []string{"", "Bearer wrong", "s3cret-token", "Basic czNjcmV0LXRva2Vu"} {
		header := http.Header{}
		if h != "" {
			header.Set("Authorization", h)
		}
		a := get(t, s, "/api/v1/query", q, header)
		if a.status != http.StatusUnauthorized || a.header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: got %d %s, want 401", h, a.status, a.raw)
		}
	}
	a := get(t, s, "/api/v1/query", q, http.Header{"Authorization": {"Bearer s3cret-token"}})
	if a.status != http.StatusOK {
		t.Errorf("with the token: %d %s", a.status, a.raw)
	}
	reqs := s.Requests()
	if got := reqs[len(reqs)-1].Authorization; got != "Bearer s3cret-token" {
		t.Errorf("Requests records Authorization %q", got)
	}
}
