// Package promemu emulates the part of Prometheus's HTTP API that migratebot
// uses, instant queries, for tests and the sandbox: an in-process HTTP
// server on 127.0.0.1 that speaks Prometheus's wire format.
//
//	GET  /api/v1/query?query=...&time=...&timeout=...
//	POST /api/v1/query  (the same parameters as a form)
//
// It does not evaluate PromQL. A query's answer is what SetResult, SetEmpty,
// SetNaN or SetError set for that exact query text (byte for byte); a query
// nobody set is answered an empty vector, as Prometheus answers a query whose
// series do not exist. A result is a one-sample vector with no labels, as an
// aggregation such as sum(...) answers, stamped with the evaluation time:
//
//	{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1767225600,"42"]}]}}
//
// Sample values are strings, "NaN", "+Inf" and "-Inf" included; timestamps
// are Unix seconds with at most three decimals, as Prometheus writes them.
//
// Parameters are checked as Prometheus checks them: time is Unix seconds
// (a decimal) or RFC 3339, and defaults to now; timeout is seconds or a
// Prometheus duration ("30s", "1m30s"); query must not be empty. A bad one is
// answered 400 with Prometheus's error JSON:
//
//	{"status":"error","errorType":"bad_data","error":"invalid parameter \"time\": ..."}
//
// Another method on /api/v1/query is answered 405, another path 404.
//
// Failures on purpose: SetError answers a query with Prometheus's error,
// FailNext fails the next calls whatever they ask, SetDown makes every call
// answer 503 as a Prometheus that is not ready does; Close refuses
// connections. With Options.BearerToken set, every call needs that token, as
// Prometheus behind an authenticating proxy does (401 otherwise).
//
// Calls counts every call; Queries and Requests list what was asked.
package promemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a Server.
type Options struct {
	// BearerToken, when not empty, must come with every call as
	// "Authorization: Bearer <token>". A call without it, or with another
	// token, is answered 401 "Unauthorized" in plain text, with a
	// WWW-Authenticate header, as the proxy in front of a Prometheus answers:
	// Prometheus itself has no token auth.
	BearerToken string
}

// Server is an in-process Prometheus.
type Server struct {
	opts Options
	srv  *httptest.Server

	mu       sync.Mutex
	answers  map[string]answer
	requests []Request
	calls    int
	failures []failure
	down     bool
}

// answer is what a query is answered.
type answer struct {
	empty bool
	value float64
	// errType and errMsg, when errType is set: Prometheus's error.
	errType, errMsg string
}

// failure is a FailNext in waiting.
type failure struct {
	status    int
	remaining int
}

// Request is one call to /api/v1/query as the server got it.
type Request struct {
	Method string // GET or POST
	Query  string
	// Time is the time parameter as sent, "" when there was none.
	Time string
	// Authorization is the Authorization header as sent.
	Authorization string
}

// New starts a Server on 127.0.0.1. Close it when done.
func New(opts Options) *Server {
	s := &Server{opts: opts, answers: map[string]answer{}}
	s.srv = httptest.NewServer(s)
	return s
}

// URL is the server's base URL ("http://127.0.0.1:port"), as
// https://prometheus.internal:9090 is a real one's.
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the server down: later calls are refused a connection.
func (s *Server) Close() { s.srv.Close() }

// SetResult makes query answer a one-sample vector of value. value may be
// NaN or ±Inf.
func (s *Server) SetResult(query string, value float64) {
	s.set(query, answer{value: value})
}

// SetEmpty makes query answer an empty vector: no series matched.
func (s *Server) SetEmpty(query string) { s.set(query, answer{empty: true}) }

// SetNaN makes query answer a one-sample vector of NaN, as a quantile or a
// ratio over no requests does.
func (s *Server) SetNaN(query string) { s.SetResult(query, math.NaN()) }

// SetError makes query answer Prometheus's error JSON, with errType
// ("bad_data", "execution", "timeout", "canceled", "internal",
// "unavailable", "not_found") and message, and the HTTP status Prometheus
// gives that type: 400, 422, 503, 499, 500, 503, 404 (500 for another type).
// As Prometheus would answer a query it cannot parse, for instance:
//
//	s.SetError(q, "bad_data", `invalid parameter "query": 1:27: parse error: unexpected "}"`)
func (s *Server) SetError(query, errType, message string) {
	s.set(query, answer{errType: errType, errMsg: message})
}

func (s *Server) set(query string, a answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[query] = a
}

// Queries returns the query of every call to /api/v1/query, in the order
// the calls came, refused ones (FailNext, SetDown, auth, bad parameters)
// included.
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.requests))
	for i, r := range s.requests {
		out[i] = r.Query
	}
	return out
}

// Requests returns every call to /api/v1/query, in the order they came,
// refused ones included.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Calls returns how many calls the server got, on any path, refused ones
// included.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// FailNext makes the next count calls fail with this HTTP status, whatever
// they ask, before auth is checked. A status Prometheus itself answers
// (400, 404, 422, 500, 503) comes with its error JSON (errorType bad_data,
// not_found, execution, internal, unavailable; error "promemu: FailNext");
// any other with a plain-text page, as a proxy in front of Prometheus
// answers, and a 429 with "Retry-After: 1", as a rate-limiting proxy sends.
// Status 0 cuts the connection without answering. Failures queue up behind
// ones already set.
func (s *Server) FailNext(status int, count int) {
	if count <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{status: status, remaining: count})
}

// SetDown makes every call answer 503 "Service Unavailable" in plain text
// while down is true, as Prometheus answers while it is not ready (starting,
// replaying its write-ahead log). The server still accepts connections: to
// refuse them, Close it.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// queryPath is the instant query endpoint.
const queryPath = "/api/v1/query"

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The form is read first, so that a refused call's query is listed too.
	formErr := r.ParseForm()

	s.mu.Lock()
	s.calls++
	if r.URL.Path == queryPath {
		s.requests = append(s.requests, Request{
			Method:        r.Method,
			Query:         r.Form.Get("query"),
			Time:          r.Form.Get("time"),
			Authorization: r.Header.Get("Authorization"),
		})
	}
	down := s.down
	status, failing := 0, false
	if !down && len(s.failures) > 0 {
		f := &s.failures[0]
		status, failing = f.status, true
		if f.remaining--; f.remaining <= 0 {
			s.failures = s.failures[1:]
		}
	}
	s.mu.Unlock()

	switch {
	case down:
		plain(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	case failing:
		writeFailure(w, status)
		return
	}

	if s.opts.BearerToken != "" && r.Header.Get("Authorization") != "Bearer "+s.opts.BearerToken {
		w.Header().Set("WWW-Authenticate", `Bearer realm="prometheus"`)
		plain(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	if r.URL.Path != queryPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		plain(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if formErr != nil {
		apiError(w, "bad_data", fmt.Sprintf("error parsing form values: %v", formErr))
		return
	}
	s.query(w, r)
}

// query answers an instant query.
func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	if v := r.Form.Get("time"); v != "" {
		t, err := parseTime(v)
		if err != nil {
			apiError(w, "bad_data", fmt.Sprintf("invalid parameter %q: invalid time value for '%s': %v", "time", "time", err))
			return
		}
		at = t
	}
	if v := r.Form.Get("timeout"); v != "" {
		if _, err := parseDuration(v); err != nil {
			apiError(w, "bad_data", fmt.Sprintf("invalid parameter %q: %v", "timeout", err))
			return
		}
	}
	q := r.Form.Get("query")
	if strings.TrimSpace(q) == "" {
		apiError(w, "bad_data", `invalid parameter "query": 1:1: parse error: no expression found in input`)
		return
	}

	s.mu.Lock()
	a, ok := s.answers[q]
	s.mu.Unlock()
	if !ok {
		a = answer{empty: true}
	}
	if a.errType != "" {
		apiError(w, a.errType, a.errMsg)
		return
	}
	result := []sample{}
	if !a.empty {
		result = append(result, sample{
			Metric: map[string]string{},
			Value:  []any{timestamp(at), formatValue(a.value)},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "success",
		"data":   map[string]any{"resultType": "vector", "result": result},
	})
}

// sample is one sample of an instant vector.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
}

// timestamp writes a time as Prometheus does: Unix seconds, then the
// milliseconds, if any, as three decimals.
func timestamp(t time.Time) json.Number {
	ms := t.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	if ms%1000 == 0 {
		return json.Number(fmt.Sprintf("%s%d", sign, ms/1000))
	}
	return json.Number(fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000))
}

// formatValue writes a sample value as Prometheus does.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// parseTime reads a time parameter as Prometheus does: Unix seconds, with
// up to millisecond precision, or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		sec, frac := math.Modf(f)
		frac = math.Round(frac*1000) / 1000
		return time.Unix(int64(sec), int64(frac*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

var promDuration = regexp.MustCompile(`^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$`)

// parseDuration reads a duration parameter as Prometheus does: seconds (a
// decimal) or a Prometheus duration.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		d := f * float64(time.Second)
		if d > float64(math.MaxInt64) || d < float64(math.MinInt64) || math.IsNaN(d) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(d), nil
	}
	if s != "" && promDuration.MatchString(s) {
		return 0, nil // its value is not used: only its form is checked
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// errorStatus is the HTTP status Prometheus answers an error type with.
func errorStatus(errType string) int {
	switch errType {
	case "bad_data":
		return http.StatusBadRequest
	case "execution":
		return http.StatusUnprocessableEntity
	case "timeout", "unavailable":
		return http.StatusServiceUnavailable
	case "canceled":
		return 499 // Prometheus's "client closed connection"
	case "not_found":
		return http.StatusNotFound
	case "not_acceptable":
		return http.StatusNotAcceptable
	}
	return http.StatusInternalServerError
}

// apiError answers Prometheus's error JSON.
func apiError(w http.ResponseWriter, errType, message string) {
	writeJSON(w, errorStatus(errType), map[string]any{
		"status":    "error",
		"errorType": errType,
		"error":     message,
	})
}

// writeFailure answers a FailNext.
func writeFailure(w http.ResponseWriter, status int) {
	switch status {
	case 0:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close() // the connection is cut: nothing to do about an error
			return
		}
		panic(http.ErrAbortHandler) // no hijacking (HTTP/2): abort the answer instead
	case http.StatusBadRequest:
		apiError(w, "bad_data", "promemu: FailNext")
	case http.StatusNotFound:
		apiError(w, "not_found", "promemu: FailNext")
	case http.StatusUnprocessableEntity:
		apiError(w, "execution", "promemu: FailNext")
	case http.StatusInternalServerError:
		apiError(w, "internal", "promemu: FailNext")
	case http.StatusServiceUnavailable:
		apiError(w, "unavailable", "promemu: FailNext")
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		plain(w, status, http.StatusText(status))
	default:
		plain(w, status, http.StatusText(status))
	}
}

func plain(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text + "\n")) // the client went away: nothing to do
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		// Only a value JSON cannot hold fails, and every value is written as
		// a string: this is a bug in the emulator.
		panic(errors.Join(errors.New("promemu: encode an answer"), err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client went away: nothing to do
}
