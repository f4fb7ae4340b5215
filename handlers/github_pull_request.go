package handlers

import (
	gh "github.com/google/go-github/v88/github"

	"github.com/migratebot/migratebot/bot"
)

// pullRequestJob: a closed PR (merged or not) moves its migration on; the
// bot does not act on other pull_request actions.
func pullRequestJob(ev *gh.PullRequestEvent) *bot.Job {
	if ev.GetAction() != "closed" {
		return nil
	}
	pr := ev.GetPullRequest()
	by := ev.GetSender().GetLogin()
	if pr.GetMerged() && pr.GetMergedBy().GetLogin() != "" {
		by = pr.GetMergedBy().GetLogin()
	}
	return &bot.Job{Kind: bot.JobPullRequest, PullRequest: &bot.PullRequestEvent{
		Repo: ev.GetRepo().GetFullName(), Number: pr.GetNumber(), Merged: pr.GetMerged(),
		By: by, InstallationID: ev.GetInstallation().GetID(),
	}}
}
