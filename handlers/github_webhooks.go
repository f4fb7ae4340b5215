package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v88/github"

	"github.com/migratebot/migratebot/bot"
)

// HandledEvents are the GitHub events the bot acts on; app.yaml must
// subscribe to each (a test checks).
var HandledEvents = []string{"pull_request", "pull_request_review", "issue_comment"}

// GitHubWebhooks answers GitHub's webhook deliveries: it checks
// X-Hub-Signature-256 before reading anything, queues the events the bot
// acts on once per X-GitHub-Delivery, and answers the rest with 202.
type GitHubWebhooks struct {
	Secret string
	Queue  bot.Queue
	// Installations learns which installation owns which account.
	Installations interface{ RememberInstallation(owner string, id int64) }
	Log           *slog.Logger
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
	payload, err := gh.ValidatePayload(r, []byte(h.Secret))
	if err != nil {
		log.WarnContext(r.Context(), "rejected a webhook", "remote", r.RemoteAddr, "reason", err.Error())
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	parsed, err := gh.ParseWebHook(event, payload)
	if err != nil {
		// Signed by GitHub but of a type go-github does not know: nothing
		// the bot acts on.
		log.InfoContext(r.Context(), "ignored an unknown event", "err", err)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	var job *bot.Job
	switch ev := parsed.(type) {
	case *gh.PingEvent:
		log.InfoContext(r.Context(), "ping", "hook_id", ev.GetHookID())
		w.WriteHeader(http.StatusOK)
		return
	case *gh.PullRequestEvent:
		log = log.With("installation_id", ev.GetInstallation().GetID(), "repo", ev.GetRepo().GetFullName(), "pr", ev.GetNumber())
		h.remember(ev.GetRepo(), ev.GetInstallation())
		if ev.GetAction() == "closed" {
			pr := ev.GetPullRequest()
			by := ev.GetSender().GetLogin()
			if pr.GetMerged() && pr.GetMergedBy().GetLogin() != "" {
				by = pr.GetMergedBy().GetLogin()
			}
			job = &bot.Job{Kind: bot.JobPullRequest, DeliveryID: delivery, PullRequest: &bot.PullRequestEvent{
				Repo: ev.GetRepo().GetFullName(), Number: pr.GetNumber(), Merged: pr.GetMerged(),
				By: by, InstallationID: ev.GetInstallation().GetID(),
			}}
		}
	case *gh.PullRequestReviewEvent:
		log = log.With("installation_id", ev.GetInstallation().GetID(), "repo", ev.GetRepo().GetFullName(), "pr", ev.GetPullRequest().GetNumber())
		h.remember(ev.GetRepo(), ev.GetInstallation())
		state := strings.ToLower(ev.GetReview().GetState())
		if ev.GetAction() == "dismissed" {
			state = "dismissed"
		}
		if ev.GetAction() == "submitted" || ev.GetAction() == "dismissed" {
			job = &bot.Job{Kind: bot.JobReview, DeliveryID: delivery, Review: &bot.ReviewEvent{
				Repo: ev.GetRepo().GetFullName(), Number: ev.GetPullRequest().GetNumber(), ReviewID: ev.GetReview().GetID(),
				Reviewer: ev.GetReview().GetUser().GetLogin(), Bot: ev.GetReview().GetUser().GetType() == "Bot", State: state,
			}}
		}
	case *gh.IssueCommentEvent:
		log = log.With("installation_id", ev.GetInstallation().GetID(), "repo", ev.GetRepo().GetFullName(), "pr", ev.GetIssue().GetNumber())
		h.remember(ev.GetRepo(), ev.GetInstallation())
		// Only new comments on PRs that start with the command: edits do
		// not run a command twice, and chatter is not queued at all.
		if ev.GetAction() == "created" && ev.GetIssue().IsPullRequest() && strings.HasPrefix(strings.TrimSpace(ev.GetComment().GetBody()), "/migrate") {
			job = &bot.Job{Kind: bot.JobPRComment, DeliveryID: delivery, PRComment: &bot.PRCommentEvent{
				Repo: ev.GetRepo().GetFullName(), Number: ev.GetIssue().GetNumber(), CommentID: ev.GetComment().GetID(),
				Author: ev.GetComment().GetUser().GetLogin(), Bot: ev.GetComment().GetUser().GetType() == "Bot" || strings.HasSuffix(ev.GetComment().GetUser().GetLogin(), "[bot]"),
				Body: ev.GetComment().GetBody(),
			}}
		}
	}
	if job == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	err = h.Queue.EnqueueDelivery(r.Context(), delivery, *job)
	switch {
	case errors.Is(err, bot.ErrDuplicate):
		log.InfoContext(r.Context(), "redelivery ignored")
		w.WriteHeader(http.StatusOK)
	case err != nil:
		// 5xx: GitHub marks the delivery failed and it can be redelivered.
		log.ErrorContext(r.Context(), "could not queue a webhook", "err", err)
		http.Error(w, "queue unavailable", http.StatusServiceUnavailable)
	default:
		log.InfoContext(r.Context(), "webhook queued", "kind", job.Kind)
		w.WriteHeader(http.StatusAccepted)
	}
}

func (h *GitHubWebhooks) remember(repo *gh.Repository, inst *gh.Installation) {
	if h.Installations != nil && inst.GetID() != 0 && repo.GetOwner().GetLogin() != "" {
		h.Installations.RememberInstallation(repo.GetOwner().GetLogin(), inst.GetID())
	}
}
