package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	gh "github.com/google/go-github/v88/github"

	"github.com/migratebot/migratebot/bot"
)

// HandledEvents are the GitHub events the bot acts on; app.yaml must
// subscribe to each (a test checks).
var HandledEvents = []string{"pull_request", "pull_request_review", "issue_comment"}

// GitHubWebhooks answers GitHub's webhook deliveries: it checks
// X-Hub-Signature-256 before reading anything, queues the events the bot
// acts on once per X-GitHub-Delivery (a comment once per comment), and
// answers the rest with 202.
type GitHubWebhooks struct {
	Secret string
	Queue  bot.Queue
	// Installations learns which installation owns which account.
	Installations interface{ RememberInstallation(owner string, id int64) }
	Log           *slog.Logger
	// Intake counts deliveries by event and outcome (queued, duplicate,
	// ignored, rejected); nil counts nothing.
	Intake func(source, event, outcome string)
}

func (h *GitHubWebhooks) count(event, outcome string) {
	if h.Intake != nil {
		h.Intake("github", event, outcome)
	}
}

func (h *GitHubWebhooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	delivery := gh.DeliveryID(r)
	event := gh.WebHookType(r)
	log := h.Log.With("delivery_id", delivery, "event", event)
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 25<<20)
	var body []byte
	err := errors.New("no webhook secret is configured") // go-github takes anything unsigned without one
	if h.Secret != "" {
		body, err = gh.ValidatePayload(r, []byte(h.Secret))
	}
	if err != nil {
		log.WarnContext(r.Context(), "rejected a webhook", "remote", r.RemoteAddr, "reason", err.Error())
		h.count("unknown", "rejected")
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	if event == "ping" {
		// Sent when the hook is created: nothing to do but say so.
		log.InfoContext(r.Context(), "ping")
		w.WriteHeader(http.StatusOK)
		return
	}
	if !slices.Contains(HandledEvents, event) {
		h.count("other", "ignored") // a bounded label
		w.WriteHeader(http.StatusAccepted)
		return
	}
	ev, err := decodePayload(body)
	if err != nil {
		// Signed, but not JSON of GitHub's shape.
		log.WarnContext(r.Context(), "malformed webhook", "err", err)
		h.count(event, "bad_input")
		http.Error(w, "malformed payload: "+err.Error(), http.StatusBadRequest)
		return
	}
	var job *bot.Job
	switch event {
	case "pull_request":
		log = h.scope(log, ev, ev.PullRequest.number())
		job = pullRequestJob(ev)
	case "pull_request_review":
		log = h.scope(log, ev, ev.PullRequest.number())
		job = reviewJob(ev)
	case "issue_comment":
		log = h.scope(log, ev, ev.Issue.number())
		job = commentJob(ev)
	}
	if job == nil {
		h.count(event, "ignored")
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if lack := incomplete(job); lack != "" {
		// Signed, but not an event GitHub sends: the engine could not find
		// its PR or say who acted.
		log.WarnContext(r.Context(), "incomplete webhook", "kind", job.Kind, "lacks", lack)
		h.count(event, "bad_input")
		http.Error(w, "incomplete event: no "+lack, http.StatusBadRequest)
		return
	}
	job.DeliveryID = delivery
	once := delivery
	if c := job.PRComment; c != nil {
		// A comment is created once. The signature does not cover
		// X-GitHub-Delivery: a signed delivery sent again under a new id is
		// still that comment, and must not run its command twice.
		once = fmt.Sprintf("comment:%s:%d", c.Repo, c.CommentID)
	}
	err = h.Queue.EnqueueDelivery(r.Context(), once, *job)
	switch {
	case errors.Is(err, bot.ErrDuplicate):
		log.InfoContext(r.Context(), "redelivery ignored")
		h.count(event, "duplicate")
		w.WriteHeader(http.StatusOK)
	case err != nil:
		// 5xx: GitHub marks the delivery failed and it can be redelivered.
		log.ErrorContext(r.Context(), "could not queue a webhook", "err", err)
		http.Error(w, "queue unavailable", http.StatusServiceUnavailable)
		h.count(event, "failed")
	default:
		h.count(event, "queued")
		log.InfoContext(r.Context(), "webhook queued", "kind", job.Kind)
		w.WriteHeader(http.StatusAccepted)
	}
}

// scope learns the event's installation and puts its ids on the logger.
func (h *GitHubWebhooks) scope(log *slog.Logger, ev *webhook, number int) *slog.Logger {
	inst, owner := ev.Installation.id(), ev.Repository.ownerLogin()
	if h.Installations != nil && inst != 0 && owner != "" {
		h.Installations.RememberInstallation(owner, inst)
	}
	return log.With("installation_id", inst, "repo", ev.Repository.fullName(), "pr", number)
}

// incomplete names what a job made from an event lacks of what the engine
// needs (the PR by repo and number, who acted), or "" when it lacks nothing.
func incomplete(job *bot.Job) string {
	var repo, who string
	var number int
	id := int64(1) // a closed PR has no id of its own to check
	switch {
	case job.PullRequest != nil:
		repo, number, who = job.PullRequest.Repo, job.PullRequest.Number, job.PullRequest.By
	case job.Review != nil:
		repo, number, who, id = job.Review.Repo, job.Review.Number, job.Review.Reviewer, job.Review.ReviewID
	case job.PRComment != nil:
		repo, number, who, id = job.PRComment.Repo, job.PRComment.Number, job.PRComment.Author, job.PRComment.CommentID
	}
	owner, name, _ := strings.Cut(repo, "/")
	switch {
	case owner == "" || name == "" || strings.Contains(name, "/"):
		return "repository"
	case number <= 0:
		return "number"
	case id <= 0:
		return "id"
	case who == "":
		return "login"
	}
	return ""
}
