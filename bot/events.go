package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/migratebot/migratebot/config"
)

// PullRequestClosed applies a merged change or records a closed one. A
// redelivered or repeated event changes nothing: the change it names is no
// longer the open one.
func (e *Engine) PullRequestClosed(ctx context.Context, ev PullRequestEvent) error {
	log := e.log.With("repo", ev.Repo, "pr", ev.Number, "installation_id", ev.InstallationID)
	key, err := e.store.FindPR(ctx, ev.Repo, ev.Number)
	if errors.Is(err, ErrNotFound) {
		log.DebugContext(ctx, "not a migratebot PR")
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
		log.InfoContext(ctx, "PR closed after its migration ended", "migration", key.String())
		return nil
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", key, err)
	}
	return e.prClosed(ctx, log, m, ev)
}

// prClosed applies the close of m's open change's PR, with m loaded under
// its lock; the PR is the webhook's, or one found closed by prCheckDue.
func (e *Engine) prClosed(ctx context.Context, log *slog.Logger, m *Migration, ev PullRequestEvent) error {
	key := m.Key
	c := m.Open
	if c == nil || c.Repo != ev.Repo || c.Number != ev.Number {
		log.InfoContext(ctx, "PR event already applied", "migration", m.ID)
		return nil
	}
	now := e.clock.Now().UTC()
	c.ClosedAt, c.ClosedBy = now, ev.By
	openRevert := false
	if ev.Merged {
		c.State = ChangeMerged
		m.LastMergeAt = now
		e.applyMerged(m, c, now)
		if c.Kind == KindRevert {
			if len(m.Reverts) > 0 {
				openRevert = true
			} else {
				m.Status = StatusAborted
			}
		}
	} else {
		c.State = ChangeClosed
	}
	m.History = append(m.History, *c)
	m.Open = nil
	if ev.Merged {
		note := fmt.Sprintf("Merged by %s on GitHub (%s). Weights now %s.", ev.By, c.URL, m.Weights)
		if !c.approvedByAnyone() {
			note += " No change approver had approved it."
		}
		// With health summaries, the ticket closes once the service is
		// seen healthy after the merge.
		_, env, _ := e.cfg.Lookup(key.Service)
		if healthOn(env) && measured(m, c) {
			e.wantTicket(ctx, m, c, TicketImplemented, note)
			e.scheduleHealth(ctx, m, &m.History[len(m.History)-1])
		} else {
			e.wantTicket(ctx, m, c, TicketClosed, note)
		}
	} else {
		e.wantTicket(ctx, m, c, TicketCancelled, fmt.Sprintf("The PR (%s) was closed without merging by %s: nothing changed.", c.URL, ev.By))
	}
	if err := e.save(ctx, m); err != nil {
		return err
	}
	log.InfoContext(ctx, "change closed", "migration", m.ID, "step", c.Step, "merged", ev.Merged, "weights", m.Weights.String())
	if err := e.postChange(ctx, m, c); err != nil {
		log.ErrorContext(ctx, "could not update the step message", "migration", m.ID, "err", err)
	}
	switch {
	case m.Status == StatusCompleted:
		e.tell(ctx, m, completionText(m, nil))
	case m.Status == StatusAborted:
		e.tell(ctx, m, fmt.Sprintf("✖ Abort complete: the repos are as they were before the migration, and %s is unfrozen.", key.Service))
	}
	e.refreshPlan(ctx, m)
	if openRevert {
		return e.openNextRevert(ctx, m, c.RequestedBy)
	}
	return e.scheduleDecommission(ctx, m)
}

// applyMerged moves the migration on for a merged change.
func (e *Engine) applyMerged(m *Migration, c *Change, now time.Time) {
	if c.Kind == KindRevert {
		return
	}
	m.Weights = c.To
	if m.Weights.New < 100 {
		m.Reminded = false
	}
	if c.Kind != KindStep {
		return
	}
	if s, ok := m.Step(c.Step); ok && s.Kind != config.StepWeights {
		s.Status, s.DoneBy, s.DoneAt = StepDone, c.ClosedBy, now
	}
	// With health summaries the last merge is measured too, and its
	// summary completes the migration (recordHealth).
	if _, env, _ := e.cfg.Lookup(m.Key.Service); lastStep(m, c) && !healthOn(env) {
		m.Status = StatusCompleted
	}
}

// lastStep says whether merged change c ends m's playbook: its
// decommission, or its last step.
func lastStep(m *Migration, c *Change) bool {
	if c.Kind != KindStep {
		return false
	}
	if s, ok := m.Step(c.Step); ok && s.Kind == config.StepDecommission {
		return true
	}
	_, more := m.Current()
	return !more
}

// scheduleDecommission sets the reminder for when the decommission soak
// ends, once the service is at new 100 with decommission to come.
func (e *Engine) scheduleDecommission(ctx context.Context, m *Migration) error {
	cur, ok := m.Current()
	if m.Status != StatusActive || !ok || cur.Kind != config.StepDecommission || m.Weights.New != 100 || m.Reminded || e.sched == nil {
		return nil
	}
	t := Timer{Kind: TimerDecommissionDue, Key: m.Key, Migration: m.ID, Due: m.LastMergeAt.Add(cur.Soak)}
	if err := e.sched.Schedule(ctx, t); err != nil {
		return fmt.Errorf("schedule the decommission reminder: %w", err)
	}
	return nil
}

// Timer runs a due timer. A timer of a migration that has moved on, or of
// one that is over, does nothing.
func (e *Engine) Timer(ctx context.Context, t Timer) error {
	unlock, err := e.waitLock(ctx, t.Key)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := e.store.Load(ctx, t.Key)
	if errors.Is(err, ErrNotFound) || err == nil && m.ID != t.Migration {
		if t.Kind != TimerTicket {
			return nil
		}
		// A ticket outlives its migration: it is closed or cancelled after
		// the migration finished.
		m, err = e.archivedMigration(ctx, t.Key, t.Migration)
		if m == nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("load %s: %w", t.Key, err)
	}
	switch t.Kind {
	case TimerTicket:
		return e.syncTicket(ctx, m, t)
	case TimerAutoMerge:
		return e.mergeCheckDue(ctx, m, t)
	case TimerHealthApply:
		return e.applyCheckDue(ctx, m, t)
	case TimerHealthMeasure:
		return e.measureDue(ctx, m, t)
	case TimerPRCheck:
		return e.prCheckDue(ctx, m, t)
	case TimerDecommissionDue:
		cur, ok := m.Current()
		if m.Reminded || !ok || cur.Kind != config.StepDecommission || m.Weights.New != 100 || m.Open != nil {
			return nil
		}
		if e.clock.Now().Before(m.LastMergeAt.Add(cur.Soak)) {
			return nil // a rollback and a new 100 moved the due time; a newer timer exists
		}
		m.Reminded = true
		if err := e.save(ctx, m); err != nil {
			return err
		}
		e.tell(ctx, m, fmt.Sprintf("⏰ %s has run at new 100 for %s. Decommission is next: `/migrate next %s` opens the PR removing the old source (%s), after a confirmation.",
			m.Key.Service, humanDuration(cur.Soak), m.Key.Service, e.oldSource(m)))
	default:
		e.log.WarnContext(ctx, "unknown timer", "kind", t.Kind)
	}
	return nil
}

func (e *Engine) oldSource(m *Migration) string {
	svc, _, _ := e.cfg.Lookup(m.Key.Service)
	return svc.Weights.OldSource
}

// archivedMigration finds a finished migration by id, or nil.
func (e *Engine) archivedMigration(ctx context.Context, key ServiceKey, id string) (*Migration, error) {
	hist, err := e.store.History(ctx, key)
	if err != nil {
		return nil, err
	}
	for i := range hist {
		if hist[i].ID == id {
			m := hist[i]
			m.archived = true
			return &m, nil
		}
	}
	return nil, nil
}

// prCheckEvery is how often an open change's PR is looked at on GitHub.
const prCheckEvery = 15 * time.Minute

// schedulePRCheck sets the next look at an open change's PR, in place of
// any other: the change keeps when it is due, and the caller saves it.
func (e *Engine) schedulePRCheck(ctx context.Context, m *Migration, c *Change) {
	t := Timer{Kind: TimerPRCheck, Key: m.Key, Migration: m.ID, Due: e.clock.Now().UTC().Add(prCheckEvery), Repo: c.Repo, Number: c.Number}
	if err := e.sched.Schedule(ctx, t); err != nil {
		e.log.ErrorContext(ctx, "could not schedule the PR check", "migration", m.ID, "pr", c.Number, "err", err)
		return
	}
	c.PRCheckAt = t.Due
}

// prCheckDue looks at an open change's PR on GitHub: a webhook is lost
// when the bot was down or shed it, and GitHub does not send it again by
// itself, so a PR merged or closed without the bot hearing is applied as
// its webhook would have been. A PR still open is looked at again later;
// one the bot has moved on from is left.
func (e *Engine) prCheckDue(ctx context.Context, m *Migration, t Timer) error {
	c := m.Open
	if c == nil || c.State != ChangeOpen || c.Repo != t.Repo || c.Number != t.Number || !t.Due.Equal(c.PRCheckAt) {
		return nil // moved on, or superseded (a step run again scheduled another)
	}
	log := e.log.With("repo", c.Repo, "pr", c.Number, "migration", m.ID)
	st, err := e.repos.PRState(ctx, c.Repo, c.Number)
	if err != nil || st.Open {
		if err != nil {
			log.WarnContext(ctx, "could not look at the open PR; looking again later", "err", err)
		}
		e.schedulePRCheck(ctx, m, c)
		return e.save(ctx, m)
	}
	by := st.MergedBy
	if by == "" {
		by = "someone on GitHub"
	}
	log.WarnContext(ctx, "the PR closed without its webhook reaching the bot; applying it now", "merged", st.Merged)
	return e.prClosed(ctx, log, m, PullRequestEvent{Repo: c.Repo, Number: c.Number, Merged: st.Merged, By: by})
}
