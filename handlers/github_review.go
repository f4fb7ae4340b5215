package handlers

import (
	"strings"

	gh "github.com/google/go-github/v88/github"

	"github.com/migratebot/migratebot/bot"
)

// reviewJob: a submitted or dismissed review shows in the step's message
// and on its ticket. Reviews of PRs from forks are never about the bot's
// PRs and are not queued.
func reviewJob(ev *gh.PullRequestReviewEvent) *bot.Job {
	action := ev.GetAction()
	if action != "submitted" && action != "dismissed" {
		return nil
	}
	if ev.GetPullRequest().GetHead().GetRepo().GetFullName() != ev.GetRepo().GetFullName() {
		return nil
	}
	state := strings.ToLower(ev.GetReview().GetState())
	if action == "dismissed" {
		state = "dismissed"
	}
	user := ev.GetReview().GetUser()
	return &bot.Job{Kind: bot.JobReview, Review: &bot.ReviewEvent{
		Repo: ev.GetRepo().GetFullName(), Number: ev.GetPullRequest().GetNumber(), ReviewID: ev.GetReview().GetID(),
		Reviewer: user.GetLogin(), Bot: isBot(user), State: state,
	}}
}

// isBot reports whether a GitHub account is an app, the bot itself included.
func isBot(u *gh.User) bool {
	return u.GetType() == "Bot" || strings.HasSuffix(u.GetLogin(), "[bot]")
}
