package githubemu

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v88/github"
)

func TestTeamMembership(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	f.emu.AddTeam(testOrg, "change-approvers", "carol", "alice")
	f.emu.InviteToTeam(testOrg, "change-approvers", "dave")
	f.emu.InviteToTeam(testOrg, "change-approvers", "alice") // already in: stays active
	f.emu.AddTeam("globex", "change-approvers", "bob")       // another org's team of the same name

	for _, tc := range []struct {
		name, org, team, login string
		wantStatus             int
		wantState              string
	}{
		{name: "active member", org: testOrg, team: "change-approvers", login: "carol", wantStatus: 200, wantState: "active"},
		{name: "login in another case", org: testOrg, team: "change-approvers", login: "Carol", wantStatus: 200, wantState: "active"},
		{name: "invited, not active", org: testOrg, team: "change-approvers", login: "dave", wantStatus: 200, wantState: "pending"},
		{name: "invited after joining", org: testOrg, team: "change-approvers", login: "alice", wantStatus: 200, wantState: "active"},
		{name: "not a member", org: testOrg, team: "change-approvers", login: "bob", wantStatus: 404},
		{name: "no such team", org: testOrg, team: "nobody", login: "carol", wantStatus: 404},
		{name: "another org's team", org: "globex", team: "change-approvers", login: "bob", wantStatus: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, resp, err := gh.Teams.GetTeamMembershipBySlug(ctx, tc.org, tc.team, tc.login)
			if statusOf(resp) != tc.wantStatus {
				t.Fatalf("status %d (%v), want %d", statusOf(resp), err, tc.wantStatus)
			}
			if tc.wantStatus != 200 {
				return
			}
			if m.GetState() != tc.wantState || m.GetRole() != "member" || m.GetURL() == "" {
				t.Errorf("membership = %s %s %s, want %s member", m.GetState(), m.GetRole(), m.GetURL(), tc.wantState)
			}
		})
	}

	// Accepting the invitation makes it active.
	f.emu.AddTeam(testOrg, "change-approvers", "dave")
	if m, _, err := gh.Teams.GetTeamMembershipBySlug(ctx, testOrg, "change-approvers", "dave"); err != nil || m.GetState() != "active" {
		t.Errorf("dave after AddTeam: %s, %v", m.GetState(), err)
	}

	team, _, err := gh.Teams.GetTeamBySlug(ctx, testOrg, "change-approvers")
	if err != nil {
		t.Fatal(err)
	}
	if team.GetSlug() != "change-approvers" || team.GetMembersCount() != 3 || team.GetOrganization().GetLogin() != testOrg || team.GetID() == 0 {
		t.Errorf("team = %s, %d members, org %s, id %d", team.GetSlug(), team.GetMembersCount(), team.GetOrganization().GetLogin(), team.GetID())
	}
	if _, resp, _ := gh.Teams.GetTeamBySlug(ctx, testOrg, "nobody"); statusOf(resp) != 404 {
		t.Errorf("unknown team: %d, want 404", statusOf(resp))
	}

	var routes []string
	for _, c := range f.emu.Calls() {
		routes = append(routes, c.Route)
	}
	for _, r := range []string{"GET /orgs/{org}/teams/{team_slug}/memberships/{username}", "GET /orgs/{org}/teams/{team_slug}"} {
		if !contains(routes, r) {
			t.Errorf("no call recorded for %s", r)
		}
	}
}

func TestTeamReviewers(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	f.emu.AddTeam(testOrg, "change-approvers", "carol")
	pr := openChange(t, gh, branch, map[string]*string{"a.txt": ptr("a\n")})
	n := pr.GetNumber()

	// A team that does not exist is refused, and nothing is requested.
	_, resp, err := gh.PullRequests.RequestReviewers(ctx, testOrg, "envs-config", n, github.ReviewersRequest{Reviewers: []string{"carol"}, TeamReviewers: []string{"no-such-team"}})
	wantAPIError(t, "unknown team", resp, err, 422, "Reviews may only be requested from collaborators. "+
		"One or more of the users or teams you specified is not a collaborator of the acme/envs-config repository.")
	if p, _ := f.emu.PR(testRepo, n); len(p.Reviewers) != 0 || len(p.TeamReviewers) != 0 {
		t.Errorf("after a refused request: reviewers %v teams %v", p.Reviewers, p.TeamReviewers)
	}

	got, _, err := gh.PullRequests.RequestReviewers(ctx, testOrg, "envs-config", n, github.ReviewersRequest{TeamReviewers: []string{"Change-Approvers"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.RequestedTeams) != 1 || got.RequestedTeams[0].GetSlug() != "change-approvers" {
		t.Errorf("requested_teams = %v", got.RequestedTeams)
	}
	if p, _ := f.emu.PR(testRepo, n); !cmp.Equal(p.TeamReviewers, []string{"change-approvers"}) {
		t.Errorf("TeamReviewers = %v", p.TeamReviewers)
	}
	listed, _, err := gh.PullRequests.ListReviewers(ctx, testOrg, "envs-config", n)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed.Teams) != 1 || listed.Teams[0].GetSlug() != "change-approvers" {
		t.Errorf("listed teams = %v", listed.Teams)
	}
	f.emu.WaitIdle()
	ev, ok := f.hooks.last().parsed.(*github.PullRequestEvent)
	if !ok || ev.GetAction() != "review_requested" || ev.GetRequestedTeam().GetSlug() != "change-approvers" {
		t.Errorf("last webhook: %T %s team %s", f.hooks.last().parsed, ev.GetAction(), ev.GetRequestedTeam().GetSlug())
	}
}
