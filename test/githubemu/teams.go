package githubemu

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Teams: who is in an organization's teams, as the bot asks when a team
// may approve, and which teams exist, for team review requests.

// AddTeam creates team slug in org, or adds to it, with members as active
// members (an invitation to one of them counts as accepted).
func (s *Server) AddTeam(org, slug string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.teamForSetupLocked(org, slug)
	for _, login := range members {
		if i := indexFold(t.invited, login); i >= 0 {
			t.invited = slices.Delete(t.invited, i, i+1)
		}
		if !containsFold(t.members, login) {
			t.members = append(t.members, s.accountLocked(login, kindUser).login)
		}
	}
}

// InviteToTeam invites login to team slug in org (created if needed): until
// AddTeam adds them, their membership is "pending", not "active".
func (s *Server) InviteToTeam(org, slug, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.teamForSetupLocked(org, slug)
	if !containsFold(t.members, login) && !containsFold(t.invited, login) {
		t.invited = append(t.invited, s.accountLocked(login, kindUser).login)
	}
}

func (s *Server) teamForSetupLocked(org, slug string) *team {
	if org == "" || slug == "" || strings.Contains(slug, "/") {
		panic(fmt.Sprintf("githubemu: team %q in %q: want an org and a slug", slug, org))
	}
	key := teamKey(org, slug)
	t := s.teams[key]
	if t == nil {
		t = &team{id: s.newIDLocked(), org: s.accountLocked(org, kindOrg).login, slug: slug}
		s.teams[key] = t
	}
	return t
}

func teamKey(org, slug string) string { return strings.ToLower(org + "/" + slug) }

// requestedTeamLocked is a team requested for review on r, which was
// checked to exist when it was requested, and teams are never removed.
func (s *Server) requestedTeamLocked(r *repo, slug string) *team {
	t := s.teams[teamKey(r.owner, slug)]
	if t == nil {
		panic(fmt.Sprintf("githubemu: bug: %s: requested team %s does not exist", r.fullName(), slug))
	}
	return t
}

// orgTeamParam resolves {org} and {team_slug} for an installation: a team
// of another organization is as missing as one that doesn't exist.
func (s *Server) orgTeamParam(c *call) (*team, error) {
	if !strings.EqualFold(c.param("org"), c.inst.account) {
		return nil, errNotFound()
	}
	t := s.teams[teamKey(c.param("org"), c.param("team_slug"))]
	if t == nil {
		return nil, errNotFound()
	}
	return t, nil
}

// GET /orgs/{org}/teams/{team_slug}
func (s *Server) getTeam(c *call) (int, any, error) {
	t, err := s.orgTeamParam(c)
	if err != nil {
		return 0, nil, err
	}
	repos := 0
	for _, r := range s.repos {
		if strings.EqualFold(r.owner, t.org) {
			repos++
		}
	}
	out := s.teamJSON(t)
	out["members_count"] = len(t.members)
	out["repos_count"] = repos
	out["organization"] = s.orgJSON(t.org)
	return http.StatusOK, out, nil
}

// GET /orgs/{org}/teams/{team_slug}/memberships/{username}
func (s *Server) getTeamMembership(c *call) (int, any, error) {
	t, err := s.orgTeamParam(c)
	if err != nil {
		return 0, nil, err
	}
	login := c.param("username")
	state := "active"
	switch {
	case containsFold(t.members, login):
	case containsFold(t.invited, login):
		state = "pending"
	default:
		return 0, nil, errNotFound()
	}
	url := fmt.Sprintf("%s/organizations/%d/team/%d/memberships/%s", s.api, s.accountLocked(t.org, kindOrg).id, t.id, s.accountLocked(login, kindUser).login)
	return http.StatusOK, obj{"url": url, "role": "member", "state": state}, nil
}
