package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	gh "github.com/google/go-github/v88/github"

	"github.com/migratebot/migratebot/bot"
)

// IssueTickets keeps change tickets as GitHub issues in one repo: the
// default ticket system, needing nothing but the app. A ticket's state is
// a label (change:approved, …); closing and cancelling close the issue as
// completed or not planned.
type IssueTickets struct {
	c    *Client
	repo string
}

var _ bot.Tickets = (*IssueTickets)(nil)

// Tickets returns the ticket system keeping issues in repo.
func (c *Client) Tickets(repo string) *IssueTickets { return &IssueTickets{c: c, repo: repo} }

// keyLabel is the label that finds a change's ticket again.
func keyLabel(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "migratebot:" + hex.EncodeToString(sum[:6])
}

var stateLabels = map[bot.TicketState]string{
	bot.TicketApproved: "change:approved", bot.TicketImplemented: "change:implemented",
	bot.TicketClosed: "change:closed", bot.TicketCancelled: "change:cancelled",
}

func (t *IssueTickets) ticket(is *gh.Issue) bot.Ticket {
	n := strconv.Itoa(is.GetNumber())
	return bot.Ticket{System: "github", ID: n, Number: t.repo + "#" + n, URL: is.GetHTMLURL()}
}

// Create implements bot.Tickets.
func (t *IssueTickets) Create(ctx context.Context, spec bot.TicketSpec) (bot.Ticket, error) {
	client, owner, name, err := t.c.clientFor(ctx, t.repo)
	if err != nil {
		return bot.Ticket{}, err
	}
	label := keyLabel(spec.Key)
	found, _, err := client.Issues.ListByRepo(ctx, owner, name, &gh.IssueListByRepoOptions{State: "all", Labels: []string{label}})
	if err != nil {
		return bot.Ticket{}, fmt.Errorf("look for the ticket of %s in %s: %w", spec.Key, t.repo, err)
	}
	if len(found) > 0 {
		return t.ticket(found[0]), nil
	}
	labels := []string{"change", "migratebot", label}
	if spec.ChangeType == "emergency" {
		labels = append(labels, "emergency")
	}
	body := spec.Body + "\n\n<!-- migratebot change " + spec.Key + " -->"
	is, _, err := client.Issues.Create(ctx, owner, name, &gh.IssueRequest{Title: gh.Ptr(spec.Title), Body: gh.Ptr(body), Labels: &labels})
	if err != nil {
		return bot.Ticket{}, fmt.Errorf("file the ticket of %s in %s: %w", spec.Key, t.repo, err)
	}
	return t.ticket(is), nil
}

// Move implements bot.Tickets.
func (t *IssueTickets) Move(ctx context.Context, tk bot.Ticket, to bot.TicketState, comment string) error {
	client, owner, name, err := t.c.clientFor(ctx, t.repo)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(tk.ID)
	if err != nil {
		return fmt.Errorf("ticket id %q is not an issue number", tk.ID)
	}
	if comment != "" {
		if err := t.Comment(ctx, tk, comment); err != nil {
			return err
		}
	}
	is, _, err := client.Issues.Get(ctx, owner, name, n)
	if err != nil {
		return fmt.Errorf("read ticket %s#%d: %w", t.repo, n, err)
	}
	labels := []string{}
	for _, l := range is.Labels {
		keep := true
		for _, sl := range stateLabels {
			if l.GetName() == sl {
				keep = false
			}
		}
		if keep {
			labels = append(labels, l.GetName())
		}
	}
	if sl, ok := stateLabels[to]; ok {
		labels = append(labels, sl)
	}
	req := &gh.IssueRequest{Labels: &labels}
	switch to {
	case bot.TicketClosed:
		req.State, req.StateReason = gh.Ptr("closed"), gh.Ptr("completed")
	case bot.TicketCancelled:
		req.State, req.StateReason = gh.Ptr("closed"), gh.Ptr("not_planned")
	}
	if _, _, err := client.Issues.Edit(ctx, owner, name, n, req); err != nil {
		return fmt.Errorf("move ticket %s#%d to %s: %w", t.repo, n, to, err)
	}
	return nil
}

// Comment implements bot.Tickets.
func (t *IssueTickets) Comment(ctx context.Context, tk bot.Ticket, text string) error {
	client, owner, name, err := t.c.clientFor(ctx, t.repo)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(tk.ID)
	if err != nil {
		return fmt.Errorf("ticket id %q is not an issue number", tk.ID)
	}
	if _, _, err := client.Issues.CreateComment(ctx, owner, name, n, &gh.IssueComment{Body: gh.Ptr(text)}); err != nil {
		return fmt.Errorf("comment on ticket %s#%d: %w", t.repo, n, err)
	}
	return nil
}
