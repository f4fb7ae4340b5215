package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // GitHub's legacy X-Hub-Signature is HMAC-SHA1
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/acm"

	"github.com/migratebot/migratebot/sandbox"
	"github.com/migratebot/migratebot/test/githubemu"
)

// The security tests: what does not come from Slack or GitHub is refused
// and changes nothing, and what the bot writes anywhere never carries a
// secret. They run on the real harness: signed HTTP through the real
// handlers, a real redis-server, and the emulators.

// forgeMarker is in every forged body: a rejected body must not be logged.
const forgeMarker = "FORGED-BODY-MARKER"

// slackForm is a slash command as Slack posts it.
func slackForm(user, text string) []byte {
	return []byte(url.Values{
		"token": {"verification-token"}, "team_id": {"T0ACME"}, "team_domain": {"acme"},
		"channel_id": {"C0MIGRATE"}, "channel_name": {"migrations"}, "user_id": {user},
		"command": {"/migrate"}, "text": {text}, "trigger_id": {"1.2." + forgeMarker + "." + randomHex(8)},
	}.Encode())
}

// slackPress is a block_actions interaction as Slack posts it: user
// pressed the button actionID whose value is value.
func slackPress(user, actionID, value string) []byte {
	payload, _ := json.Marshal(map[string]any{
		"type":       "block_actions",
		"trigger_id": "1.2." + forgeMarker + "." + randomHex(8),
		"user":       map[string]any{"id": user, "team_id": "T0ACME"},
		"team":       map[string]any{"id": "T0ACME", "domain": "acme"},
		"channel":    map[string]any{"id": "C0MIGRATE", "name": "migrations"},
		"container":  map[string]any{"type": "message", "channel_id": "C0MIGRATE"},
		"actions":    []any{map[string]any{"type": "button", "action_id": actionID, "block_id": "b", "value": value}},
	})
	return []byte(url.Values{"payload": {string(payload)}}.Encode())
}

// slackSig is Slack's v0 signature of body at ts with secret.
func slackSig(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// hubSig is GitHub's signature header value of body with secret.
func hubSig(prefix string, h func() hash.Hash, secret string, body []byte) string {
	mac := hmac.New(h, []byte(secret))
	mac.Write(body)
	return prefix + "=" + hex.EncodeToString(mac.Sum(nil))
}

// post builds a POST of body with headers.
func post(t *testing.T, u string, body []byte, hdr map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// probe is one request and why it must be refused.
type probe struct {
	name string
	req  *http.Request
}

// sendAll sends the requests, a few at a time, and returns each one's
// status by name (-1 for a transport error).
func sendAll(t *testing.T, probes []probe) map[string][]int {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	statuses := make([]int, len(probes))
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				resp, err := client.Do(probes[i].req)
				if err != nil {
					statuses[i] = -1
					continue
				}
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			}
		})
	}
	for i := range probes {
		work <- i
	}
	close(work)
	wg.Wait()
	out := map[string][]int{}
	for i, p := range probes {
		out[p.name] = append(out[p.name], statuses[i])
	}
	return out
}

// delivery returns the body of the last delivery of event/action.
func delivery(t *testing.T, h *harness, event, action string) []byte {
	t.Helper()
	ds := h.SB.GitHub().Deliveries()
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].Event == event && ds[i].Action == action {
			return ds[i].Body
		}
	}
	t.Fatalf("no %s %s delivery", event, action)
	return nil
}

// retarget rewrites a real webhook body with edit applied to its decoded
// JSON, and the forge marker added.
func retarget(t *testing.T, body []byte, edit func(map[string]any)) []byte {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	edit(v)
	v["forged"] = forgeMarker
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// world is what the bot changed outside Redis: Slack's messages, the
// tickets and the bot's calls to GitHub.
func world(h *harness) string {
	return fmt.Sprintf("slack %+v\ntickets %+v\ngithub calls %d", h.SB.Slack().Messages(), h.SB.Tickets(), len(h.SB.GitHub().Calls()))
}

// TestForgedStaleAndReplayedRequestsRejected: thousands of requests to the
// three endpoints that Slack or GitHub did not sign (none, a wrong secret,
// a signature of another body or time, a mangled or guessed one) or that
// Slack signed outside its five-minute window (stale, from the future, or
// a correctly signed request replayed once it went stale) are all answered
// 401, are logged without their bodies, queue nothing, and change nothing
// in Redis, on GitHub, in Slack or in the tickets. Each forged body would
// change a lot if it were taken: an abort, a forced bump, a merge of the
// open PR, an approval, a rollback from a PR comment.
func TestForgedStaleAndReplayedRequestsRejected(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate next", "github review last approve by carol",
		"github merge last", "github comment #1 /migrate status by bob", "clock +31m", "/migrate next")
	if m := h.migration(); m.Open == nil || m.Open.Number != 2 {
		t.Fatalf("setup: want PR #2 open, have %+v", m.Open)
	}
	secrets := h.SB.Secrets()
	signing, webhook := secrets.SlackSigningSecret, secrets.GitHubWebhookSecret
	cmdURL, actURL, hookURL := h.SB.BotURL()+"/slack/commands", h.SB.BotURL()+"/slack/interactions", h.SB.BotURL()+"/github/webhooks"
	alice, carol, dave := h.SB.UserID("alice"), h.SB.UserID("carol"), h.SB.UserID("dave")

	slackSigned := func(u string, body []byte, ts time.Time) *http.Request {
		s := unix(ts)
		return post(t, u, body, map[string]string{"Content-Type": "application/x-www-form-urlencoded",
			"X-Slack-Request-Timestamp": s, "X-Slack-Signature": slackSig(signing, s, body)})
	}

	// Controls: the same requests signed with the real secret now are
	// taken, so what is refused below is refused for what was forged. The
	// originals to replay are signed 4m55s ago: taken now, stale in 6s.
	stamp := time.Now().Add(-5*time.Minute + 5*time.Second)
	originals := map[string][]byte{
		cmdURL: slackForm(alice, "status search"),
		actURL: slackPress(alice, "migrate:status", "kprod/search"),
	}
	replays := map[string]http.Header{}
	for u, body := range originals {
		for _, req := range []*http.Request{slackSigned(u, body, time.Now()), slackSigned(u, body, stamp)} {
			replays[u] = req.Header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("control: a correctly signed request to %s answered %d", u, resp.StatusCode)
			}
		}
	}
	h.Do("as alice") // runs the controls' jobs
	before, beforeWorld := h.snapshot(), world(h)
	logsBefore := h.Logs.String()
	rejectedBefore := sum(scrape(t, h), `^migratebot_intake_total\{event="unknown",outcome="rejected",source="github"\}$`)

	var probes []probe
	// Slack: each body a command or press that would change a lot.
	slackBodies := map[string][][]byte{
		cmdURL: {slackForm(alice, "abort search "+forgeMarker), slackForm(alice, "abort search"), slackForm(alice, "rollback search"),
			slackForm(dave, "bump 100 --force search"), slackForm(alice, "pause search"), slackForm(dave, "start web-api")},
		actURL: {slackPress(carol, "migrate:approve", "kprod/search"), slackPress(alice, "migrate:next", "kprod/search"),
			slackPress(dave, "migrate:confirm", "kprod/search"), slackPress(alice, "migrate:abort", "kprod/search")},
	}
	for _, u := range []string{cmdURL, actURL} {
		for _, body := range slackBodies[u] {
			now := time.Now()
			ts := unix(now)
			form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
			with := func(extra map[string]string) map[string]string {
				out := map[string]string{}
				for k, v := range form {
					out[k] = v
				}
				for k, v := range extra {
					out[k] = v
				}
				return out
			}
			other := slackForm(alice, "status search")
			good := slackSig(signing, ts, body)
			for name, hdr := range map[string]map[string]string{
				"unsigned":                          form,
				"signature without timestamp":       with(map[string]string{"X-Slack-Signature": good}),
				"timestamp without signature":       with(map[string]string{"X-Slack-Request-Timestamp": ts}),
				"wrong secret":                      with(map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": slackSig("not-the-secret", ts, body)}),
				"the webhook secret":                with(map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": slackSig(webhook, ts, body)}),
				"empty secret":                      with(map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": slackSig("", ts, body)}),
				"signature of another body":         with(map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": slackSig(signing, ts, other)}),
				"signature of another time":         with(map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": slackSig(signing, unix(now.Add(-time.Second)), body)}),
				"signature version v1":              with(map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v1=" + strings.TrimPrefix(good, "v0=")}),
				"signature not hex":                 with(map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + strings.Repeat("zz", 32)}),
				"signature truncated":               with(map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": good[:len(good)-2]}),
				"signature of the body without v0":  with(map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + hex.EncodeToString(hmacOf(sha256.New, signing, body))}),
				"timestamp not a number":            with(map[string]string{"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": slackSig(signing, "soon", body)}),
				"timestamp zero":                    with(map[string]string{"X-Slack-Request-Timestamp": "0", "X-Slack-Signature": slackSig(signing, "0", body)}),
				"timestamp negative":                with(map[string]string{"X-Slack-Request-Timestamp": "-1", "X-Slack-Signature": slackSig(signing, "-1", body)}),
				"stale by 5m30s":                    with(map[string]string{"X-Slack-Request-Timestamp": unix(now.Add(-5*time.Minute - 30*time.Second)), "X-Slack-Signature": slackSig(signing, unix(now.Add(-5*time.Minute-30*time.Second)), body)}),
				"stale by an hour":                  with(map[string]string{"X-Slack-Request-Timestamp": unix(now.Add(-time.Hour)), "X-Slack-Signature": slackSig(signing, unix(now.Add(-time.Hour)), body)}),
				"stale by a day":                    with(map[string]string{"X-Slack-Request-Timestamp": unix(now.Add(-24 * time.Hour)), "X-Slack-Signature": slackSig(signing, unix(now.Add(-24*time.Hour)), body)}),
				"from 5m30s in the future":          with(map[string]string{"X-Slack-Request-Timestamp": unix(now.Add(5*time.Minute + 30*time.Second)), "X-Slack-Signature": slackSig(signing, unix(now.Add(5*time.Minute+30*time.Second)), body)}),
				"from a year in the future":         with(map[string]string{"X-Slack-Request-Timestamp": unix(now.AddDate(1, 0, 0)), "X-Slack-Signature": slackSig(signing, unix(now.AddDate(1, 0, 0)), body)}),
				"stale timestamp, signature of now": with(map[string]string{"X-Slack-Request-Timestamp": unix(now.Add(-time.Hour)), "X-Slack-Signature": good}),
			} {
				probes = append(probes, probe{"slack " + name, post(t, u, body, hdr)})
			}
			// Guessed signatures.
			for range 200 {
				probes = append(probes, probe{"slack guessed signature", post(t, u, body, with(map[string]string{
					"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + randomHex(32)}))})
			}
		}
	}

	// GitHub: real deliveries edited into a merge of the open PR #2, an
	// approval of it and a rollback commented on it.
	prNumber := func(v map[string]any, key string) {
		v["number"] = 2
		if o, ok := v[key].(map[string]any); ok {
			o["number"] = 2
		}
	}
	hookBodies := map[string][]byte{
		"pull_request": retarget(t, delivery(t, h, "pull_request", "closed"), func(v map[string]any) { prNumber(v, "pull_request") }),
		"pull_request_review": retarget(t, delivery(t, h, "pull_request_review", "submitted"), func(v map[string]any) {
			prNumber(v, "pull_request")
		}),
		"issue_comment": retarget(t, delivery(t, h, "issue_comment", "created"), func(v map[string]any) {
			prNumber(v, "issue")
			v["comment"].(map[string]any)["body"] = "/migrate rollback"
			v["comment"].(map[string]any)["id"] = 987654321
		}),
	}
	n := 0
	hook := func(event string, body []byte, hdr map[string]string) *http.Request {
		n++
		all := map[string]string{"Content-Type": "application/json", "X-GitHub-Event": event,
			"X-GitHub-Delivery": fmt.Sprintf("forged-%d-%s", n, randomHex(4)), "User-Agent": "GitHub-Hookshot/forged"}
		for k, v := range hdr {
			all[k] = v
		}
		return post(t, hookURL, body, all)
	}
	const sig256, sig1 = "X-Hub-Signature-256", "X-Hub-Signature"
	for event, body := range hookBodies {
		benign := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
		good := hubSig("sha256", sha256.New, webhook, body)
		for name, hdr := range map[string]map[string]string{
			"unsigned":                         nil,
			"wrong secret":                     {sig256: hubSig("sha256", sha256.New, "not-the-secret", body)},
			"the Slack signing secret":         {sig256: hubSig("sha256", sha256.New, signing, body)},
			"empty secret":                     {sig256: hubSig("sha256", sha256.New, "", body)},
			"wrong secret, SHA-1 only":         {sig1: hubSig("sha1", sha1.New, "not-the-secret", body)},
			"wrong secret, SHA-512":            {sig256: hubSig("sha512", sha512.New, "not-the-secret", body)},
			"signature of another body":        {sig256: hubSig("sha256", sha256.New, webhook, benign)},
			"signature of another body, SHA-1": {sig1: hubSig("sha1", sha1.New, webhook, benign)},
			"bad SHA-256 beside a good SHA-1":  {sig256: "sha256=" + randomHex(32), sig1: hubSig("sha1", sha1.New, webhook, body)},
			"empty signature":                  {sig256: "sha256="},
			"signature not hex":                {sig256: "sha256=" + strings.Repeat("zz", 32)},
			"signature truncated":              {sig256: good[:len(good)-2]},
			"unknown hash":                     {sig256: "md5=" + strings.TrimPrefix(good, "sha256=")},
			"no hash name":                     {sig256: strings.TrimPrefix(good, "sha256=")},
		} {
			probes = append(probes, probe{"github " + name, hook(event, body, hdr)})
		}
		// A form-encoded delivery signed over another body.
		probes = append(probes, probe{"github form, signature of another body", hook(event,
			[]byte(url.Values{"payload": {string(body)}}.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", sig256: good})})
		for range 300 {
			probes = append(probes, probe{"github guessed signature", hook(event, body, map[string]string{sig256: "sha256=" + randomHex(32)})})
		}
	}

	statuses := sendAll(t, probes)

	// The literal replays: the originals' exact bytes and headers, sent
	// again once their timestamp is more than five minutes old.
	if wait := time.Until(stamp.Add(5*time.Minute + 2*time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	var replayed []probe
	for u, body := range originals {
		for range 50 {
			req := post(t, u, body, nil)
			req.Header = replays[u].Clone()
			replayed = append(replayed, probe{"slack replayed once stale", req})
		}
	}
	for name, got := range sendAll(t, replayed) {
		statuses[name] = append(statuses[name], got...)
	}

	total := 0
	for name, got := range statuses {
		total += len(got)
		for _, code := range got {
			if code != http.StatusUnauthorized {
				t.Errorf("%s: answered %d, want 401", name, code)
				break
			}
		}
	}
	if total < 3000 {
		t.Errorf("sent %d forged requests, want thousands", total)
	}
	t.Logf("%d forged, stale and replayed requests in %d kinds, all refused", total, len(statuses))

	// Nothing was queued (the stream holds no entry) or stored...
	if after := h.snapshot(); after != before {
		t.Errorf("forged requests changed Redis or GitHub before any worker ran:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// ...and nothing happens once the workers and timers run.
	h.Do("as alice")
	if after := h.snapshot(); after != before {
		t.Errorf("forged requests changed Redis or GitHub:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if after := world(h); after != beforeWorld {
		t.Errorf("forged requests changed Slack, the tickets or called GitHub:\nbefore:\n%s\nafter:\n%s", beforeWorld, after)
	}
	if m := h.migration(); m.Open == nil || m.Open.Number != 2 || m.Weights.New != 10 || m.Paused != nil {
		t.Errorf("after the forgeries: open %+v, weights %v, paused %v", m.Open, m.Weights, m.Paused)
	}

	logs := strings.TrimPrefix(h.Logs.String(), logsBefore)
	if got := strings.Count(logs, `"msg":"rejected a`); got != total {
		t.Errorf("%d rejections logged, want %d", got, total)
	}
	if strings.Contains(logs, forgeMarker) {
		t.Error("a rejected request's body reached the logs")
	}
	githubForged := 0
	for name, got := range statuses {
		if strings.HasPrefix(name, "github ") {
			githubForged += len(got)
		}
	}
	rejected := sum(scrape(t, h), `^migratebot_intake_total\{event="unknown",outcome="rejected",source="github"\}$`) - rejectedBefore
	if int(rejected) != githubForged {
		t.Errorf("migratebot_intake_total counts %g rejected webhooks, want %d", rejected, githubForged)
	}

	// The bot still takes what Slack really sends.
	if said := ephemeralTo(h.Do("/migrate status search"), "alice"); len(said) != 1 {
		t.Errorf("after the forgeries a real command was answered %q", said)
	}
}

// queued reports whether the bot queues a job for a delivery (the events
// it acts on: a closed PR, a review, a /migrate comment).
func queued(event, action string, body []byte) bool {
	switch event + " " + action {
	case "pull_request closed", "pull_request_review submitted", "pull_request_review dismissed":
		return true
	case "issue_comment created":
		var v struct {
			Comment struct{ Body string } `json:"comment"`
		}
		return json.Unmarshal(body, &v) == nil && strings.HasPrefix(v.Comment.Body, "/migrate")
	}
	return false
}

func hmacOf(h func() hash.Hash, secret string, body []byte) []byte {
	mac := hmac.New(h, []byte(secret))
	mac.Write(body)
	return mac.Sum(nil)
}

// TestRedeliveredWebhooksAreDuplicates: a correctly signed delivery sent
// again with its X-GitHub-Delivery id (GitHub's "Redeliver", or a replay of
// a captured delivery) is answered 200 as a duplicate, many times over and
// at once, and has no effect: the merge, the approval and the PR comment
// command each happened once.
func TestRedeliveredWebhooksAreDuplicates(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate next", "github review last approve by carol",
		"github comment #1 /migrate status by bob", "github merge last", "clock +31m", "/migrate next")
	before, beforeWorld := h.snapshot(), world(h)
	dupsBefore := sum(scrape(t, h), `outcome="duplicate",source="github"`)
	secret := h.SB.Secrets().GitHubWebhookSecret

	var probes []probe
	for _, d := range h.SB.GitHub().Deliveries() {
		if !queued(d.Event, d.Action, d.Body) {
			continue // ignored the first time: nothing to duplicate
		}
		for range 40 {
			probes = append(probes, probe{d.Event + " " + d.Action, post(t, h.SB.BotURL()+"/github/webhooks", d.Body, map[string]string{
				"Content-Type": "application/json", "X-GitHub-Event": d.Event, "X-GitHub-Delivery": d.ID,
				"X-Hub-Signature-256": hubSig("sha256", sha256.New, secret, d.Body),
			})})
		}
	}
	kinds := map[string]bool{}
	for _, p := range probes {
		kinds[p.name] = true
	}
	for _, want := range []string{"pull_request closed", "pull_request_review submitted", "issue_comment created"} {
		if !kinds[want] {
			t.Fatalf("no queued %s delivery to send again; have %v", want, kinds)
		}
	}
	for name, got := range sendAll(t, probes) {
		for _, code := range got {
			if code != http.StatusOK {
				t.Errorf("%s sent again: answered %d, want 200 (a duplicate)", name, code)
				break
			}
		}
	}
	if after := h.snapshot(); after != before {
		t.Errorf("redeliveries queued or changed something:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	h.Do("as alice")
	if after := h.snapshot(); after != before {
		t.Errorf("redeliveries changed Redis or GitHub:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if after := world(h); after != beforeWorld {
		t.Errorf("redeliveries changed Slack, the tickets or called GitHub:\nbefore:\n%s\nafter:\n%s", beforeWorld, after)
	}
	if got := sum(scrape(t, h), `outcome="duplicate",source="github"`) - dupsBefore; int(got) != len(probes) {
		t.Errorf("%g duplicates counted, want %d", got, len(probes))
	}
	if m := h.migration(); len(m.History) != 1 || m.Weights.New != 10 || m.Open == nil || m.Open.Number != 2 {
		t.Errorf("after the redeliveries: weights %v, history %d, open %+v", m.Weights, len(m.History), m.Open)
	}
}

// TestSecretsNeverLeak runs a whole flow in each ticket system with the
// bot's JSON logs at Debug level: start, next, reviews and a Slack
// approval, a merge, the clock past the health summary, commands in PR
// comments (allowed and refused), bad input, a refused user, forged
// requests, and error paths (GitHub refusing a write, Slack refusing an
// answer, the ticket system down). Then it looks for every secret in the
// logs, the Slack messages, the PRs, comments and reviews, the issues and
// tickets, the sandbox's events, Redis and /metrics: the GitHub App's
// private key (whole, any line of it, its private numbers), the webhook
// secret, the Slack bot token and signing secret, the ticket systems'
// credentials, the AWS secret key, and any GitHub installation token or
// App JWT.
func TestSecretsNeverLeak(t *testing.T) {
	for _, system := range ticketSystems {
		t.Run(system, func(t *testing.T) {
			h := newHarnessOpts(t, sandbox.Options{Tickets: system})
			gh := h.SB.GitHub()
			var events []sandbox.Event
			do := func(lines ...string) { events = append(events, h.Do(lines...)...) }

			do("as alice", "/migrate start search", "/migrate plan", "/migrate next",
				"github review last request-changes by bob", "github review last approve by carol",
				"as carol", "/migrate approve search", "as alice", "github merge last", "clock +13m",
				"github comment #1 /migrate status by bob", "github comment #1 /migrate health by carol",
				"github comment #1 /migrate next by eve", "/migrate status", "/migrate bump 300", "as mallory", "/migrate abort search")
			// Error paths: GitHub refuses to open the branch (bad
			// credentials), then Slack refuses to answer, then the ticket
			// system is down for the next step.
			gh.FailNext("POST /repos/{owner}/{repo}/git/refs", http.StatusUnauthorized, 1, nil)
			do("as alice", "clock +20m", "/migrate next")
			h.SB.Slack().FailNextError("chat.postEphemeral", "invalid_auth", 1)
			do("/migrate status")
			setTicketsDown(h, system, true)
			do("/migrate next", "github review last approve by carol", "clock +1m")
			setTicketsDown(h, system, false)
			do("clock +10m", "github merge last", "clock +13m", "/migrate list", "/migrate help")
			// A PR a person opened and closed: the bot logs at Debug that it
			// is none of its own.
			content := "# a hand edit\n"
			if _, err := gh.Push(envRepo, "hand-edit", map[string]*string{"NOTES.md": &content}, "hand edit", "bob"); err != nil {
				t.Fatal(err)
			}
			n, err := gh.OpenPR(envRepo, "hand-edit", "main", "A hand edit", "bob")
			if err != nil {
				t.Fatal(err)
			}
			do(fmt.Sprintf("github close #%d by bob", n))
			// Forged requests are logged too.
			for _, req := range []*http.Request{
				mustReq(t, h.SB.BotURL()+"/slack/commands", slackForm("U0ALICE", "abort search"), nil),
				post(t, h.SB.BotURL()+"/github/webhooks", []byte(`{"action":"closed"}`), map[string]string{
					"Content-Type": "application/json", "X-GitHub-Event": "pull_request", "X-Hub-Signature-256": "sha256=" + randomHex(32)}),
			} {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}

			// The flow happened, so the scan below is not vacuous.
			logs := h.Logs.String()
			for _, want := range []string{`"level":"DEBUG"`, "command queued", "webhook queued", "rejected a Slack request", "rejected a webhook",
				"unauthorized command refused", "unauthorized PR comment refused", "ticket system failed; will retry", "invalid_auth", "401 Unauthorized"} {
				if !strings.Contains(logs, want) {
					t.Errorf("the logs lack %q: the flow did not run as planned", want)
				}
			}
			if m := h.migration(); m.Weights.New != 25 || m.LastHealth == nil {
				t.Errorf("the flow ended at weights %v, health %+v; want new 25 with a summary", m.Weights, m.LastHealth)
			}
			if said := strings.Join(ephemeralTo(events, "alice"), "\n"); !strings.Contains(said, "Sorry, `/migrate next` failed") {
				t.Errorf("the GitHub error path was not taken; alice was told %q", said)
			}
			if len(h.SB.Tickets()) < 2 || len(botComments(h, 1)) < 2 {
				t.Errorf("want tickets and PR comments to scan: %d tickets, %d bot comments", len(h.SB.Tickets()), len(botComments(h, 1)))
			}

			secrets := secretValues(t, h, system)
			for where, text := range leakSurfaces(t, h, events) {
				for name, value := range secrets {
					if i := strings.Index(text, value); i >= 0 {
						t.Errorf("%s appears in %s: …%s…", name, where, excerpt(text, i, len(value)))
					}
				}
				for name, re := range credentialShapes {
					if m := re.FindString(text); m != "" {
						t.Errorf("%s appears in %s: %s", name, where, m)
					}
				}
			}
		})
	}
}

func setTicketsDown(h *harness, system string, down bool) {
	switch system {
	case sandbox.TicketsJira:
		h.SB.Jira().SetDown(down)
	case sandbox.TicketsServiceNow:
		h.SB.ServiceNow().SetDown(down)
	default:
		// GitHub issues: refused (the App lacks the permission) a few
		// times; a 5xx would cost seconds of the client's own retries.
		if down {
			h.SB.GitHub().FailNext("POST /repos/{owner}/{repo}/issues", http.StatusForbidden, 3, nil)
		} else {
			h.SB.GitHub().FailNext("POST /repos/{owner}/{repo}/issues", 0, 0, nil)
		}
	}
}

func excerpt(s string, i, n int) string {
	from, to := max(0, i-60), min(len(s), i+n+60)
	return s[from:to]
}

// sandboxAWSSecret is the sandbox's AWS secret access key (sandbox/world.go
// does not export it); secretValues checks the AWS emulator takes it.
const sandboxAWSSecret = "sandbox-aws-secret"

// secretValues are the secrets the bot runs with, and forms they take on
// the wire (Basic auth), by what they are.
func secretValues(t *testing.T, h *harness, system string) map[string]string {
	t.Helper()
	s := h.SB.Secrets()
	out := map[string]string{
		"the GitHub App private key":  string(s.GitHubPrivateKey),
		"the GitHub webhook secret":   s.GitHubWebhookSecret,
		"the Slack bot token":         s.SlackBotToken,
		"the Slack signing secret":    s.SlackSigningSecret,
		"the AWS secret access key":   sandboxAWSSecret,
		"the Jira API token":          s.JiraToken,
		"Jira's Basic credentials":    base64.StdEncoding.EncodeToString([]byte(s.JiraEmail + ":" + s.JiraToken)),
		"the ServiceNow password":     s.ServiceNowPassword,
		"ServiceNow's Basic password": base64.StdEncoding.EncodeToString([]byte(s.ServiceNowUsername + ":" + s.ServiceNowPassword)),
	}
	if system == sandbox.TicketsJira && h.SB.Jira().Options().Token != s.JiraToken {
		t.Fatal("the Jira emulator takes another token than the bot's")
	}
	block, _ := pem.Decode(s.GitHubPrivateKey)
	if block == nil {
		t.Fatal("the GitHub App key is not PEM")
	}
	body := strings.Split(strings.TrimSpace(string(s.GitHubPrivateKey)), "\n")
	for i, line := range body {
		if strings.HasPrefix(line, "-----") {
			continue // the armour, not the key
		}
		out[fmt.Sprintf("line %d of the GitHub App private key", i+1)] = line
	}
	out["the GitHub App private key's DER (base64)"] = base64.StdEncoding.EncodeToString(block.Bytes)
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	out["the private exponent (decimal)"] = key.D.String()
	out["the private exponent (hex)"] = key.D.Text(16)
	out["the private exponent (JWK)"] = base64.RawURLEncoding.EncodeToString(key.D.Bytes())
	for i, p := range key.Primes {
		out[fmt.Sprintf("prime %d (decimal)", i)] = p.String()
		out[fmt.Sprintf("prime %d (hex)", i)] = p.Text(16)
	}
	for name, v := range out {
		if len(v) < 12 {
			t.Fatalf("%s is too short (%q) to look for without false alarms", name, v)
		}
	}
	// The AWS key is the sandbox's only by convention: check the emulator
	// takes it and refuses another, so a renamed key fails here rather than
	// making the scan look for the wrong value.
	for secret, ok := range map[string]bool{sandboxAWSSecret: true, "not-the-aws-secret": false} {
		client := acm.NewFromConfig(awssdk.Config{
			Region:           h.SB.AWS().Region(),
			Credentials:      credentials.NewStaticCredentialsProvider("AKIASANDBOX", secret, ""),
			BaseEndpoint:     awssdk.String(h.SB.AWS().URL()),
			RetryMaxAttempts: 1,
		})
		_, err := client.ListCertificates(context.Background(), &acm.ListCertificatesInput{})
		if (err == nil) != ok {
			t.Fatalf("the AWS emulator with secret %q: %v (want accepted: %v)", secret, err, ok)
		}
	}
	return out
}

// credentialShapes are credentials the bot holds only for a while (an
// installation token, the App's JWT) or that no text should carry.
var credentialShapes = map[string]*regexp.Regexp{
	"a GitHub installation token": regexp.MustCompile(`ghs_[A-Za-z0-9]{20,}`),
	"a JWT":                       regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`),
	"a Slack token":               regexp.MustCompile(`xox[abprs]-[A-Za-z0-9-]{6,}`),
	"a PEM private key":           regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`),
	"an Authorization header":     regexp.MustCompile(`(?i)(bearer|basic|token) [A-Za-z0-9+/=._-]{16,}`),
}

// leakSurfaces is every text the bot wrote or that holds what it wrote, by
// where it is.
func leakSurfaces(t *testing.T, h *harness, events []sandbox.Event) map[string]string {
	t.Helper()
	out := map[string]string{}
	logs := h.Logs.String()
	out["the logs"] = logs
	// Decoded too, in case JSON escaping hid a value.
	var decoded strings.Builder
	for _, line := range strings.Split(logs, "\n") {
		var v any
		if json.Unmarshal([]byte(line), &v) == nil {
			collectStrings(&decoded, v)
		}
	}
	out["the logs (decoded)"] = decoded.String()

	var slack strings.Builder
	for _, m := range h.SB.Slack().Messages() {
		fmt.Fprintf(&slack, "%s\n%s\n%s\n", m.Text, m.Blocks, m.Attachments)
	}
	out["the Slack messages"] = slack.String()

	gh := h.SB.GitHub()
	for _, repo := range []string{envRepo, "acme/edge-proxy", "acme/change-requests"} {
		var b strings.Builder
		for _, pr := range gh.PRs(repo) {
			fmt.Fprintf(&b, "%s\n%s\n%s\n", pr.Title, pr.Body, pr.Head)
			for _, c := range pr.Comments {
				fmt.Fprintf(&b, "%s\n", c.Body)
			}
			for _, r := range pr.Reviews {
				fmt.Fprintf(&b, "%s\n", r.Body)
			}
			for path, content := range pr.Files {
				if content != nil {
					fmt.Fprintf(&b, "%s\n%s\n", path, *content)
				}
			}
		}
		for _, is := range gh.Issues(repo) {
			fmt.Fprintf(&b, "%s\n%s\n", is.Title, is.Body)
			for _, c := range is.Comments {
				fmt.Fprintf(&b, "%s\n", c.Body)
			}
		}
		out["GitHub "+repo] = b.String()
	}
	var deliveries strings.Builder
	for _, d := range gh.Deliveries() {
		deliveries.Write(d.Body)
	}
	out["the webhooks"] = deliveries.String()
	out["the tickets"] = fmt.Sprintf("%+v", h.SB.Tickets())
	if j := h.SB.Jira(); j != nil {
		out["the Jira issues"] = fmt.Sprintf("%+v", j.Issues())
	}
	if sn := h.SB.ServiceNow(); sn != nil {
		out["the ServiceNow changes"] = fmt.Sprintf("%+v", sn.Changes())
	}
	var evs bytes.Buffer
	if err := sandbox.WriteJSON(&evs, events); err != nil {
		t.Fatal(err)
	}
	out["the sandbox's events"] = evs.String()
	out["Redis"] = h.snapshot()
	resp, err := http.Get(h.SB.BotURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out["/metrics"] = string(metrics)
	return out
}

func collectStrings(b *strings.Builder, v any) {
	switch v := v.(type) {
	case string:
		b.WriteString(v)
		b.WriteByte('\n')
	case map[string]any:
		for k, x := range v {
			b.WriteString(k)
			b.WriteByte('\n')
			collectStrings(b, x)
		}
	case []any:
		for _, x := range v {
			collectStrings(b, x)
		}
	}
}

// guardedCommands are every verb of the grammar that needs a right, as
// mallory types them; each names search, whose migration she must not
// touch. list needs a role in some environment (bot/views.go), so it is
// refused to her too; help alone is public.
var guardedCommands = []struct{ verb, text string }{
	{"start", "start search"},
	{"start", "start web-api"},
	{"next", "next search"},
	{"next", "next --force search"},
	{"bump", "bump 25 search"},
	{"bump", "bump 100 --force search"},
	{"done", "done deployed search"},
	{"rollback", "rollback search"},
	{"rollback", "rollback to 0 search"},
	{"pause", "pause search"},
	{"resume", "resume search"},
	{"abort", "abort search"},
	{"approve", "approve search"},
	{"health", "health search"},
	{"status", "status search"},
	{"plan", "plan search"},
	{"confirm", "confirm search"},
	{"cancel", "cancel search"},
	{"list", "list"},
}

// buttonVerbs are the verbs a button can carry: a press sends the bare
// verb and its migration, so not start, bump or done, which need more.
var buttonVerbs = []string{"next", "rollback", "pause", "resume", "abort", "approve", "health", "status", "plan", "confirm", "cancel"}

// TestEveryCommandRefusesAnUnauthorizedActor: mallory, who has no role in
// any environment, is refused every guarded verb, typed and as a button
// press, with a message to her alone that says she may not and who may;
// nothing changes in Redis, on GitHub, in the tickets or in Slack but that
// message. It runs in two states worth taking over: a step's PR open for
// review, and an admin's forced step waiting for his confirmation. help
// answers her and changes nothing. On GitHub, eve (no access to the repo)
// is refused next, rollback, status and health in a PR comment, in the
// bot's one answer on the PR, and nothing changes but that answer and its
// 👀.
func TestEveryCommandRefusesAnUnauthorizedActor(t *testing.T) {
	states := []struct {
		name  string
		setup []string
		check func(t *testing.T, h *harness)
	}{
		{"a PR open for review", []string{"as alice", "/migrate start search", "/migrate next", "github merge last", "clock +31m", "/migrate next"},
			func(t *testing.T, h *harness) {
				if m := h.migration(); m.Open == nil || m.Open.Number != 2 {
					t.Fatalf("open %+v, want PR #2", m.Open)
				}
			}},
		{"a forced step waiting for its confirmation", []string{"as alice", "/migrate start search", "/migrate next", "github merge last", "clock +31m", "as dave", "/migrate bump 50 --force"},
			func(t *testing.T, h *harness) {
				if m := h.migration(); m.Pending == nil || m.Pending.By != h.SB.UserID("dave") {
					t.Fatalf("pending %+v, want dave's forced bump", m.Pending)
				}
			}},
	}
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			h := newHarness(t)
			h.Do(st.setup...)
			st.check(t, h)
			mallory := h.SB.UserID("mallory")
			// asMallory runs what mallory does and returns what she was
			// told, failing if anything else changed.
			asMallory := func(t *testing.T, run func() []sandbox.Event) []string {
				t.Helper()
				before, tickets, calls := h.snapshot(), fmt.Sprint(h.SB.Tickets()), len(h.SB.GitHub().Calls())
				msgs := h.SB.Slack().Messages()
				evs := run()
				if after := h.snapshot(); after != before {
					t.Errorf("changed Redis or GitHub:\nbefore:\n%s\nafter:\n%s", before, after)
				}
				for _, c := range h.SB.GitHub().Calls()[calls:] {
					if c.Method != http.MethodGet {
						t.Errorf("wrote to GitHub: %s", c.Route)
					}
				}
				if after := fmt.Sprint(h.SB.Tickets()); after != tickets {
					t.Errorf("changed the tickets: %s", after)
				}
				now := h.SB.Slack().Messages()
				if len(now) < len(msgs) || fmt.Sprint(now[:len(msgs)]) != fmt.Sprint(msgs) {
					t.Error("changed Slack messages already posted")
				}
				for _, m := range now[min(len(msgs), len(now)):] {
					if !m.Ephemeral || m.ToUser != mallory {
						t.Errorf("posted %q for others than mallory to see", m.Text)
					}
				}
				said := ephemeralTo(evs, "mallory")
				if len(said) != 1 || len(evs) != 1 {
					t.Errorf("want one answer, to mallory alone; got %+v", evs)
				}
				return said
			}
			refused := func(t *testing.T, verb string, said []string) {
				t.Helper()
				want := map[string]string{"approve": "You may not approve changes in kprod", "list": "You may not list migrations"}[verb]
				if want == "" {
					want = "You may not run `/migrate " + verb
				}
				if len(said) != 1 || !strings.Contains(said[0], want) || (!strings.Contains(said[0], "only ") && !strings.Contains(said[0], "no role")) {
					t.Fatalf("mallory was told %q, want %q and why not", said, want)
				}
				if verb != "approve" && !strings.Contains(said[0], mallory) {
					t.Errorf("mallory was told %q, without her user id for an admin to add", said[0])
				}
			}
			for _, c := range guardedCommands {
				t.Run("typed "+c.text, func(t *testing.T) {
					refused(t, c.verb, asMallory(t, func() []sandbox.Event { return h.Do("as mallory", "/migrate "+c.text) }))
				})
			}
			for _, verb := range buttonVerbs {
				t.Run("pressed migrate:"+verb, func(t *testing.T) {
					refused(t, verb, asMallory(t, func() []sandbox.Event {
						body := slackPress(mallory, "migrate:"+verb, "kprod/search")
						ts := unix(time.Now())
						resp, err := http.DefaultClient.Do(post(t, h.SB.BotURL()+"/slack/interactions", body, map[string]string{
							"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
							"X-Slack-Signature": slackSig(h.SB.Secrets().SlackSigningSecret, ts, body)}))
						if err != nil {
							t.Fatal(err)
						}
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							t.Fatalf("the press was answered %d", resp.StatusCode)
						}
						return h.Do("as mallory") // runs the press's job
					}))
				})
			}
			t.Run("help is public", func(t *testing.T) {
				said := asMallory(t, func() []sandbox.Event { return h.Do("as mallory", "/migrate help") })
				if len(said) != 1 || !strings.Contains(said[0], "/migrate start <service>") {
					t.Errorf("help told mallory %q", said)
				}
			})
			st.check(t, h) // what she must not touch is still there
		})
	}

	t.Run("PR comments by eve", func(t *testing.T) {
		h := newHarness(t)
		h.Do("as alice", "/migrate start search", "/migrate next", "github merge last", "clock +31m", "/migrate next")
		gh := h.SB.GitHub()
		// state is the snapshot but for the record of each webhook received
		// (by delivery id) and of the bot's one answer on the PR, which is
		// the refusal.
		state := func() string {
			var keep []string
			for _, l := range strings.Split(h.snapshot(), "\n") {
				if !strings.Contains(l, ":delivery:") && !strings.Contains(l, ":prcomment:reply:") {
					keep = append(keep, l)
				}
			}
			return strings.Join(keep, "\n")
		}
		for _, verb := range []string{"next", "rollback", "rollback to 0", "status", "health"} {
			t.Run(verb, func(t *testing.T) {
				before, slackBefore, tickets := state(), fmt.Sprint(h.SB.Slack().Messages()), fmt.Sprint(h.SB.Tickets())
				calls := len(gh.Calls())
				evs := h.Do("github comment #2 /migrate " + verb + " by eve")
				replies := botReplies(h, 2)
				if len(replies) != 1 || !strings.Contains(replies[0], "@eve: you may not run `/migrate "+verb+"` here") || !strings.Contains(replies[0], "write access") {
					t.Errorf("the bot's answers on #2 = %q, want its one answer refusing eve", replies)
				}
				pr, _ := gh.PR(envRepo, 2)
				var eves []githubemu.Comment
				for _, c := range pr.Comments {
					if c.Author == "eve" {
						eves = append(eves, c)
					}
				}
				if c := eves[len(eves)-1]; c.Body != "/migrate "+verb || c.Reactions["eyes"] != 1 {
					t.Errorf("eve's comment: %+v, want a 👀", c)
				}
				for _, e := range evs {
					if e.Kind == "slack.message" || e.Kind == "ticket" || e.Kind == "github.pull_request" {
						t.Errorf("eve's comment caused %s %s", e.Kind, e.Action)
					}
				}
				for _, c := range gh.Calls()[calls:] {
					switch c.Route {
					case "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
						"POST /repos/{owner}/{repo}/issues/{number}/comments", "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}":
					default:
						if c.Method != http.MethodGet {
							t.Errorf("eve's comment wrote to GitHub: %s", c.Route)
						}
					}
				}
				if slackAfter := fmt.Sprint(h.SB.Slack().Messages()); slackAfter != slackBefore {
					t.Error("eve's comment changed Slack")
				}
				if after := fmt.Sprint(h.SB.Tickets()); after != tickets {
					t.Errorf("eve's comment changed the tickets: %s", after)
				}
				if after := state(); after != before {
					t.Errorf("eve's comment changed Redis or GitHub:\nbefore:\n%s\nafter:\n%s", before, after)
				}
			})
		}
		if m := h.migration(); m.Open == nil || m.Open.Number != 2 || m.Weights.New != 10 {
			t.Errorf("after eve's comments: open %+v, weights %v", m.Open, m.Weights)
		}
	})
}

// TestReplayedCommentWithNewDeliveryIDRunsOnce: GitHub's signature covers
// the body, not X-GitHub-Delivery, so whoever holds one signed delivery
// (GitHub shows them to the App's owners under Recent Deliveries) can send
// it again under a new id. For merges and reviews the engine sees the event
// was applied; a `/migrate` comment ran again and opened the next step's
// PR, until the edge took a comment once by its id (for the 72 hours it
// remembers deliveries).
func TestReplayedCommentWithNewDeliveryIDRunsOnce(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate next", "github merge last", "clock +31m",
		"github comment #1 /migrate next by bob", "github merge last", "clock +31m")
	if m := h.migration(); m.Weights.New != 25 || m.Open != nil {
		t.Fatalf("setup: weights %v, open %+v", m.Weights, m.Open)
	}
	var body []byte
	for _, d := range h.SB.GitHub().Deliveries() {
		if queued(d.Event, d.Action, d.Body) && d.Event == "issue_comment" {
			body = d.Body
		}
	}
	before := len(h.SB.GitHub().PRs(envRepo))
	resp, err := http.DefaultClient.Do(post(t, h.SB.BotURL()+"/github/webhooks", body, map[string]string{
		"Content-Type": "application/json", "X-GitHub-Event": "issue_comment", "X-GitHub-Delivery": "replayed-" + randomHex(8),
		"X-Hub-Signature-256": hubSig("sha256", sha256.New, h.SB.Secrets().GitHubWebhookSecret, body)}))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the replayed comment was answered %d, want 200 (a duplicate)", resp.StatusCode)
	}
	h.Do("as alice")
	if after := len(h.SB.GitHub().PRs(envRepo)); after != before {
		t.Errorf("bob's `/migrate next`, replayed under a new delivery id, ran again: %d PRs, was %d", after, before)
	}
}

// TestReplayedSlackRequestsRunOnce: a signed slash command or button press
// holds for five minutes, and Slack sends a Socket Mode envelope again when
// its ack was late. Sent again with its trigger_id, a command or press is
// answered 200 and not run again: no second PR, no second answer.
func TestReplayedSlackRequestsRunOnce(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search")
	signed := func(u string, body []byte) (*http.Request, http.Header) {
		ts := unix(time.Now())
		req := post(t, u, body, map[string]string{"Content-Type": "application/x-www-form-urlencoded",
			"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": slackSig(h.SB.Secrets().SlackSigningSecret, ts, body)})
		return req, req.Header.Clone()
	}
	send := func(what string, u string, body []byte, hdr http.Header) {
		t.Helper()
		req := post(t, u, body, nil)
		req.Header = hdr.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: answered %d, want 200", what, resp.StatusCode)
		}
		h.Do("as alice") // runs what was queued
	}
	for _, c := range []struct{ what, url string }{
		{"/migrate next search", h.SB.BotURL() + "/slack/commands"},
		{"the Approve change button", h.SB.BotURL() + "/slack/interactions"},
	} {
		body := slackForm("U0ALICE", "next search")
		if c.url != h.SB.BotURL()+"/slack/commands" {
			body = slackPress("U0CAROL", "migrate:approve", "kprod/search")
		}
		_, hdr := signed(c.url, body)
		send(c.what, c.url, body, hdr)
		prs, msgs, m := len(h.SB.GitHub().PRs(envRepo)), len(h.SB.Slack().Messages()), h.migration()
		send(c.what+", sent again", c.url, body, hdr)
		if got := len(h.SB.GitHub().PRs(envRepo)); got != prs {
			t.Errorf("%s sent again: %d PRs, were %d", c.what, got, prs)
		}
		if got := h.SB.Slack().Messages(); len(got) != msgs {
			t.Errorf("%s sent again: %d Slack messages, were %d; the last: %q", c.what, len(got), msgs, got[len(got)-1].Text)
		}
		if got := h.migration(); got.Version != m.Version {
			t.Errorf("%s sent again changed the migration: version %d, was %d", c.what, got.Version, m.Version)
		}
	}
	if m := h.migration(); m.Open == nil || m.Open.Number != 1 || len(m.Open.Reviews) == 0 {
		t.Errorf("the command and the press did not run once: open change %+v", m.Open)
	}
}
