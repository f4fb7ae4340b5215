package handlers

import (
	"strings"

	"github.com/migratebot/migratebot/bot"
)

// reviewJob: a submitted or dismissed review shows in the step's message
// and on its ticket. Reviews of PRs from forks are never about the bot's
// PRs and are not queued.
func reviewJob(ev *webhook) *bot.Job {
	if ev.Action != "submitted" && ev.Action != "dismissed" {
		return nil
	}
	rv := ev.Review
	if rv == nil {
		rv = &review{} // no id: refused as incomplete
	}
	if ev.PullRequest.headRepo() != ev.Repository.fullName() {
		return nil
	}
	state := strings.ToLower(rv.State)
	if ev.Action == "dismissed" {
		state = "dismissed"
	}
	user := rv.User
	return &bot.Job{Kind: bot.JobReview, Review: &bot.ReviewEvent{
		Repo: ev.Repository.fullName(), Number: ev.PullRequest.number(), ReviewID: rv.ID,
		Reviewer: user.login(), Bot: user.isBot(), State: state,
	}}
}
