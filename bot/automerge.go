package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/migratebot/migratebot/config"
)

// Auto-merge is off unless an environment turns it on. Then the bot merges
// its own PR once a change approver approved it on GitHub, nobody's latest
// review asks for changes, and every check of the head commit is green. It
// merges exactly the head it checked (GitHub refuses if it moved), and
// GitHub's branch protection still applies. While checks run, a timer looks
// again; the merge itself comes back as the usual merged webhook.

// How often auto-merge looks at checks again.
const (
	checksPendingEvery = time.Minute
	checksFailingEvery = 5 * time.Minute
)

// autoMerge merges c if it may, or says in c.AutoMerge why not yet. The
// caller holds the migration's lock and saves it.
func (e *Engine) autoMerge(ctx context.Context, m *Migration, c *Change, env *config.Environment) {
	if !env.AutoMerge || c.State != ChangeOpen || c.Number == 0 {
		return
	}
	if !c.Approved() {
		c.AutoMerge = "auto-merge waits for a change approver's approval on GitHub"
		return
	}
	checks, err := e.repos.PRChecks(ctx, c.Repo, c.Number)
	if err != nil {
		e.log.WarnContext(ctx, "could not read the PR's checks", "migration", m.ID, "pr", c.Number, "err", err)
		c.AutoMerge = "auto-merge could not read the checks; it looks again in a minute"
		e.scheduleMergeCheck(ctx, m, c, checksPendingEvery)
		return
	}
	switch checks.State {
	case ChecksPending:
		c.AutoMerge = "approved; auto-merge waits for checks: " + strings.Join(checks.Pending, ", ")
		e.scheduleMergeCheck(ctx, m, c, checksPendingEvery)
		return
	case ChecksFailing:
		c.AutoMerge = "approved, but checks fail: " + strings.Join(checks.Failing, ", ") + "; auto-merge waits for them to pass"
		e.scheduleMergeCheck(ctx, m, c, checksFailingEvery)
		return
	}
	title := fmt.Sprintf("%s: %s (auto-merged by migratebot)", m.Key.Service, c.Step)
	if err := e.repos.MergePR(ctx, c.Repo, c.Number, checks.SHA, title); err != nil {
		e.log.WarnContext(ctx, "auto-merge failed", "migration", m.ID, "pr", c.Number, "err", err)
		c.AutoMerge = fmt.Sprintf("auto-merge failed: %v; it looks again in a minute", err)
		e.scheduleMergeCheck(ctx, m, c, checksPendingEvery)
		return
	}
	e.log.InfoContext(ctx, "auto-merged", "migration", m.ID, "pr", c.Number, "sha", checks.SHA)
	c.AutoMerge = "approved and green: auto-merged by migratebot"
}

// scheduleMergeCheck sets a timer to try auto-merge again, unless one is
// already set.
func (e *Engine) scheduleMergeCheck(ctx context.Context, m *Migration, c *Change, after time.Duration) {
	now := e.clock.Now().UTC()
	if !c.MergeCheckAt.IsZero() && c.MergeCheckAt.After(now) {
		return
	}
	due := now.Add(after)
	t := Timer{Kind: TimerAutoMerge, Key: m.Key, Migration: m.ID, Due: due, Repo: c.Repo, Number: c.Number}
	if err := e.sched.Schedule(ctx, t); err != nil {
		e.log.ErrorContext(ctx, "could not schedule the auto-merge check", "migration", m.ID, "err", err)
		return
	}
	c.MergeCheckAt = due
}

// mergeCheckDue runs a due auto-merge check.
func (e *Engine) mergeCheckDue(ctx context.Context, m *Migration, t Timer) error {
	c := m.Open
	if c == nil || c.Repo != t.Repo || c.Number != t.Number {
		return nil // merged or closed meanwhile
	}
	_, env, ok := e.cfg.Lookup(m.Key.Service)
	if !ok {
		return nil
	}
	c.MergeCheckAt = time.Time{}
	before := c.AutoMerge
	e.autoMerge(ctx, m, c, env)
	if err := e.save(ctx, m); err != nil {
		return err
	}
	if c.AutoMerge != before {
		if err := e.postChange(ctx, m, c); err != nil {
			e.log.ErrorContext(ctx, "could not update the step message", "migration", m.ID, "err", err)
		}
	}
	return nil
}
