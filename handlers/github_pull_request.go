package handlers

import "github.com/migratebot/migratebot/bot"

// pullRequestJob: a closed PR (merged or not) moves its migration on; the
// bot does not act on other pull_request actions.
func pullRequestJob(ev *webhook) *bot.Job {
	if ev.Action != "closed" {
		return nil
	}
	pr := ev.PullRequest
	if pr == nil {
		pr = &pullRequest{} // no number: refused as incomplete
	}
	by := ev.Sender.login()
	if pr.Merged && pr.MergedBy.login() != "" {
		by = pr.MergedBy.login()
	}
	return &bot.Job{Kind: bot.JobPullRequest, PullRequest: &bot.PullRequestEvent{
		Repo: ev.Repository.fullName(), Number: pr.Number, Merged: pr.Merged,
		By: by, InstallationID: ev.Installation.id(),
	}}
}
