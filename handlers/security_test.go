package handlers

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestNoSecretRejectsEverything: a handler built without its secret (a
// mistake config.LoadSecrets also refuses) rejects every request, signed
// or not, instead of taking them unchecked: go-github's ValidatePayload
// takes an unsigned webhook when the secret is empty.
func TestNoSecretRejectsEverything(t *testing.T) {
	merged := `{"action":"closed","number":2,"pull_request":{"number":2,"merged":true},"repository":{"full_name":"acme/envs-config"},"sender":{"login":"bob"}}`
	q := &recordingQueue{}
	log := slog.New(slog.DiscardHandler)
	for name, tc := range map[string]struct {
		h    http.Handler
		req  *http.Request
		path string
	}{
		"github unsigned": {h: &GitHubWebhooks{Queue: q, Log: log},
			req: httptest.NewRequest(http.MethodPost, "/github/webhooks", strings.NewReader(merged))},
		"github signed with the empty secret": {h: &GitHubWebhooks{Queue: q, Log: log},
			req: httptest.NewRequest(http.MethodPost, "/github/webhooks", strings.NewReader(merged))},
		"slack command signed with the empty secret": {h: &SlackCommands{Config: fuzzConfig, Queue: q, Log: log},
			req: signedWith("", "/slack/commands", []byte("user_id=U1&channel_id=C1&team_id=T1&text=abort+web-api"))},
		"slack press signed with the empty secret": {h: &SlackInteractions{Queue: q, Log: log},
			req: signedWith("", "/slack/interactions", []byte(url.Values{"payload": {`{"type":"block_actions","user":{"id":"U1"},"team":{"id":"T1"},"channel":{"id":"C1"},"actions":[{"type":"button","action_id":"migrate:abort","value":"kprod/web-api"}]}`}}.Encode()))},
	} {
		t.Run(name, func(t *testing.T) {
			if strings.HasPrefix(name, "github") {
				tc.req.Header.Set("Content-Type", "application/json")
				tc.req.Header.Set("X-GitHub-Event", "pull_request")
				tc.req.Header.Set("X-GitHub-Delivery", "d-"+name)
				if strings.Contains(name, "signed") {
					tc.req.Header.Set("X-Hub-Signature-256", hubSignature("", merged))
				}
			}
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, tc.req)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", rec.Code)
			}
		})
	}
	if len(q.jobs) != 0 {
		t.Errorf("queued %+v", q.jobs)
	}
}
