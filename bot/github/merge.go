package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	gh "github.com/google/go-github/v88/github"

	"github.com/migratebot/migratebot/bot"
)

// What auto-merge asks of GitHub: who is in a team, how a PR's checks
// stand, and the merge itself.

// TeamMember implements bot.Repos. An invitation not yet accepted is not
// membership; neither is a team that does not exist (GitHub answers 404
// for both an unknown team and a non-member).
func (c *Client) TeamMember(ctx context.Context, org, team, login string) (bool, error) {
	client, err := c.orgClient(ctx, org)
	if err != nil {
		return false, err
	}
	m, _, err := client.Teams.GetTeamMembershipBySlug(ctx, org, team, login)
	if isStatus(err, http.StatusNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s's membership of team %s/%s: %w", login, org, team, err)
	}
	return m.GetState() == "active", nil
}

// orgClient returns the installation client for an organization, which
// clientFor finds by owner once the installation is known.
func (c *Client) orgClient(ctx context.Context, org string) (*gh.Client, error) {
	c.mu.Lock()
	_, known := c.byOwner[strings.ToLower(org)]
	c.mu.Unlock()
	if !known {
		inst, _, err := c.app.Apps.GetOrganizationInstallation(ctx, org)
		if err != nil {
			return nil, fmt.Errorf("find the app's installation on %s: %w", org, err)
		}
		c.RememberInstallation(org, inst.GetID())
	}
	client, _, _, err := c.clientFor(ctx, org+"/")
	return client, err
}

// Check run conclusions that pass and that fail; any other (stale, or one
// GitHub adds later) counts as pending, so it never lets a merge through.
var (
	passingConclusions = []string{"success", "neutral", "skipped"}
	failingConclusions = []string{"failure", "cancelled", "timed_out", "action_required", "startup_failure"}
)

// PRState implements bot.Repos. The read is conditional (ETag), so a PR
// that has not changed costs no rate limit.
func (c *Client) PRState(ctx context.Context, repo string, number int) (bot.PRState, error) {
	client, owner, name, err := c.clientFor(ctx, repo)
	if err != nil {
		return bot.PRState{}, err
	}
	pr, _, err := client.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return bot.PRState{}, fmt.Errorf("read PR #%d on %s: %w", number, repo, err)
	}
	return bot.PRState{Open: pr.GetState() == "open", Merged: pr.GetMerged(), MergedBy: pr.GetMergedBy().GetLogin()}, nil
}

// PRChecks implements bot.Repos: the PR's head commit's statuses (the
// latest of each context) and check runs (the latest of each name).
func (c *Client) PRChecks(ctx context.Context, repo string, number int) (bot.Checks, error) {
	client, owner, name, err := c.clientFor(ctx, repo)
	if err != nil {
		return bot.Checks{}, err
	}
	pr, _, err := client.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return bot.Checks{}, fmt.Errorf("read PR #%d on %s: %w", number, repo, err)
	}
	out := bot.Checks{SHA: pr.GetHead().GetSHA()}

	statusOpts := &gh.ListOptions{PerPage: 100}
	for {
		combined, resp, err := client.Repositories.GetCombinedStatus(ctx, owner, name, out.SHA, statusOpts)
		if err != nil {
			return bot.Checks{}, fmt.Errorf("read the commit statuses of PR #%d on %s: %w", number, repo, err)
		}
		for _, st := range combined.Statuses {
			switch st.GetState() {
			case "success":
			case "error", "failure":
				out.Failing = append(out.Failing, st.GetContext())
			default: // pending
				out.Pending = append(out.Pending, st.GetContext())
			}
		}
		if resp.NextPage == 0 {
			break
		}
		statusOpts.Page = resp.NextPage
	}

	runOpts := &gh.ListCheckRunsOptions{Filter: gh.Ptr("latest"), ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		runs, resp, err := client.Checks.ListCheckRunsForRef(ctx, owner, name, out.SHA, runOpts)
		if err != nil {
			return bot.Checks{}, fmt.Errorf("read the check runs of PR #%d on %s: %w", number, repo, err)
		}
		for _, run := range runs.CheckRuns {
			switch {
			case run.GetStatus() != "completed":
				out.Pending = append(out.Pending, run.GetName())
			case slices.Contains(passingConclusions, run.GetConclusion()):
			case slices.Contains(failingConclusions, run.GetConclusion()):
				out.Failing = append(out.Failing, run.GetName())
			default:
				out.Pending = append(out.Pending, run.GetName())
			}
		}
		if resp.NextPage == 0 {
			break
		}
		runOpts.Page = resp.NextPage
	}

	switch {
	case len(out.Failing) > 0:
		out.State = bot.ChecksFailing
	case len(out.Pending) > 0:
		out.State = bot.ChecksPending
	default:
		out.State = bot.ChecksPassing
	}
	return out, nil
}

// ErrHeadMoved is returned by MergePR when the PR's head is no longer the
// commit whose checks were read: nothing was merged.
var ErrHeadMoved = errors.New("its head moved since its checks were read")

// MergePR implements bot.Repos: a merge commit titled title, only if the
// PR's head is still sha, which GitHub checks as it merges.
func (c *Client) MergePR(ctx context.Context, repo string, number int, sha, title string) error {
	if sha == "" {
		return fmt.Errorf("merge PR #%d on %s: no head sha to merge at", number, repo)
	}
	client, owner, name, err := c.clientFor(ctx, repo)
	if err != nil {
		return err
	}
	_, _, err = client.PullRequests.Merge(ctx, owner, name, number, "", &gh.PullRequestOptions{
		CommitTitle: title, SHA: sha, MergeMethod: "merge",
	})
	if err == nil {
		return nil
	}
	refused := isStatus(err, http.StatusConflict) || isStatus(err, http.StatusMethodNotAllowed)
	if refused {
		// A retried merge whose first answer was lost finds the PR merged
		// already, at the very commit asked for: that is success.
		if pr, _, getErr := client.PullRequests.Get(ctx, owner, name, number); getErr == nil && pr.GetMerged() && pr.GetHead().GetSHA() == sha {
			return nil
		}
	}
	switch {
	case isStatus(err, http.StatusConflict):
		return fmt.Errorf("merge PR #%d on %s at %.7s: %w: %w", number, repo, sha, ErrHeadMoved, err)
	case isStatus(err, http.StatusMethodNotAllowed):
		return fmt.Errorf("merge PR #%d on %s: GitHub says it is not mergeable (closed, conflicting or blocked by branch protection): %w", number, repo, err)
	}
	return fmt.Errorf("merge PR #%d on %s: %w", number, repo, err)
}
