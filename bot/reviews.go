package bot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Review records a review of a bot PR: the step's message and its ticket
// show it, once. Reviews by apps (the bot's own among them) never count.
// With auto-merge on, a change approver's approval may merge the PR.
func (e *Engine) Review(ctx context.Context, ev ReviewEvent) error {
	log := e.log.With("repo", ev.Repo, "pr", ev.Number, "reviewer", ev.Reviewer)
	if ev.Bot {
		log.InfoContext(ctx, "ignored a review by an app")
		return nil
	}
	if ev.State != "approved" && ev.State != "changes_requested" && ev.State != "dismissed" {
		return nil // a comment-only review changes nothing
	}
	key, err := e.store.FindPR(ctx, ev.Repo, ev.Number)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find the migration of %s#%d: %w", ev.Repo, ev.Number, err)
	}
	unlock, err := e.waitLock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := e.store.Load(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", key, err)
	}
	// The change may have merged already: a review and the merge can
	// arrive together, and the review still belongs on its change and
	// ticket.
	c := m.findChange(ev.Repo, ev.Number)
	if c == nil {
		return nil
	}
	if r, ok := c.Reviews[ev.Reviewer]; ok && r.State == ev.State {
		log.InfoContext(ctx, "review already recorded", "state", ev.State)
		return nil
	}
	_, env, _ := e.cfg.Lookup(key.Service)
	approver, err := e.isGitHubApprover(ctx, env, c, ev.Reviewer)
	if err != nil {
		return err
	}
	if c.Reviews == nil {
		c.Reviews = map[string]Review{}
	}
	c.Reviews[ev.Reviewer] = Review{State: ev.State, Approver: approver}
	switch {
	case ev.State == "approved" && approver:
		e.wantTicket(ctx, m, c, TicketApproved, fmt.Sprintf("Approved by %s, a change approver, on GitHub (%s).", ev.Reviewer, c.URL))
	case ev.State == "approved":
		e.wantTicket(ctx, m, c, "", fmt.Sprintf("Approved by %s on GitHub; not a change approver of %s, so it does not count.", ev.Reviewer, key.Env))
	case ev.State == "changes_requested":
		e.wantTicket(ctx, m, c, "", fmt.Sprintf("Changes requested by %s on GitHub (%s).", ev.Reviewer, c.URL))
	case ev.State == "dismissed":
		e.wantTicket(ctx, m, c, "", fmt.Sprintf("The review by %s was dismissed.", ev.Reviewer))
	}
	e.autoMerge(ctx, m, c, env)
	if err := e.save(ctx, m); err != nil {
		return err
	}
	log.InfoContext(ctx, "review recorded", "state", ev.State, "approver", approver)
	if err := e.postChange(ctx, m, c); err != nil {
		log.ErrorContext(ctx, "could not update the step message", "err", err)
	}
	return nil
}

// reviewText sums up a change's reviews for its Slack message.
func reviewText(c *Change) string {
	var approved, notCounted, changes []string
	for _, who := range slices.Sorted(maps.Keys(c.Reviews)) {
		r := c.Reviews[who]
		name := who
		if id, ok := strings.CutPrefix(who, "slack:"); ok {
			name = "<@" + id + "> in Slack"
		}
		switch {
		case r.State == "approved" && r.Approver:
			approved = append(approved, name)
		case r.State == "approved":
			notCounted = append(notCounted, name)
		case r.State == "changes_requested":
			changes = append(changes, name)
		}
	}
	var parts []string
	if len(approved) > 0 {
		parts = append(parts, "✅ approved by "+strings.Join(approved, ", "))
	}
	if len(notCounted) > 0 {
		parts = append(parts, "approved by "+strings.Join(notCounted, ", ")+" (not a change approver)")
	}
	if len(changes) > 0 {
		parts = append(parts, "✋ changes requested by "+strings.Join(changes, ", "))
	}
	return strings.Join(parts, " · ")
}
