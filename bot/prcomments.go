package bot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/migratebot/migratebot/config"
)

// prVerbs are the commands a PR comment may run.
var prVerbs = []Verb{VerbNext, VerbStatus, VerbRollback, VerbHealth}

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
	_, env, ok := e.cfg.Lookup(key.Service)
	if !ok {
		return e.say(ctx, req, fmt.Sprintf("%s is no longer configured in migratebot.", key.Service))
	}
	allowed, err := e.mayComment(ctx, env, key, ev)
	if err != nil {
		return fmt.Errorf("check %s's rights: %w", ev.Author, err)
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
	if err == nil && (cmd.Verb == VerbNext || cmd.Verb == VerbRollback) {
		err = e.saySince(ctx, req, key, cmd)
	}
	return e.answer(ctx, log, req, err)
}

// mayComment reports whether a PR comment's author may run commands: write
// access to the repo, or a change approver of the PR's change.
func (e *Engine) mayComment(ctx context.Context, env *config.Environment, key ServiceKey, ev PRCommentEvent) (bool, error) {
	c := &Change{Repo: ev.Repo}
	if m, err := e.store.Load(ctx, key); err == nil {
		if found := m.findChange(ev.Repo, ev.Number); found != nil {
			c = found
		}
	}
	if ok, err := e.isGitHubApprover(ctx, env, c, ev.Author); err != nil || ok {
		return ok, err
	}
	perm, err := e.repos.Permission(ctx, ev.Repo, ev.Author)
	if err != nil {
		return false, err
	}
	return perm == "admin" || perm == "maintain" || perm == "write", nil
}

// saySince answers a PR comment that opened a PR with its link.
func (e *Engine) saySince(ctx context.Context, req CommandRequest, key ServiceKey, cmd Command) error {
	m, err := e.store.Load(ctx, key)
	if err != nil || m.Open == nil || m.Open.Number == 0 {
		return nil // nothing opened (the answer was a message already)
	}
	c := m.Open
	text := fmt.Sprintf("`/migrate %s`: opened [PR #%d](%s) for %s", cmd.Verb, c.Number, c.URL, c.Step)
	if c.From != c.To {
		text += fmt.Sprintf(", %s → %s", c.From, c.To)
	}
	return e.prReply(ctx, req, text+". The migration's Slack thread follows it.")
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
	case VerbHealth:
		return e.healthNow(ctx, req, key)
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
	return e.botComment(ctx, req.Repo, req.Number, commentReply, "**migratebot**: "+slackLink.ReplaceAllString(text, "[$2]($1)"))
}

// The bot's comments on a PR: one of each kind.
const (
	commentReply  = "reply"
	commentHealth = "health"
)

// botComment writes the bot's one comment of a kind on a PR: posted the
// first time, edited in place after.
func (e *Engine) botComment(ctx context.Context, repo string, number int, kind, body string) error {
	id, err := e.store.PRComment(ctx, repo, number, kind)
	if err != nil {
		return err
	}
	newID, err := e.repos.Comment(ctx, repo, number, id, body)
	if err != nil {
		return err
	}
	if newID != id {
		return e.store.SetPRComment(ctx, repo, number, kind, newID)
	}
	return nil
}
