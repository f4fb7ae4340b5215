package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestLimiterShedsBeyondTheBound: with the bound reached, another request
// waits a moment, then is answered 503 with Retry-After and counted as
// shed, while health, readiness and metrics still answer; a slot freed
// while a request waits serves it.
func TestLimiterShedsBeyondTheBound(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	var served atomic.Int32
	blocking := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		served.Add(1)
		w.WriteHeader(http.StatusAccepted)
	})
	lim := NewLimiter(2, 100*time.Millisecond)
	var shed atomic.Int32
	lim.Shed = func(*http.Request) { shed.Add(1) }
	srv := httptest.NewServer(Mux(Routes{
		SlackCommands: blocking, SlackInteractions: blocking, GitHubWebhooks: blocking,
		Ready:   func(context.Context) error { return nil },
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("# metrics\n")) }),
		Limit:   lim,
	}))
	t.Cleanup(srv.Close)
	post := func(path string) (*http.Response, error) {
		return http.Post(srv.URL+path, "application/json", nil)
	}
	answers := make(chan int, 10)
	send := func(path string) {
		go func() {
			resp, err := post(path)
			if err != nil {
				answers <- -1
				return
			}
			resp.Body.Close()
			answers <- resp.StatusCode
		}()
	}
	send("/github/webhooks")
	send("/slack/commands")
	<-entered
	<-entered
	if got := lim.InFlight(); got != 2 {
		t.Fatalf("in flight = %d, want 2", got)
	}

	resp, err := post("/slack/interactions")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("beyond the bound: %d, Retry-After %q; want 503, 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if shed.Load() != 1 {
		t.Errorf("shed counted %d times, want 1", shed.Load())
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s while full: %d, want 200", path, resp.StatusCode)
		}
	}

	// One waits; a slot frees within its wait; it is served.
	send("/github/webhooks")
	time.Sleep(20 * time.Millisecond)
	release <- struct{}{}
	<-entered
	if got := <-answers; got != http.StatusAccepted {
		t.Errorf("a held request answered %d", got)
	}
	close(release)
	for range 2 {
		if got := <-answers; got != http.StatusAccepted {
			t.Errorf("answered %d, want 202", got)
		}
	}
	if served.Load() != 3 || shed.Load() != 1 || lim.InFlight() != 0 {
		t.Errorf("served %d, shed %d, in flight %d; want 3, 1, 0", served.Load(), shed.Load(), lim.InFlight())
	}
}
