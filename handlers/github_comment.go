package handlers

import (
	"strings"

	"github.com/migratebot/migratebot/bot"
)

// commentJob: a new comment on a PR that starts with /migrate may be a
// command. Edits do not run a command twice, and other chatter is not
// queued at all; the engine checks the PR is the bot's and the author's
// rights.
func commentJob(ev *webhook) *bot.Job {
	if ev.Action != "created" || ev.Comment == nil || !ev.Issue.isPullRequest() ||
		!strings.HasPrefix(strings.TrimSpace(ev.Comment.Body), "/migrate") {
		return nil
	}
	user := ev.Comment.User
	return &bot.Job{Kind: bot.JobPRComment, PRComment: &bot.PRCommentEvent{
		Repo: ev.Repository.fullName(), Number: ev.Issue.number(), CommentID: ev.Comment.ID,
		Author: user.login(), Bot: user.isBot(), Body: ev.Comment.Body,
	}}
}
