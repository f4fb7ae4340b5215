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
// show it, once. The bot's own reviews never count.
func (e *Engine) Review(ctx context.Context, ev ReviewEvent) error {
	log := e.log.With("repo", ev.Repo, "pr", ev.Number, "reviewer", ev.Reviewer)
	if ev.Bot {
		log.InfoContext(ctx, "ignored a review by an app")
		return nil
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
	c := m.Open
	if c == nil || c.Repo != ev.Repo || c.Number != ev.Number || ev.State == "commented" {
		return nil
	}
	if c.Approvals == nil {
		c.Approvals = map[string]string{}
	}
	if c.Approvals[ev.Reviewer] == ev.State {
		log.InfoContext(ctx, "review already recorded", "state", ev.State)
		return nil
	}
	c.Approvals[ev.Reviewer] = ev.State
	_, env, _ := e.cfg.Lookup(key.Service)
	approver := slices.Contains(env.People.GitHubApprovers, ev.Reviewer)
	switch {
	case ev.State == "approved" && approver:
		e.wantTicket(ctx, m, c, TicketApproved, fmt.Sprintf("Approved by %s, a change approver, on GitHub (%s).", ev.Reviewer, c.URL))
	case ev.State == "approved":
		e.wantTicket(ctx, m, c, "", fmt.Sprintf("Approved by %s on GitHub; not a change approver of %s.", ev.Reviewer, key.Env))
	case ev.State == "changes_requested":
		e.wantTicket(ctx, m, c, "", fmt.Sprintf("Changes requested by %s on GitHub (%s).", ev.Reviewer, c.URL))
	case ev.State == "dismissed":
		e.wantTicket(ctx, m, c, "", fmt.Sprintf("The review by %s was dismissed.", ev.Reviewer))
	}
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
	byState := map[string][]string{}
	for _, who := range slices.Sorted(maps.Keys(c.Approvals)) {
		byState[c.Approvals[who]] = append(byState[c.Approvals[who]], who)
	}
	var parts []string
	if w := byState["approved"]; len(w) > 0 {
		parts = append(parts, "✅ approved by "+strings.Join(w, ", "))
	}
	if w := byState["changes_requested"]; len(w) > 0 {
		parts = append(parts, "✋ changes requested by "+strings.Join(w, ", "))
	}
	return strings.Join(parts, " · ")
}
