package handlers

import (
	"strings"

	gh "github.com/google/go-github/v88/github"

	"github.com/migratebot/migratebot/bot"
)

// commentJob: a new comment on a PR that starts with /migrate may be a
// command. Edits do not run a command twice, and other chatter is not
// queued at all; the engine checks the PR is the bot's and the author's
// rights.
func commentJob(ev *gh.IssueCommentEvent) *bot.Job {
	body := ev.GetComment().GetBody()
	// Issue.IsPullRequest has a value receiver: it panics on a nil issue.
	if ev.GetAction() != "created" || ev.GetIssue() == nil || !ev.GetIssue().IsPullRequest() || !strings.HasPrefix(strings.TrimSpace(body), "/migrate") {
		return nil
	}
	user := ev.GetComment().GetUser()
	return &bot.Job{Kind: bot.JobPRComment, PRComment: &bot.PRCommentEvent{
		Repo: ev.GetRepo().GetFullName(), Number: ev.GetIssue().GetNumber(), CommentID: ev.GetComment().GetID(),
		Author: user.GetLogin(), Bot: isBot(user), Body: body,
	}}
}
