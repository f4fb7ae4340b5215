package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/migratebot/migratebot/config"
)

// confirmFor is how long a confirmation button stays valid.
const confirmFor = 10 * time.Minute

// advance runs next or bump: it finds the step, checks its gates, asks for
// a confirmation where one is needed, and opens the step's PR.
func (e *Engine) advance(ctx context.Context, req CommandRequest, key ServiceKey, cmd Command, confirmed bool) error {
	return e.locked(ctx, key, func(m *Migration) error {
		if err := e.movable(m); err != nil {
			return err
		}
		step, target, err := e.pick(m, cmd)
		if err != nil {
			return err
		}
		_, env, _ := e.cfg.Lookup(key.Service)
		now := e.clock.Now()
		switch step.Kind {
		case config.StepWeights:
			if err := e.weightGates(m, env, now, cmd.Force); err != nil {
				return err
			}
			if size := abs(target - m.Weights.New); size > env.StepLimit {
				if !cmd.Force {
					return refuse("Gate *step size*: new %d → %d is %d points, above the limit of %d for %s. Take a smaller step, or an admin may run `/migrate bump %d --force %s` and confirm.",
						m.Weights.New, target, size, env.StepLimit, key.Env, target, key.Service)
				}
				if !confirmed {
					return e.askConfirm(ctx, req, m, Confirmation{Verb: cmd.Verb, Target: target, Step: step.ID,
						Reason: fmt.Sprintf("bump %s to new %d: a step of %d points, above the limit of %d", key.Service, target, size, env.StepLimit)})
				}
			}
		case config.StepDecommission:
			if due := m.LastMergeAt.Add(step.Soak); now.Before(due) {
				return refuse("Gate *decommission soak*: %s must run at new 100 for %s before the old side goes; that is %s (in %s).",
					key.Service, humanDuration(step.Soak), due.UTC().Format("Mon 2 Jan 15:04 MST"), humanDuration(due.Sub(now)))
			}
		}
		if step.Irreversible && !confirmed {
			return e.askConfirm(ctx, req, m, Confirmation{Verb: cmd.Verb, Target: target, Step: step.ID,
				Reason: fmt.Sprintf("%s for %s, which cannot be undone by migratebot once merged", step.ID, key.Service)})
		}
		p, err := e.planner(key, nil)
		if err != nil {
			return err
		}
		base := e.prefetchBase(ctx, env.EnvConfigRepo, env.BaseBranch)
		plan, err := p.step(ctx, step, target)
		if err != nil {
			base()
			return err
		}
		if b := base(); plan.Repo == env.EnvConfigRepo {
			plan.Base = b
		}
		if step.Kind == config.StepWeights && plan.To != WeightsForNew(target) {
			return fmt.Errorf("planned weights %s, want new %d", plan.To, target)
		}
		// The file must still say what the migration last applied: an edit
		// by hand is not overwritten.
		if step.Kind == config.StepWeights || step.Kind == config.StepDecommission {
			if before, _, _, err := p.weights(ctx); err == nil && before != m.Weights {
				return refuse("%s says %s but the migration last applied %s: someone changed it by hand. Put the file back, or ask an admin.", p.svc.Weights.Path, before, m.Weights)
			}
		}
		m.Pending = nil
		if err := e.openChange(ctx, m, req.User, KindStep, step.ID, plan); err != nil {
			return err
		}
		return e.remember(ctx, req, key)
	})
}

// movable refuses when the migration cannot take a step now.
func (e *Engine) movable(m *Migration) error {
	if m.Status == StatusAborting {
		return refuse("%s is being aborted: merge the revert PRs; nothing else moves.", m.Key.Service)
	}
	if m.Open != nil && m.Open.State == ChangeOpen {
		return refuse("%s has an open PR: <%s|PR #%d> (%s). Merge or close it before the next step.", m.Key.Service, m.Open.URL, m.Open.Number, m.Open.Step)
	}
	if m.Paused != nil {
		return refuse("%s is paused (by <@%s>): `/migrate resume %s` first.", m.Key.Service, m.Paused.By, m.Key.Service)
	}
	return nil
}

// pick finds the step a next or bump runs, and its weight.
func (e *Engine) pick(m *Migration, cmd Command) (Step, int64, error) {
	svc := m.Key.Service
	cur, ok := m.Current()
	var step Step
	var target int64
	switch {
	case cmd.Verb == VerbBump:
		if ok && cur.Kind != config.StepWeights {
			return Step{}, 0, refuse("%s is at step %s: weights come after it. `/migrate next %s` runs it.", svc, cur.ID, svc)
		}
		target = *cmd.Weight
		if target == m.Weights.New {
			return Step{}, 0, refuse("%s is already at %s.", svc, m.Weights)
		}
		step = Step{ID: StepName(target), Kind: config.StepWeights, Target: target}
		if s, ok := m.Step(step.ID); ok {
			step = *s
		}
	case !ok:
		return Step{}, 0, refuse("%s has no step left: the migration completes with the health summary after its last merge.", svc)
	case cur.Kind == config.StepManual:
		return Step{}, 0, refuse("%s waits for a person: %s. When it is true, `/migrate done %s %s`.", svc, cur.Text, cur.Item, svc)
	default:
		step, target = *cur, cur.Target
	}
	if m.Open != nil && m.Open.State == ChangeOpening && m.Open.Step != step.ID {
		return Step{}, 0, refuse("%s: the change %s was interrupted; run it again first (`/migrate %s %s`).", svc, m.Open.Step, map[bool]string{true: fmt.Sprintf("bump %d", m.Open.To.New), false: "next"}[m.Open.To != m.Open.From], svc)
	}
	return step, target, nil
}

// soakFor is the wait after a merge before a weight step: the
// environment's soak, and never less than twice the TTL, since resolvers
// keep answers that long.
func soakFor(env *config.Environment, ttl int) time.Duration {
	return max(time.Duration(env.Soak), 2*time.Duration(ttl)*time.Second)
}

// weightGates checks what must hold before a weight step, naming the gate
// and when it opens: soak, health, freezes and change windows. (The open PR
// and pause gates are checked by movable, the step size by advance.)
func (e *Engine) weightGates(m *Migration, env *config.Environment, now time.Time, force bool) error {
	svc := m.Key.Service
	if !m.LastMergeAt.IsZero() {
		soak := soakFor(env, m.TTL)
		if due := m.LastMergeAt.Add(soak); now.Before(due) {
			return refuse("Gate *soak*: %s's last change merged at %s; the soak of %s ends at %s (in %s).",
				svc, m.LastMergeAt.UTC().Format("15:04 MST"), humanDuration(soak), due.UTC().Format("15:04 MST"), humanDuration(due.Sub(now)))
		}
	}
	if err := e.healthGate(m, force); err != nil {
		return err
	}
	for _, f := range env.Freezes {
		if !now.Before(f.From) && now.Before(f.To) {
			return refuse("Gate *freeze*: %s is frozen until %s (%s).", m.Key.Env, f.To.UTC().Format("Mon 2 Jan 15:04 MST"), f.Reason)
		}
	}
	if len(env.ChangeWindows) > 0 {
		loc := env.Location()
		if next, ok := config.NextOpen(env.ChangeWindows, now, loc); !ok || !next.Equal(now.Truncate(time.Minute)) {
			when := "no window opens in the next fortnight"
			if ok {
				when = "the next opens " + next.In(loc).Format("Mon 2 Jan 15:04 MST")
			}
			return refuse("Gate *change window*: weight steps in %s start only inside its change windows; %s.", m.Key.Env, when)
		}
	}
	return nil
}

// askConfirm records what waits for the requester's button and shows them
// the buttons.
func (e *Engine) askConfirm(ctx context.Context, req CommandRequest, m *Migration, c Confirmation) error {
	if req.Source == "github" {
		return refuse("This needs a confirmation button (%s): run it in Slack, `/migrate %s %s`.", c.Reason, c.Verb, m.Key.Service)
	}
	c.By, c.Expires = req.User, e.clock.Now().Add(confirmFor).UTC()
	m.Pending = &c
	if err := e.save(ctx, m); err != nil {
		return err
	}
	return e.say(ctx, req, fmt.Sprintf("Please confirm: %s. The buttons work for you alone, for %s.", c.Reason, humanDuration(confirmFor)),
		Button{ActionID: "migrate:confirm", Text: "Confirm", Value: m.Key.String(), Style: "danger"},
		Button{ActionID: "migrate:cancel", Text: "Cancel", Value: m.Key.String()})
}

// confirm runs or cancels what the user was asked to confirm.
func (e *Engine) confirm(ctx context.Context, req CommandRequest, key ServiceKey, yes bool) error {
	var pending Confirmation
	err := e.locked(ctx, key, func(m *Migration) error {
		p := m.Pending
		switch {
		case p == nil:
			return refuse("There is nothing to confirm for %s.", key.Service)
		case p.By != req.User:
			return refuse("Only <@%s>, who asked, can confirm or cancel: %s.", p.By, p.Reason)
		}
		m.Pending = nil
		if err := e.save(ctx, m); err != nil {
			return err
		}
		if e.clock.Now().After(p.Expires) {
			return refuse("That confirmation expired; run the command again.")
		}
		pending = *p
		return nil
	})
	if err != nil {
		return err
	}
	if !yes {
		return e.say(ctx, req, "Cancelled: "+pending.Reason+".")
	}
	cmd := Command{Verb: pending.Verb, Service: key.Service, Force: true}
	if pending.Verb == VerbBump {
		cmd.Weight = &pending.Target
	}
	return e.advance(ctx, req, key, cmd, true)
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// humanDuration writes 30m, 2h, 1h30m, 14d, 2d3h.
func humanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	days, hours, mins := d/(24*time.Hour), (d%(24*time.Hour))/time.Hour, (d%time.Hour)/time.Minute
	var s string
	if days > 0 {
		s += fmt.Sprintf("%dd", days)
	}
	if hours > 0 {
		s += fmt.Sprintf("%dh", hours)
	}
	if mins > 0 && days == 0 {
		s += fmt.Sprintf("%dm", mins)
	}
	if s == "" {
		s = "0m"
	}
	return s
}
