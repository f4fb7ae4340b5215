package handlers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	goslack "github.com/slack-go/slack"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/config"
)

// The fuzz targets below sign every request correctly, so what they reach
// is the decoding behind the signature checks: the input a compromised or
// buggy sender could still hand the bot. Their seeds are files under
// testdata/fuzz/<Target>/: the real GitHub payloads of
// ../test/githubemu/testdata/github-webhooks/ (as they are and edited into
// the events the bot acts on), and Slack's slash-command forms and
// block_actions payloads as the Slack emulator sends them.

const fuzzSecret = "fuzz-signing-secret"

// jobKindOf is the only job kind each handled event may queue.
var jobKindOf = map[string]bot.JobKind{
	"pull_request":        bot.JobPullRequest,
	"pull_request_review": bot.JobReview,
	"issue_comment":       bot.JobPRComment,
}

// installations records what the handler learned, and checks it is sane.
type installations struct{ t *testing.T }

func (i installations) RememberInstallation(owner string, id int64) {
	if owner == "" || id == 0 {
		i.t.Errorf("remembered installation %d of %q", id, owner)
	}
}

// FuzzGitHubWebhook: whatever the event name and body of a correctly
// signed delivery, the handler does not panic, answers 2xx or 4xx, queues
// at most one job and only for an event it handles, of that event's kind,
// with the fields the engine needs to find the PR.
func FuzzGitHubWebhook(f *testing.F) {
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		q := &recordingQueue{}
		h := &GitHubWebhooks{Secret: fuzzSecret, Queue: q, Installations: installations{t}, Log: slog.New(slog.DiscardHandler)}
		req := httptest.NewRequest(http.MethodPost, "/github/webhooks", bytes.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", hubSignature(fuzzSecret, string(body)))
		req.Header.Set("X-GitHub-Event", event)
		req.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		if rec.Code == http.StatusUnauthorized {
			t.Fatalf("a correctly signed delivery was refused: %s", rec.Body)
		}
		if rec.Code < 200 || rec.Code >= 500 || (rec.Code >= 300 && rec.Code < 400) {
			t.Fatalf("status %d, want 2xx or 4xx: %s", rec.Code, rec.Body)
		}
		if len(q.jobs) == 0 {
			return
		}
		if len(q.jobs) > 1 {
			t.Fatalf("one delivery queued %d jobs", len(q.jobs))
		}
		if rec.Code != http.StatusAccepted {
			t.Errorf("queued a job but answered %d", rec.Code)
		}
		job := q.jobs[0]
		want, handled := jobKindOf[event]
		if !handled {
			t.Fatalf("event %q is not handled but queued %+v", event, job)
		}
		if job.Kind != want {
			t.Fatalf("event %q queued a %s job", event, job.Kind)
		}
		if job.DeliveryID == "" {
			t.Error("job without its delivery id")
		}
		if err := checkJobFields(job); err != nil {
			queued, _ := json.Marshal(job)
			t.Fatalf("%v: %s", err, queued)
		}
	})
}

// checkJobFields reports what a queued GitHub job lacks: the engine finds
// the migration by repo and PR number, and who did what by login.
func checkJobFields(job bot.Job) error {
	validRepo := func(r string) bool {
		owner, name, ok := strings.Cut(r, "/")
		return ok && owner != "" && name != "" && !strings.Contains(name, "/")
	}
	switch job.Kind {
	case bot.JobPullRequest:
		e := job.PullRequest
		switch {
		case e == nil:
			return errors.New("pull_request job without its event")
		case !validRepo(e.Repo) || e.Number <= 0:
			return errors.New("pull_request job without its repo and number")
		case e.By == "":
			return errors.New("pull_request job without who closed it")
		}
	case bot.JobReview:
		e := job.Review
		switch {
		case e == nil:
			return errors.New("review job without its event")
		case !validRepo(e.Repo) || e.Number <= 0:
			return errors.New("review job without its repo and number")
		case e.ReviewID <= 0 || e.Reviewer == "":
			return errors.New("review job without its review id and reviewer")
		}
	case bot.JobPRComment:
		e := job.PRComment
		switch {
		case e == nil:
			return errors.New("comment job without its event")
		case !validRepo(e.Repo) || e.Number <= 0:
			return errors.New("comment job without its repo and number")
		case e.CommentID <= 0 || e.Author == "":
			return errors.New("comment job without its comment id and author")
		case !strings.HasPrefix(strings.TrimSpace(e.Body), "/migrate"):
			return errors.New("comment job that is no command")
		}
	default:
		return errors.New("a GitHub job of kind " + string(job.Kind))
	}
	return nil
}

// signedSlack is a POST of a form body signed now with fuzzSecret, as
// Slack sends it.
func signedSlack(path string, body []byte) *http.Request { return signedWith(fuzzSecret, path, body) }

// hubSignature is GitHub's X-Hub-Signature-256 of body with secret.
func hubSignature(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	io.WriteString(mac, body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// signedWith is a POST of a form body signed now with secret.
func signedWith(secret, path string, body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	io.WriteString(mac, "v0:"+ts+":")
	mac.Write(body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return req
}

// fuzzConfig names the services commands may name.
var fuzzConfig = &config.Config{Services: map[string]*config.Service{"web-api": {}, "search": {}}}

// FuzzSlackCommand: whatever the form of a correctly signed slash command,
// the handler does not panic and either answers the user alone (bad input,
// help) and queues nothing, or queues one command that parses, names a
// configured service or none, and carries who sent it from where.
func FuzzSlackCommand(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		q := &recordingQueue{}
		h := &SlackCommands{Secret: fuzzSecret, Config: fuzzConfig, Queue: q, Log: slog.New(slog.DiscardHandler)}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, signedSlack("/slack/commands", body))

		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest:
			if len(q.jobs) != 0 {
				t.Fatalf("answered 400 and queued %+v", q.jobs)
			}
			return
		default:
			t.Fatalf("status %d, want 200 or 400: %s", rec.Code, rec.Body)
		}
		if rec.Body.Len() > 0 {
			var reply goslack.Msg
			if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
				t.Fatalf("answer %q is not a message: %v", rec.Body, err)
			}
			if reply.ResponseType != goslack.ResponseTypeEphemeral || reply.Text == "" {
				t.Fatalf("answer %+v is not for the user alone", reply)
			}
			if len(q.jobs) != 0 {
				t.Fatalf("answered %q and queued %+v", reply.Text, q.jobs)
			}
			return
		}
		if len(q.jobs) != 1 {
			t.Fatalf("answered nothing and queued %d jobs", len(q.jobs))
		}
		form, _ := url.ParseQuery(string(body)) // it parsed, or the answer was 400
		checkQueuedCommand(t, q.jobs[0], form.Get("user_id"), form.Get("channel_id"), form.Get("team_id"))
		if got, want := q.jobs[0].Command.Text, form.Get("text"); got != want {
			t.Errorf("queued text %q, sent %q", got, want)
		}
		cmd, _ := bot.ParseCommand(q.jobs[0].Command.Text)
		if cmd.Verb == bot.VerbHelp {
			t.Error("help was queued instead of answered")
		}
		if cmd.Service != "" && fuzzConfig.Services[cmd.Service] == nil {
			t.Errorf("queued a command for the unconfigured service %q", cmd.Service)
		}
	})
}

// checkQueuedCommand: a queued Slack command parses, names its service (if
// any) by a valid name, and carries who sent it from where.
func checkQueuedCommand(t *testing.T, job bot.Job, user, channel, team string) {
	t.Helper()
	c := job.Command
	if job.Kind != bot.JobCommand || c == nil {
		t.Fatalf("queued %+v, want a command", job)
	}
	if c.Source != "" || c.Repo != "" || c.Number != 0 {
		t.Errorf("a Slack command queued as from GitHub: %+v", c)
	}
	if c.User == "" || c.Channel == "" || c.Team == "" {
		t.Errorf("queued a command without its user, channel or team: %+v", c)
	}
	if c.User != user || c.Channel != channel || c.Team != team {
		t.Errorf("queued as %s in %s of %s, sent by %s in %s of %s", c.User, c.Channel, c.Team, user, channel, team)
	}
	if _, err := bot.ParseCommand(c.Text); err != nil {
		t.Errorf("queued %q, which does not parse: %v", c.Text, err)
	}
	if c.Service != "" && !bot.ValidServiceName(c.Service) {
		t.Errorf("queued the service %q, which is no service name", c.Service)
	}
}

// FuzzSlackInteraction: whatever the payload of a correctly signed
// interaction, the handler does not panic, answers 200 or 400, and queues
// only presses of migratebot's buttons, each a command that parses for a
// validly named service, as the user who pressed it.
func FuzzSlackInteraction(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload string) {
		q := &recordingQueue{}
		h := &SlackInteractions{Secret: fuzzSecret, Queue: q, Log: slog.New(slog.DiscardHandler)}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, signedSlack("/slack/interactions", []byte(url.Values{"payload": {payload}}.Encode())))

		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest:
			if len(q.jobs) != 0 {
				t.Fatalf("answered 400 and queued %+v", q.jobs)
			}
			return
		default:
			t.Fatalf("status %d, want 200 or 400: %s", rec.Code, rec.Body)
		}
		if len(q.jobs) == 0 {
			return
		}
		var cb goslack.InteractionCallback
		if err := json.Unmarshal([]byte(payload), &cb); err != nil {
			t.Fatalf("queued %+v from a payload that does not decode: %v", q.jobs, err)
		}
		if cb.Type != goslack.InteractionTypeBlockActions {
			t.Fatalf("a %q interaction queued %+v", cb.Type, q.jobs)
		}
		presses := 0
		for _, a := range cb.ActionCallback.BlockActions {
			if strings.HasPrefix(a.ActionID, "migrate:") {
				presses++
			}
		}
		if len(q.jobs) > presses {
			t.Fatalf("%d migratebot buttons pressed, %d jobs queued", presses, len(q.jobs))
		}
		for _, job := range q.jobs {
			checkQueuedCommand(t, job, cb.User.ID, cb.Channel.ID, cb.Team.ID)
			if job.Command.Service == "" {
				t.Errorf("a press queued without its migration: %+v", job.Command)
			}
		}
	})
}

// FuzzWebhookDecode: the webhook handler decodes with segmentio's
// encoding/json for speed; whatever the body, it must answer as the
// standard library would: the same error or not, and the same fields.
func FuzzWebhookDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var want webhook
		wantErr := json.Unmarshal(body, &want)
		got, err := decodePayload(body)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("decode error %v, the standard library's %v", err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(*got, want) {
			t.Fatalf("decoded %+v, the standard library %+v", *got, want)
		}
	})
}
