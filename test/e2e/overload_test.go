package e2e

import (
	"crypto/sha256"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/internal/testkit"
)

// TestOverloadedReplicaSheds: with max_in_flight 1 and a webhook still
// being read, a Slack command waits its second, then is answered 503 with
// Retry-After and counted as shed, and nothing of it is queued; health and
// metrics still answer. Once the webhook is in, the command sent again is
// served.
func TestOverloadedReplicaSheds(t *testing.T) {
	h := newHarnessWith(t, func(c *config.Config) { c.MaxInFlight = 1 })
	body := []byte(`{"action":"opened","number":7,"pull_request":{"number":7},"repository":{"full_name":"acme/envs-config","owner":{"login":"acme"}},"installation":{"id":1}}`)
	pr, pw := io.Pipe()
	req := post(t, h.SB.BotURL()+"/github/webhooks", nil, map[string]string{
		"Content-Type": "application/json", "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "slow-" + randomHex(8),
		"X-Hub-Signature-256": hubSig("sha256", sha256.New, h.SB.Secrets().GitHubWebhookSecret, body)})
	req.Body, req.ContentLength = pr, int64(len(body))
	slow := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- -1
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	if _, err := pw.Write(body[:10]); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 5*time.Second, "the webhook being read", func() bool {
		return scrape(t, h)["migratebot_requests_in_flight"] == 1
	})
	if got := scrape(t, h)["migratebot_requests_in_flight_max"]; got != 1 {
		t.Errorf("migratebot_requests_in_flight_max = %v, want 1", got)
	}

	command := func() *http.Response {
		t.Helper()
		form := slackForm("U0ALICE", "status search")
		ts := unix(time.Now())
		resp, err := http.DefaultClient.Do(post(t, h.SB.BotURL()+"/slack/commands", form, map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
			"X-Slack-Signature": slackSig(h.SB.Secrets().SlackSigningSecret, ts, form)}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	before := h.snapshot()
	start := time.Now()
	resp := command()
	waited := time.Since(start)
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || !strings.Contains(string(msg), "too many requests in flight") {
		t.Errorf("a command beyond the bound: %d, Retry-After %q, %q; want 503, 1, saying why", resp.StatusCode, resp.Header.Get("Retry-After"), msg)
	}
	if waited < time.Second {
		t.Errorf("shed after %s, want after waiting a second for a slot", waited)
	}
	if got := sum(scrape(t, h), `^migratebot_intake_total\{event="command",outcome="shed",source="slack"\}$`); got != 1 {
		t.Errorf("shed commands counted %v, want 1", got)
	}
	if after := h.snapshot(); after != before {
		t.Errorf("the shed command changed what the bot keeps:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(h.SB.BotURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s while full: %d, want 200", path, resp.StatusCode)
		}
	}

	if _, err := pw.Write(body[10:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if code := <-slow; code != http.StatusAccepted {
		t.Errorf("the slow webhook was answered %d, want 202", code)
	}
	if resp := command(); resp.StatusCode != http.StatusOK {
		t.Errorf("the command sent again was answered %d, want 200", resp.StatusCode)
	}
}
