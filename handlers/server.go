// Package handlers is migratebot's edge: Slack slash commands and
// interactions (over HTTP, or Socket Mode in slack_socket.go), GitHub
// webhooks, and the health and metrics endpoints. Handlers verify, decode,
// queue and answer; the work happens in the workers.
package handlers

import (
	"context"
	"net/http"
	"time"
)

// Routes are the bot's HTTP endpoints.
type Routes struct {
	SlackCommands     http.Handler
	SlackInteractions http.Handler
	GitHubWebhooks    http.Handler
	// Ready reports whether the bot can work (Redis answers).
	Ready func(ctx context.Context) error
	// Metrics is served at /metrics when set.
	Metrics http.Handler
	// Limit, when set, bounds the Slack and GitHub requests served at once.
	Limit *Limiter
}

// Mux returns the bot's router.
func Mux(rt Routes) *http.ServeMux {
	mux := http.NewServeMux()
	limit := func(h http.Handler) http.Handler { return h }
	if rt.Limit != nil {
		limit = rt.Limit.Wrap
	}
	mux.Handle("POST /slack/commands", limit(rt.SlackCommands))
	mux.Handle("POST /slack/interactions", limit(rt.SlackInteractions))
	mux.Handle("POST /github/webhooks", limit(rt.GitHubWebhooks))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if err := rt.Ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	if rt.Metrics != nil {
		mux.Handle("GET /metrics", rt.Metrics)
	}
	return mux
}
