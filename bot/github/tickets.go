package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

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

// Create implements bot.Tickets. The issue is filed with a POST that is
// never sent twice blindly: after a failure that may have filed it (a 5xx,
// a broken connection), Create looks for the key's label again first.
func (t *IssueTickets) Create(ctx context.Context, spec bot.TicketSpec) (bot.Ticket, error) {
	client, owner, name, err := t.c.clientFor(ctx, t.repo)
	if err != nil {
		return bot.Ticket{}, err
	}
	label := keyLabel(spec.Key)
	labels := []string{"change", "migratebot", label}
	if spec.ChangeType == "emergency" {
		labels = append(labels, "emergency")
	}
	body := spec.Body + "\n\n<!-- migratebot change " + spec.Key + " -->"
	req := &gh.IssueRequest{Title: gh.Ptr(spec.Title), Body: gh.Ptr(body), Labels: &labels}
	for round := 0; ; round++ {
		found, _, err := client.Issues.ListByRepo(ctx, owner, name, &gh.IssueListByRepoOptions{
			State: "all", Labels: []string{label}, Sort: "created", Direction: "asc"})
		if err != nil {
			return bot.Ticket{}, fmt.Errorf("look for the ticket of %s in %s: %w", spec.Key, t.repo, err)
		}
		if len(found) > 0 {
			return t.ticket(found[0]), nil
		}
		is, err := t.fileIssue(ctx, client, owner, name, req)
		if err == nil {
			return t.ticket(is), nil
		}
		if !mayHaveFiled(err) || round == fileRetries {
			return bot.Ticket{}, fmt.Errorf("file the ticket of %s in %s: %w", spec.Key, t.repo, err)
		}
		timer := time.NewTimer(fileRetryWait << round)
		select {
		case <-ctx.Done():
			timer.Stop()
			return bot.Ticket{}, fmt.Errorf("file the ticket of %s in %s: %w (then %w)", spec.Key, t.repo, err, ctx.Err())
		case <-timer.C:
		}
	}
}

// How often and after how long Create tries again to file an issue whose
// POST failed.
const (
	fileRetries   = 3
	fileRetryWait = 200 * time.Millisecond
)

// fileIssue files an issue. The transport sends it once (retry.go): a
// second try after a lost answer would file a second issue, so Create looks
// again first.
func (t *IssueTickets) fileIssue(ctx context.Context, client *gh.Client, owner, name string, ir *gh.IssueRequest) (*gh.Issue, error) {
	is, _, err := client.Issues.Create(ctx, owner, name, ir)
	if err != nil {
		return nil, err
	}
	if is.GetNumber() == 0 {
		return nil, errors.New("GitHub's answer names no issue number")
	}
	return is, nil
}

// mayHaveFiled says whether a failed issue POST may have filed the issue all
// the same: anything but a refusal (4xx) or the time running out.
func mayHaveFiled(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var e *gh.ErrorResponse
	if errors.As(err, &e) && e.Response != nil {
		return e.Response.StatusCode >= 500
	}
	var rl *gh.RateLimitError
	var arl *gh.AbuseRateLimitError
	return !errors.As(err, &rl) && !errors.As(err, &arl)
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
	// The comment comes after the edit, which is safe to repeat: a move
	// retried after a failed edit does not comment twice.
	if comment != "" {
		return t.Comment(ctx, tk, comment)
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
