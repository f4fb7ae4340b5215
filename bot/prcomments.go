package bot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// prVerbs are the commands a PR comment may run.
var prVerbs = []Verb{VerbNext, VerbStatus, VerbRollback, "health"}

// PRComment runs a `/migrate` command written in a comment on one of the
// bot's PRs. Comments by apps, comments on other PRs and comments that are
// not commands are ignored. The commenter needs write access to the repo
// or to be a change approver; others get one answer saying why not.
func (e *Engine) PRComment(ctx context.Context, ev PRCommentEvent) error {
	line, _, _ := strings.Cut(strings.TrimSpace(ev.Body), "\n")
	line = strings.TrimSpace(line)
	if ev.Bot || !strings.HasPrefix(line, "/migrate") {
		return nil
	}
	key, err := e.store.FindPR(ctx, ev.Repo, ev.Number)
	if errors.Is(err, ErrNotFound) {
		return nil // not a PR the bot opened
	}
	if err != nil {
		return fmt.Errorf("find the migration of %s#%d: %w", ev.Repo, ev.Number, err)
	}
	log := e.log.With("repo", ev.Repo, "pr", ev.Number, "github_user", ev.Author, "command", line)
	req := CommandRequest{Source: "github", Repo: ev.Repo, Number: ev.Number, User: "github:" + ev.Author, Text: strings.TrimPrefix(line, "/migrate")}
	if err := e.repos.React(ctx, ev.Repo, ev.CommentID, "eyes"); err != nil {
		log.WarnContext(ctx, "could not react to the comment", "err", err)
	}
	_, env, _ := e.cfg.Lookup(key.Service)
	allowed := slices.Contains(env.People.GitHubApprovers, ev.Author)
	if !allowed {
		perm, err := e.repos.Permission(ctx, ev.Repo, ev.Author)
		if err != nil {
			return fmt.Errorf("check %s's permission: %w", ev.Author, err)
		}
		allowed = perm == "admin" || perm == "maintain" || perm == "write"
	}
	if !allowed {
		log.WarnContext(ctx, "unauthorized PR comment refused")
		return e.say(ctx, req, fmt.Sprintf("@%s: you may not run `%s` here. It needs write access to %s, or being a change approver of %s.", ev.Author, line, ev.Repo, key.Env))
	}
	cmd, err := ParseCommand(line)
	if err == nil {
		cmd.Service = key.Service
		err = e.runFromPR(ctx, req, key, cmd)
	}
	return e.answer(ctx, log, req, err)
}

func (e *Engine) runFromPR(ctx context.Context, req CommandRequest, key ServiceKey, cmd Command) error {
	switch cmd.Verb {
	case VerbNext:
		return e.advance(ctx, req, key, cmd, false)
	case VerbRollback:
		target := int64(0)
		if cmd.Weight != nil {
			target = *cmd.Weight
		}
		return e.rollback(ctx, req, key, target)
	case VerbStatus:
		return e.status(ctx, req, key)
	case "health":
		return refuse("Health summaries are not built yet: this PR's thread in Slack shows the step.")
	}
	names := make([]string, len(prVerbs))
	for i, v := range prVerbs {
		names[i] = "`/migrate " + string(v) + "`"
	}
	return refuse("`/migrate %s` works in Slack only. In a PR comment: %s.", cmd.Verb, strings.Join(names, ", "))
}

var slackLink = regexp.MustCompile(`<(https?://[^|>]+)\|([^>]+)>`)

// prReply answers in the bot's one comment on the PR, edited in place.
func (e *Engine) prReply(ctx context.Context, req CommandRequest, text string) error {
	body := slackLink.ReplaceAllString(text, "[$2]($1)")
	id, err := e.store.PRComment(ctx, req.Repo, req.Number)
	if err != nil {
		return err
	}
	newID, err := e.repos.Comment(ctx, req.Repo, req.Number, id, "**migratebot**: "+body)
	if err != nil {
		return err
	}
	if newID != id {
		return e.store.SetPRComment(ctx, req.Repo, req.Number, newID)
	}
	return nil
}
