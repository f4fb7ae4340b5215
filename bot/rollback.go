package bot

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/migratebot/migratebot/config"
)

// rollback sends traffic back towards the old side at once: it skips the
// soak, step-size and change-window gates (a rollback lowers risk), closes
// any open PR it supersedes, and opens one urgent PR.
func (e *Engine) rollback(ctx context.Context, req CommandRequest, key ServiceKey, target int64) error {
	return e.locked(ctx, key, func(m *Migration) error {
		svc := key.Service
		if m.Status == StatusAborting {
			return refuse("%s is being aborted: merge the revert PRs.", svc)
		}
		if m.Weights.New == 0 {
			return refuse("%s already sends all traffic to the old side (%s): nothing to roll back. `/migrate abort %s` undoes the other steps.", svc, m.Weights, svc)
		}
		if target >= m.Weights.New {
			return refuse("%s is at new %d: a rollback to %d would not send traffic back. Use `/migrate bump %d %s` to go forward.", svc, m.Weights.New, target, target, svc)
		}
		why := fmt.Sprintf("Requested by %s as an urgent rollback: it skips the soak, step-size and change-window gates.", who(req.User))
		if err := e.openRollback(ctx, m, target, req.User, why); err != nil {
			return err
		}
		return e.remember(ctx, req, key)
	})
}

// openRollback supersedes the open PR, if any, and opens the rollback to
// new target, requested by user (or "migratebot" when automatic).
func (e *Engine) openRollback(ctx context.Context, m *Migration, target int64, user, why string) error {
	if m.Open != nil && m.Open.State == ChangeOpen {
		if err := e.closeOpen(ctx, m, fmt.Sprintf("Superseded by an urgent rollback to new %d, requested by %s.", target, plainWho(user))); err != nil {
			return err
		}
	} else if m.Open != nil && m.Open.Kind != KindRollback {
		m.Open = nil // an interrupted step is superseded too
	}
	p, err := e.planner(m.Key, nil)
	if err != nil {
		return err
	}
	base := e.prefetchBase(ctx, p.env.EnvConfigRepo, p.env.BaseBranch)
	plan, err := p.setWeights(ctx, target)
	if b := base(); err == nil && plan.Repo == p.env.EnvConfigRepo {
		plan.Base = b
	}
	if err != nil {
		return err
	}
	plan.Title = fmt.Sprintf("rollback to %s", plan.To)
	plan.Why = why
	m.Pending = nil
	return e.openChange(ctx, m, user, KindRollback, fmt.Sprintf("rollback-%d", target), plan)
}

// closeOpen closes the open PR, deletes its branch and records it.
func (e *Engine) closeOpen(ctx context.Context, m *Migration, why string) error {
	c := m.Open
	if err := e.repos.ClosePR(ctx, c.Repo, c.Number, c.Branch, why); err != nil {
		return fmt.Errorf("close PR #%d: %w", c.Number, err)
	}
	c.State, c.ClosedAt, c.ClosedBy = ChangeClosed, e.clock.Now().UTC(), "migratebot"
	m.History = append(m.History, *c)
	m.Open = nil
	e.wantTicket(ctx, m, c, TicketCancelled, why)
	if err := e.postChange(ctx, m, c); err != nil {
		e.log.ErrorContext(ctx, "could not update the step message", "migration", m.ID, "err", err)
	}
	return nil
}

// pause holds a migration, or lets it go on.
func (e *Engine) pause(ctx context.Context, req CommandRequest, key ServiceKey, on bool) error {
	return e.locked(ctx, key, func(m *Migration) error {
		switch {
		case on && m.Paused != nil:
			return refuse("%s is already paused (by <@%s>).", key.Service, m.Paused.By)
		case !on && m.Paused == nil:
			return refuse("%s is not paused.", key.Service)
		}
		text := fmt.Sprintf("⏸ Paused by <@%s>: no step starts until `/migrate resume %s`. Rollback and abort still work.", req.User, key.Service)
		m.Paused = &Pause{By: req.User, At: e.clock.Now().UTC()}
		if !on {
			m.Paused = nil
			text = fmt.Sprintf("▶ Resumed by <@%s>. Next: %s", req.User, e.nextHint(m))
		}
		if err := e.save(ctx, m); err != nil {
			return err
		}
		if _, err := e.chat.Post(ctx, m.Thread.Channel, m.Thread.TS, Message{Text: text}); err != nil {
			e.log.ErrorContext(ctx, "could not tell the thread", "migration", m.ID, "err", err)
		}
		e.refreshPlan(ctx, m)
		return e.remember(ctx, req, key)
	})
}

// done confirms a manual checklist item.
func (e *Engine) done(ctx context.Context, req CommandRequest, key ServiceKey, item string) error {
	return e.locked(ctx, key, func(m *Migration) error {
		s, ok := m.Manual(item)
		if !ok {
			var items []string
			for _, st := range m.Steps {
				if st.Kind == config.StepManual {
					items = append(items, "`"+st.Item+"`")
				}
			}
			if len(items) == 0 {
				return refuse("%s's playbook has no manual items.", key.Service)
			}
			return refuse("%q is not a checklist item of %s: its items are %s.", item, key.Service, joinWords(items))
		}
		if s.Status == StepDone {
			return refuse("`%s` was confirmed already, by <@%s>.", item, s.DoneBy)
		}
		s.Status, s.DoneBy, s.DoneAt = StepDone, req.User, e.clock.Now().UTC()
		if err := e.save(ctx, m); err != nil {
			return err
		}
		text := fmt.Sprintf("☑ *%s* confirmed by <@%s>: %s. Next: %s", item, req.User, s.Text, e.nextHint(m))
		if _, err := e.chat.Post(ctx, m.Thread.Channel, m.Thread.TS, Message{Text: text}); err != nil {
			e.log.ErrorContext(ctx, "could not tell the thread", "migration", m.ID, "err", err)
		}
		e.refreshPlan(ctx, m)
		return e.remember(ctx, req, key)
	})
}

// abort closes the open PR, then opens PRs reverting what merged, newest
// first and one repo at a time, so traffic never points at something
// already removed; the service is unfrozen when the last revert merges.
// A migration past an irreversible step cannot be aborted.
func (e *Engine) abort(ctx context.Context, req CommandRequest, key ServiceKey) error {
	return e.locked(ctx, key, func(m *Migration) error {
		svc := key.Service
		if m.Status == StatusAborting {
			if m.Open != nil {
				return refuse("%s is already being aborted: merge <%s|PR #%d> (%s).", svc, m.Open.URL, m.Open.Number, m.Open.Step)
			}
			if len(m.Reverts) == 0 {
				return refuse("%s is already being aborted.", svc)
			}
		}
		for _, c := range m.History {
			if c.State != ChangeMerged {
				continue
			}
			if s, ok := m.Step(c.Step); ok && s.Irreversible {
				return refuse("%s cannot be aborted: the irreversible step %s merged on %s. Go on, or undo it by hand.", svc, s.ID, c.ClosedAt.Format("2 Jan 15:04 MST"))
			}
		}
		if m.Open != nil && m.Open.State == ChangeOpen {
			if err := e.closeOpen(ctx, m, fmt.Sprintf("Closed: the migration was aborted by %s in Slack.", req.User)); err != nil {
				return err
			}
		}
		m.Open, m.Pending = nil, nil
		if m.Status != StatusAborting {
			m.Reverts = revertChanges(m)
		}
		m.Status = StatusAborting
		if len(m.Reverts) == 0 {
			m.Status = StatusAborted
			if err := e.save(ctx, m); err != nil {
				return err
			}
			e.tell(ctx, m, fmt.Sprintf("✖ Aborted by <@%s>. Nothing had merged: the repos are as they were, and %s is unfrozen.", req.User, svc))
			e.refreshPlan(ctx, m)
			return nil
		}
		e.tell(ctx, m, fmt.Sprintf("✖ Abort requested by <@%s>. %d revert PR(s) put the repos back as they were before the migration, newest change first; each opens when the one before merges. %s stays frozen until the last one merges.", req.User, len(m.Reverts), svc))
		return e.openNextRevert(ctx, m, req.User)
	})
}

// openNextRevert opens the first of the remaining revert PRs.
func (e *Engine) openNextRevert(ctx context.Context, m *Migration, user string) error {
	next := m.Reverts[0]
	m.Reverts = m.Reverts[1:]
	plan := revertPlan(next.Repo, next.Before)
	plan.Title = "revert the migration's changes to " + next.Repo
	plan.To = m.Weights
	plan.What = "Puts back, as they were before the migration: " + joinWords(fileList(next.Before)) + "."
	plan.Why = "The migration was aborted. Reverts go newest change first, one repo at a time, so that traffic never points at something already removed."
	if err := e.openChange(ctx, m, user, KindRevert, next.Step, plan); err != nil {
		m.Reverts = append([]Change{next}, m.Reverts...)
		if saveErr := e.save(ctx, m); saveErr != nil {
			e.log.ErrorContext(ctx, "could not keep the revert queue", "migration", m.ID, "err", saveErr)
		}
		return err
	}
	return nil
}

// revertChanges groups the merged changes, newest first, into one revert per
// run of changes to the same repo; each puts every file it touches back to
// its content before the earliest change of the run.
func revertChanges(m *Migration) []Change {
	var out []Change
	for i := len(m.History) - 1; i >= 0; i-- {
		c := m.History[i]
		if c.State != ChangeMerged || c.Kind == KindRevert || len(c.Before) == 0 {
			continue
		}
		if len(out) == 0 || out[len(out)-1].Repo != c.Repo {
			out = append(out, Change{Kind: KindRevert, Repo: c.Repo, Before: map[string]*string{}})
		}
		// Walking back in time, an older change's Before wins.
		maps.Copy(out[len(out)-1].Before, c.Before)
	}
	for i := range out {
		out[i].Step = fmt.Sprintf("revert-%d", i+1)
	}
	return out
}

func fileList(files map[string]*string) []string {
	out := make([]string, 0, len(files))
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if files[p] == nil {
			out = append(out, "`"+p+"` (removed: it did not exist)")
		} else {
			out = append(out, "`"+p+"`")
		}
	}
	return out
}

func joinWords(ws []string) string {
	switch len(ws) {
	case 0:
		return ""
	case 1:
		return ws[0]
	}
	s := ""
	for i, w := range ws {
		switch {
		case i == 0:
		case i == len(ws)-1:
			s += " and "
		default:
			s += ", "
		}
		s += w
	}
	return s
}
