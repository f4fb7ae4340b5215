package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hmarr/codeowners"

	"github.com/migratebot/migratebot/config"
)

// Who approves a change, and how the bot finds out.
//
// A change approver is, on GitHub, one of the environment's github_approvers,
// a member of one of its github_teams, or a code owner of the files the
// change touches (CODEOWNERS of the repo the change is in); in Slack, one of
// its approvers or a member of its slack_approver_group. The bot itself
// never is one: reviews by apps are ignored before they get here.

// codeownersPaths are where GitHub looks for a CODEOWNERS file, in its order.
var codeownersPaths = []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}

// codeOwners returns the owners of paths in repo at ref: logins, and org/team
// for teams (e-mail owners cannot be requested and are left out). A repo
// without CODEOWNERS has none.
func (e *Engine) codeOwners(ctx context.Context, repo, ref string, paths []string) ([]string, error) {
	for _, p := range codeownersPaths {
		data, err := e.repos.ReadFile(ctx, repo, ref, p)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s of %s: %w", p, repo, err)
		}
		rules, err := codeowners.ParseFile(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s of %s: %w", p, repo, err)
		}
		var owners []string
		for _, path := range paths {
			rule, err := rules.Match(path)
			if err != nil {
				return nil, fmt.Errorf("%s of %s: match %s: %w", p, repo, path, err)
			}
			if rule == nil {
				continue
			}
			for _, o := range rule.Owners {
				if o.Type == codeowners.EmailOwner {
					continue
				}
				if !slices.Contains(owners, o.Value) {
					owners = append(owners, o.Value)
				}
			}
		}
		slices.Sort(owners)
		return owners, nil
	}
	return nil, nil
}

// reviewersOf splits the people to request on a change's PR into logins
// and team slugs (teams of the repo's org only: GitHub requests no other).
func reviewersOf(env *config.Environment, repo string, owners []string) (users, teams []string) {
	org, _, _ := strings.Cut(repo, "/")
	add := func(list *[]string, v string) {
		if !slices.ContainsFunc(*list, func(x string) bool { return strings.EqualFold(x, v) }) {
			*list = append(*list, v)
		}
	}
	for _, u := range env.People.GitHubApprovers {
		add(&users, u)
	}
	for _, t := range append(slices.Clone(env.People.GitHubTeams), owners...) {
		tOrg, slug, isTeam := strings.Cut(t, "/")
		switch {
		case !isTeam && slices.Contains(env.People.GitHubTeams, t):
			add(&teams, t) // a configured slug of the repo's org
		case !isTeam:
			add(&users, t) // a code owner's login
		case strings.EqualFold(tOrg, org):
			add(&teams, slug)
		}
	}
	return users, teams
}

// isGitHubApprover reports whether login may approve change c.
func (e *Engine) isGitHubApprover(ctx context.Context, env *config.Environment, c *Change, login string) (bool, error) {
	org, _, _ := strings.Cut(c.Repo, "/")
	teams := slices.Clone(env.People.GitHubTeams)
	for _, o := range c.Owners {
		if strings.Contains(o, "/") {
			teams = append(teams, o)
		} else if strings.EqualFold(o, login) {
			return true, nil
		}
	}
	if slices.ContainsFunc(env.People.GitHubApprovers, func(a string) bool { return strings.EqualFold(a, login) }) {
		return true, nil
	}
	for _, t := range teams {
		tOrg, slug, ok := strings.Cut(t, "/")
		if !ok {
			tOrg, slug = org, t
		}
		member, err := e.repos.TeamMember(ctx, tOrg, slug, login)
		if err != nil {
			return false, fmt.Errorf("is %s in team %s/%s: %w", login, tOrg, slug, err)
		}
		if member {
			return true, nil
		}
	}
	return false, nil
}

// isSlackApprover reports whether a Slack user may approve changes in env.
func (e *Engine) isSlackApprover(ctx context.Context, env *config.Environment, user string) (bool, error) {
	if slices.Contains(env.People.Approvers, user) {
		return true, nil
	}
	if env.People.SlackApproverGroup == "" {
		return false, nil
	}
	members, err := e.chat.GroupMembers(ctx, env.People.SlackApproverGroup)
	if err != nil {
		return false, fmt.Errorf("read the approvers' user group %s: %w", env.People.SlackApproverGroup, err)
	}
	return slices.Contains(members, user), nil
}

// approve records a change approval given in Slack (the step message's
// button, or `/migrate approve`): the ticket moves to approved and the step
// message shows it. It is not a GitHub review: the PR still needs one to
// merge, and auto-merge waits for it.
func (e *Engine) approve(ctx context.Context, req CommandRequest, key ServiceKey, env *config.Environment) error {
	ok, err := e.isSlackApprover(ctx, env, req.User)
	if err != nil {
		return err
	}
	if !ok {
		e.log.WarnContext(ctx, "unauthorized approval refused", "slack_user", req.User, "service", key.String())
		who := "its approvers"
		if g := env.People.SlackApproverGroup; g != "" {
			who = fmt.Sprintf("its approvers and the members of <!subteam^%s>", g)
		}
		return refuse("You may not approve changes in %s: only %s may.", key.Env, who)
	}
	return e.locked(ctx, key, func(m *Migration) error {
		c := m.Open
		if c == nil || c.State != ChangeOpen {
			return refuse("%s has no open PR to approve. `/migrate status %s` shows where it is.", key.Service, key.Service)
		}
		if c.RequestedBy == req.User {
			return refuse("You asked for this change (%s), so someone else must approve it.", c.Step)
		}
		id := "slack:" + req.User
		if r, ok := c.Reviews[id]; ok && r.State == "approved" {
			return refuse("You already approved PR #%d.", c.Number)
		}
		if c.Reviews == nil {
			c.Reviews = map[string]Review{}
		}
		c.Reviews[id] = Review{State: "approved", Approver: true, InSlack: true}
		e.wantTicket(ctx, m, c, TicketApproved, fmt.Sprintf("Approved by %s, a change approver, in Slack.", e.personName(ctx, req.User)))
		if err := e.save(ctx, m); err != nil {
			return err
		}
		e.log.InfoContext(ctx, "change approved in Slack", "migration", m.ID, "slack_user", req.User, "pr", c.Number)
		if err := e.postChange(ctx, m, c); err != nil {
			e.log.ErrorContext(ctx, "could not update the step message", "migration", m.ID, "err", err)
		}
		return e.remember(ctx, req, key)
	})
}
