package handlers

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/migratebot/migratebot/bot"
)

// payloads are real GitHub webhook payloads, kept with the emulator whose
// webhooks are held to them.
const payloads = "../test/githubemu/testdata/github-webhooks/"

// recordingQueue keeps what the handler queued.
type recordingQueue struct{ jobs []bot.Job }

func (q *recordingQueue) Enqueue(_ context.Context, j bot.Job) error {
	q.jobs = append(q.jobs, j)
	return nil
}

func (q *recordingQueue) EnqueueDelivery(_ context.Context, _ string, j bot.Job) error {
	return q.Enqueue(context.Background(), j)
}

// payload reads a real payload and applies edit to its decoded JSON.
func payload(t *testing.T, name string, edit func(map[string]any)) []byte {
	t.Helper()
	data, err := os.ReadFile(payloads + name)
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return data
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	edit(v)
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func obj(v map[string]any, path ...string) map[string]any {
	for _, k := range path {
		v = v[k].(map[string]any)
	}
	return v
}

// TestGitHubEventsBecomeJobs: each real payload the bot acts on becomes
// the job the engine expects; what it does not act on is answered 202 and
// queues nothing.
func TestGitHubEventsBecomeJobs(t *testing.T) {
	const secret = "webhook-secret"
	prComment := func(body, userType string) func(map[string]any) {
		return func(v map[string]any) {
			obj(v, "issue")["pull_request"] = map[string]any{"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"}
			obj(v, "comment")["body"] = body
			obj(v, "comment", "user")["type"] = userType
		}
	}
	tests := []struct {
		name, event, file string
		edit              func(map[string]any)
		want              *bot.Job
	}{
		{name: "merged PR", event: "pull_request", file: "pull_request.closed.json",
			edit: func(v map[string]any) {
				obj(v, "pull_request")["merged"] = true
				obj(v, "pull_request")["merged_by"] = map[string]any{"login": "carol", "id": 7, "type": "User"}
			},
			want: &bot.Job{Kind: bot.JobPullRequest, PullRequest: &bot.PullRequestEvent{Repo: "Codertocat/Hello-World", Number: 2, Merged: true, By: "carol"}}},
		{name: "opened PR is not acted on", event: "pull_request", file: "pull_request.opened.json"},
		{name: "review submitted", event: "pull_request_review", file: "pull_request_review.submitted.json",
			edit: func(v map[string]any) { obj(v, "review")["state"] = "approved" },
			want: &bot.Job{Kind: bot.JobReview, Review: &bot.ReviewEvent{Repo: "Codertocat/Hello-World", Number: 2, ReviewID: 237895671, Reviewer: "Codertocat", State: "approved"}}},
		{name: "review dismissed", event: "pull_request_review", file: "pull_request_review.dismissed.json",
			want: &bot.Job{Kind: bot.JobReview, Review: &bot.ReviewEvent{Repo: "Codertocat/Hello-World", Number: 2, ReviewID: 237895671, Reviewer: "Codertocat", State: "dismissed"}}},
		{name: "review of a PR from a fork", event: "pull_request_review", file: "pull_request_review.submitted.json",
			edit: func(v map[string]any) { obj(v, "pull_request", "head", "repo")["full_name"] = "mallory/Hello-World" }},
		{name: "command in a PR comment", event: "issue_comment", file: "issue_comment.created.json", edit: prComment("/migrate next", "User"),
			want: &bot.Job{Kind: bot.JobPRComment, PRComment: &bot.PRCommentEvent{Repo: "Codertocat/Hello-World", Number: 1, CommentID: 492700400, Author: "Codertocat", Body: "/migrate next"}}},
		{name: "command by an app", event: "issue_comment", file: "issue_comment.created.json", edit: prComment("/migrate rollback", "Bot"),
			want: &bot.Job{Kind: bot.JobPRComment, PRComment: &bot.PRCommentEvent{Repo: "Codertocat/Hello-World", Number: 1, CommentID: 492700400, Author: "Codertocat", Bot: true, Body: "/migrate rollback"}}},
		{name: "chatter in a PR comment", event: "issue_comment", file: "issue_comment.created.json", edit: prComment("looks good", "User")},
		{name: "comment on an issue", event: "issue_comment", file: "issue_comment.created.json",
			edit: func(v map[string]any) { obj(v, "comment")["body"] = "/migrate next" }},
		{name: "edited comment", event: "issue_comment", file: "issue_comment.edited.json", edit: prComment("/migrate next", "User")},
		{name: "an event the bot does not handle", event: "installation", file: "installation.created.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &recordingQueue{}
			h := &GitHubWebhooks{Secret: secret, Queue: q, Log: slog.New(slog.DiscardHandler)}
			body := payload(t, tc.file, tc.edit)
			req := httptest.NewRequest(http.MethodPost, "/github/webhooks", strings.NewReader(string(body)))
			req.Header.Set("X-Hub-Signature-256", hubSignature(secret, string(body)))
			req.Header.Set("X-GitHub-Event", tc.event)
			req.Header.Set("X-GitHub-Delivery", "d-1")
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusAccepted {
				b, _ := io.ReadAll(rec.Body)
				t.Fatalf("status %d: %s", rec.Code, b)
			}
			if tc.want == nil {
				if len(q.jobs) != 0 {
					t.Fatalf("queued %+v, want nothing", q.jobs)
				}
				return
			}
			if len(q.jobs) != 1 {
				t.Fatalf("queued %d jobs, want 1", len(q.jobs))
			}
			tc.want.DeliveryID = "d-1"
			if pr := tc.want.PullRequest; pr != nil {
				pr.InstallationID = q.jobs[0].PullRequest.InstallationID
			}
			if diff := cmp.Diff(*tc.want, q.jobs[0]); diff != "" {
				t.Errorf("job (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMalformedHandledEventRefused: a signed body of an event the bot
// handles that is not GitHub's JSON, or lacks what the engine needs, is
// answered 400 saying what was wrong, counted as bad input, and queues
// nothing.
func TestMalformedHandledEventRefused(t *testing.T) {
	const secret = "webhook-secret"
	for _, tc := range []struct{ event, body, want string }{
		{"pull_request", `{"action":"closed","pull_request":[`, "malformed payload"},
		{"pull_request", `"closed"`, "malformed payload"},
		{"pull_request", `{"action":"closed","number":"two"}`, "malformed payload"},
		{"pull_request", ``, "malformed payload"},
		{"pull_request", `{"action":"closed","repository":{"full_name":"acme/envs"},"sender":{"login":"bob"}}`, "incomplete event: no number"},
		{"pull_request_review", `{"action":"submitted","repository":{"full_name":"acme/envs"},"pull_request":{"number":2,"head":{"repo":{"full_name":"acme/envs"}}}}`, "incomplete event: no id"},
		{"issue_comment", `{"action":"created","issue":{"number":2,"pull_request":{}},"comment":{"id":5,"body":"/migrate next","user":{"login":"bob"}}}`, "incomplete event: no repository"},
	} {
		q := &recordingQueue{}
		var outcomes []string
		h := &GitHubWebhooks{Secret: secret, Queue: q, Log: slog.New(slog.DiscardHandler),
			Intake: func(_, event, outcome string) { outcomes = append(outcomes, event+" "+outcome) }}
		req := httptest.NewRequest(http.MethodPost, "/github/webhooks", strings.NewReader(tc.body))
		req.Header.Set("X-Hub-Signature-256", hubSignature(secret, tc.body))
		req.Header.Set("X-GitHub-Event", tc.event)
		req.Header.Set("X-GitHub-Delivery", "d-1")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s %q: %d %s, want 400 %s", tc.event, tc.body, rec.Code, rec.Body, tc.want)
		}
		if len(q.jobs) != 0 {
			t.Errorf("%s %q queued %+v", tc.event, tc.body, q.jobs)
		}
		if want := []string{tc.event + " bad_input"}; !slices.Equal(outcomes, want) {
			t.Errorf("%s %q counted %v, want %v", tc.event, tc.body, outcomes, want)
		}
	}
}
