package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/migratebot/migratebot/config"
)

// ticketLine is the PR body's line about the change ticket; the bot rewrites
// it once the ticket exists.
const ticketLine = "- **Change ticket:** pending — migratebot files it and links it here."

// ticketOrder is the lifecycle a ticket moves through; cancelled leaves it
// from any state before closed.
var ticketOrder = []TicketState{TicketOpen, TicketApproved, TicketImplemented, TicketClosed}

func ticketRank(s TicketState) int {
	for i, t := range ticketOrder {
		if t == s {
			return i
		}
	}
	return -1
}

// wantTicket asks for a change's ticket to reach a state (never backwards)
// with a note, and schedules the sync that does it.
func (e *Engine) wantTicket(ctx context.Context, m *Migration, c *Change, to TicketState, note string) {
	if c.Ticket == nil {
		return
	}
	l := c.Ticket
	switch {
	case l.Want == TicketCancelled || l.Want == TicketClosed:
		// final already
	case to == TicketCancelled || ticketRank(to) > ticketRank(l.Want):
		l.Want = to
	}
	if note != "" {
		l.Notes = append(l.Notes, note)
	}
	e.scheduleTicket(ctx, m, c, e.clock.Now())
}

func (e *Engine) scheduleTicket(ctx context.Context, m *Migration, c *Change, at time.Time) {
	if e.sched == nil {
		return
	}
	t := Timer{Kind: TimerTicket, Key: m.Key, Migration: m.ID, Due: at, Repo: c.Repo, Number: c.Number}
	if err := e.sched.Schedule(ctx, t); err != nil {
		e.log.ErrorContext(ctx, "could not schedule the ticket sync", "migration", m.ID, "err", err)
	}
}

// ticketBackoff is the wait before the next try at a ticket system that
// failed attempts times: 15s, 30s, 1m … up to 10m.
func ticketBackoff(attempts int) time.Duration {
	d := 15 * time.Second << min(attempts-1, 6)
	return min(d, 10*time.Minute)
}

// findChange returns the open or a finished change of a PR.
func (m *Migration) findChange(repo string, number int) *Change {
	if m.Open != nil && m.Open.Repo == repo && m.Open.Number == number {
		return m.Open
	}
	for i := len(m.History) - 1; i >= 0; i-- {
		if m.History[i].Repo == repo && m.History[i].Number == number {
			return &m.History[i]
		}
	}
	return nil
}

// syncTicket brings a change's ticket up to date: files it if it is not
// yet, moves it to the state wanted, and sends the notes. A system that
// fails is tried again later; nothing is lost meanwhile.
func (e *Engine) syncTicket(ctx context.Context, m *Migration, t Timer) error {
	c := m.findChange(t.Repo, t.Number)
	if c == nil || c.Ticket == nil {
		return nil
	}
	tickets := e.tickets[m.Key.Env]
	if tickets == nil {
		return nil
	}
	l := c.Ticket
	err := e.bringTicket(ctx, m, c, tickets)
	if err != nil {
		l.Attempts++
		wait := ticketBackoff(l.Attempts)
		e.log.WarnContext(ctx, "ticket system failed; will retry", "migration", m.ID, "step", c.Step, "attempt", l.Attempts, "retry_in", wait.String(), "err", err)
		e.scheduleTicket(ctx, m, c, e.clock.Now().Add(wait))
		if l.Attempts == 1 {
			// Tell the thread once; the step message says it too.
			if perr := e.postChange(ctx, m, c); perr != nil {
				e.log.ErrorContext(ctx, "could not update the step message", "err", perr)
			}
		}
	} else {
		l.Attempts = 0
	}
	return e.save(ctx, m)
}

// bringTicket does the work of syncTicket, stopping at the first failure;
// what succeeded stays done.
func (e *Engine) bringTicket(ctx context.Context, m *Migration, c *Change, tickets Tickets) error {
	l := c.Ticket
	if l.Ticket == nil {
		spec, err := e.ticketSpec(ctx, m, c)
		if err != nil {
			return err
		}
		tk, err := tickets.Create(ctx, spec)
		if err != nil {
			return fmt.Errorf("file the ticket: %w", err)
		}
		l.Ticket, l.State = &tk, TicketOpen
		label := tk.Number
		if label == "" {
			label = tk.ID
		}
		err = e.repos.EditPRBody(ctx, c.Repo, c.Number, func(body string) string {
			return strings.Replace(body, ticketLine, fmt.Sprintf("- **Change ticket:** [%s](%s)", label, tk.URL), 1)
		})
		if err != nil {
			e.log.ErrorContext(ctx, "could not link the ticket in the PR", "migration", m.ID, "err", err)
		}
		if err := e.postChange(ctx, m, c); err != nil {
			e.log.ErrorContext(ctx, "could not update the step message", "err", err)
		}
	}
	note := func() string { return strings.Join(l.Notes, "\n") }
	if l.Want == TicketCancelled {
		if l.State != TicketCancelled && l.State != TicketClosed {
			if err := tickets.Move(ctx, *l.Ticket, TicketCancelled, note()); err != nil {
				return fmt.Errorf("cancel the ticket: %w", err)
			}
			l.State, l.Notes = TicketCancelled, nil
		}
	} else {
		for ticketRank(l.State) < ticketRank(l.Want) {
			next := ticketOrder[ticketRank(l.State)+1]
			if err := tickets.Move(ctx, *l.Ticket, next, note()); err != nil {
				return fmt.Errorf("move the ticket to %s: %w", next, err)
			}
			l.State, l.Notes = next, nil
		}
	}
	if len(l.Notes) > 0 {
		if err := tickets.Comment(ctx, *l.Ticket, note()); err != nil {
			return fmt.Errorf("comment on the ticket: %w", err)
		}
		l.Notes = nil
	}
	return nil
}

// ticketSpec renders a change's ticket.
func (e *Engine) ticketSpec(ctx context.Context, m *Migration, c *Change) (TicketSpec, error) {
	_, env, _ := e.cfg.Lookup(m.Key.Service)
	changeType := "normal"
	if c.Kind != KindStep {
		changeType = "emergency"
	}
	start := c.OpenedAt
	data := map[string]any{
		"Service": m.Key.Service, "Env": m.Key.Env, "MigrationID": m.ID, "Change": c, "ChangeType": changeType,
		"Approvers": strings.Join(env.People.GitHubApprovers, ", "), "Teams": strings.Join(env.People.GitHubTeams, ", "),
		"Window": e.windowText(env, start), "Requester": e.personName(ctx, c.RequestedBy),
	}
	body, err := e.tmpl.Render("ticket.tmpl", data)
	if err != nil {
		return TicketSpec{}, err
	}
	title := fmt.Sprintf("%s (%s): %s", m.Key.Service, m.Key.Env, c.Step)
	if c.From != c.To {
		title += fmt.Sprintf(" — weights %s → %s", c.From, c.To)
	}
	return TicketSpec{
		Key: m.ID + "/" + c.Step + "/" + fmt.Sprint(c.Number), Title: title, Body: body,
		Service: m.Key.Service, Environment: m.Key.Env, ChangeType: changeType,
		PlannedStart: start, PlannedEnd: start.Add(24 * time.Hour),
	}, nil
}

// personName names a requester or approver for people outside Slack:
// "alice (Slack U0ALICE)", or "GitHub user bob". A name Slack will not give
// falls back to the id alone.
func (e *Engine) personName(ctx context.Context, user string) string {
	if strings.HasPrefix(user, "github:") {
		return plainWho(user)
	}
	name, err := e.chat.UserName(ctx, user)
	if err != nil || name == "" || name == user {
		if err != nil {
			e.log.WarnContext(ctx, "could not read a Slack user's name", "slack_user", user, "err", err)
		}
		return plainWho(user)
	}
	return fmt.Sprintf("%s (Slack %s)", name, user)
}

// ticketStatus is what the step message says about the ticket.
func ticketStatus(c *Change) string {
	l := c.Ticket
	switch {
	case l == nil:
		return ""
	case l.Ticket == nil && l.Attempts > 0:
		return "ticket pending: the ticket system is not answering; migratebot keeps trying and files it once"
	case l.Ticket == nil:
		return "" // being filed, in a moment: the message is updated then
	}
	label := l.Ticket.Number
	if label == "" {
		label = l.Ticket.ID
	}
	// The link alone: the ticket's state lives in the ticket system, and
	// repeating it here would cost a Slack update per transition.
	return fmt.Sprintf("ticket <%s|%s>", l.Ticket.URL, label)
}

// windowText says when a change is planned to land.
func (e *Engine) windowText(env *config.Environment, from time.Time) string {
	if len(env.ChangeWindows) == 0 {
		return "any time after approval (the environment has no change windows)"
	}
	var ws []string
	for _, w := range env.ChangeWindows {
		ws = append(ws, fmt.Sprintf("%s %s–%s", strings.Join(w.Days, "/"), w.Start, w.End))
	}
	return fmt.Sprintf("inside the change windows (%s, %s)", strings.Join(ws, "; "), env.Timezone)
}
