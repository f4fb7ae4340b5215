package githubemu

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Review requests and reviews. Reviews by people come from Server.Review;
// the API side is what the bot may do.

// POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers
func (s *Server) requestReviewers(c *call) (int, any, error) {
	is, err := pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	var req struct {
		Reviewers     []string `json:"reviewers"`
		TeamReviewers []string `json:"team_reviewers"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	r, p := c.repo, is.pull
	notCollaborator := errUnprocessable("Reviews may only be requested from collaborators. "+
		"One or more of the users or teams you specified is not a collaborator of the %s repository.", r.fullName())
	for _, login := range req.Reviewers {
		if strings.EqualFold(login, is.author) {
			return 0, nil, errUnprocessable("Review cannot be requested from pull request author.")
		}
		if s.roleLocked(r, login) == "none" {
			return 0, nil, notCollaborator
		}
	}
	// A team must exist in the repo's organization (AddTeam); GitHub
	// answers an unknown one as it does a user without access.
	for _, slug := range req.TeamReviewers {
		if s.teams[teamKey(r.owner, slug)] == nil {
			return 0, nil, notCollaborator
		}
	}
	type added struct{ user, team string }
	var news []added
	for _, login := range req.Reviewers {
		if !containsFold(p.reviewers, login) {
			p.reviewers = append(p.reviewers, s.accountLocked(login, kindUser).login)
			news = append(news, added{user: login})
		}
	}
	for _, slug := range req.TeamReviewers {
		if !containsFold(p.teams, slug) {
			t := s.teams[teamKey(r.owner, slug)]
			p.teams = append(p.teams, t.slug)
			news = append(news, added{team: t.slug})
		}
	}
	if len(news) > 0 {
		is.updatedAt = s.now()
		s.pullEventLocked(r, is, "updated", c.actor)
		for _, a := range news {
			extra := obj{"requested_reviewer": s.userOrNil(a.user)}
			if a.team != "" {
				extra = obj{"requested_team": s.teamJSON(s.requestedTeamLocked(r, a.team))}
			}
			s.pullHookLocked(r, is, "review_requested", c.actor, extra)
		}
	}
	return http.StatusCreated, s.pullJSON(r, is), nil
}

// GET /repos/{owner}/{repo}/pulls/{number}/requested_reviewers
func (s *Server) listRequestedReviewers(c *call) (int, any, error) {
	is, err := pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, obj{"users": s.usersJSON(is.pull.reviewers), "teams": s.requestedTeamsJSON(c.repo, is.pull.teams)}, nil
}

// DELETE /repos/{owner}/{repo}/pulls/{number}/requested_reviewers
func (s *Server) removeRequestedReviewers(c *call) (int, any, error) {
	is, err := pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	var req struct {
		Reviewers     []string `json:"reviewers"`
		TeamReviewers []string `json:"team_reviewers"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	r, p := c.repo, is.pull
	for _, login := range req.Reviewers {
		if i := indexFold(p.reviewers, login); i >= 0 {
			removed := p.reviewers[i]
			p.reviewers = slices.Delete(p.reviewers, i, i+1)
			s.pullHookLocked(r, is, "review_request_removed", c.actor, obj{"requested_reviewer": s.userJSON(removed)})
		}
	}
	for _, team := range req.TeamReviewers {
		if i := indexFold(p.teams, team); i >= 0 {
			removed := p.teams[i]
			p.teams = slices.Delete(p.teams, i, i+1)
			s.pullHookLocked(r, is, "review_request_removed", c.actor, obj{"requested_team": s.teamJSON(s.requestedTeamLocked(r, removed))})
		}
	}
	return http.StatusOK, s.pullJSON(r, is), nil
}

// GET /repos/{owner}/{repo}/pulls/{number}/reviews
func (s *Server) listReviews(c *call) (int, any, error) {
	is, err := pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	out := make([]obj, 0, len(is.pull.reviews))
	for _, rv := range is.pull.reviews {
		if rv.state == "PENDING" && !strings.EqualFold(rv.author, c.actor) {
			continue // pending reviews are private to their author
		}
		out = append(out, s.reviewJSON(c.repo, is.number, rv))
	}
	return http.StatusOK, paginate(s, c, out), nil
}

// POST /repos/{owner}/{repo}/pulls/{number}/reviews
func (s *Server) createReview(c *call) (int, any, error) {
	is, err := pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	var req struct {
		Body     string `json:"body"`
		Event    string `json:"event"`
		CommitID string `json:"commit_id"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	state := "PENDING"
	if req.Event != "" {
		var ok bool
		if state, ok = reviewState(req.Event); !ok {
			return 0, nil, errValidation(fieldError("PullRequestReview", "event", "invalid", ""))
		}
	}
	// The API wants a body for these; people in the web UI may leave it out.
	if req.Body == "" && (state == "CHANGES_REQUESTED" || state == "COMMENTED") {
		return 0, nil, errUnprocessable("Body is required to request changes or to comment")
	}
	rv, err := s.reviewLocked(c.repo, is, c.actor, state, req.Body)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.reviewJSON(c.repo, is.number, rv), nil
}

// reviewState maps the API's events and the states people name to a
// review state: APPROVE/APPROVED, REQUEST_CHANGES/CHANGES_REQUESTED,
// COMMENT/COMMENTED, case-insensitive, "-" for "_".
func reviewState(s string) (string, bool) {
	switch strings.ReplaceAll(strings.ToUpper(s), "-", "_") {
	case "APPROVE", "APPROVED":
		return "APPROVED", true
	case "REQUEST_CHANGES", "CHANGES_REQUESTED":
		return "CHANGES_REQUESTED", true
	case "COMMENT", "COMMENTED":
		return "COMMENTED", true
	case "PENDING":
		return "PENDING", true
	}
	return "", false
}

// reviewLocked records a review and, unless pending, sends
// pull_request_review "submitted". Like GitHub, a review by a requested
// reviewer fulfils the request.
func (s *Server) reviewLocked(r *repo, is *issue, by, state, body string) (*review, error) {
	if is.state != "open" {
		return nil, errUnprocessable("Pull request is closed")
	}
	if strings.EqualFold(by, is.author) && (state == "APPROVED" || state == "CHANGES_REQUESTED") {
		return nil, errUnprocessable("Can not %s your own pull request",
			map[string]string{"APPROVED": "approve", "CHANGES_REQUESTED": "request changes on"}[state])
	}
	f := s.pullFactsLocked(r, is)
	rv := &review{
		id:       s.newIDLocked(),
		author:   s.accountLocked(by, kindUser).login,
		state:    state,
		body:     body,
		commitID: f.head,
	}
	is.pull.reviews = append(is.pull.reviews, rv)
	if state == "PENDING" {
		return rv, nil
	}
	rv.submittedAt = s.now()
	is.updatedAt = rv.submittedAt
	if i := indexFold(is.pull.reviewers, by); i >= 0 {
		is.pull.reviewers = slices.Delete(is.pull.reviewers, i, i+1)
	}
	s.reviewHookLocked(r, is, rv, "submitted", by)
	return rv, nil
}

func (s *Server) reviewHookLocked(r *repo, is *issue, rv *review, action, sender string) {
	reviewObj := s.reviewJSON(r, is.number, rv)
	reviewObj["state"] = strings.ToLower(rv.state) // webhooks spell states in lower case
	reviewObj["body"] = nilIfEmpty(rv.body)
	s.emitHookLocked(r, "pull_request_review", sender, obj{
		"action":       action,
		"review":       reviewObj,
		"pull_request": s.pullJSON(r, is),
	})
}

// PUT /repos/{owner}/{repo}/pulls/{number}/reviews/{review_id}/dismissals
func (s *Server) dismissReviewAPI(c *call) (int, any, error) {
	is, err := pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	id, err := strconv.ParseInt(c.param("review_id"), 10, 64)
	if err != nil {
		return 0, nil, errNotFound()
	}
	var req struct {
		Message string `json:"message"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	rv, err := s.dismissLocked(c.repo, is, id, c.actor, req.Message)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.reviewJSON(c.repo, is.number, rv), nil
}

func (s *Server) dismissLocked(r *repo, is *issue, reviewID int64, by, message string) (*review, error) {
	if message == "" {
		return nil, errValidation(fieldError("PullRequestReview", "message", "missing_field", ""))
	}
	for _, rv := range is.pull.reviews {
		if rv.id != reviewID {
			continue
		}
		if rv.state != "APPROVED" && rv.state != "CHANGES_REQUESTED" {
			return nil, errUnprocessable("Can not dismiss a %s pull request review", strings.ToLower(rv.state))
		}
		rv.state = "DISMISSED"
		is.updatedAt = s.now()
		s.reviewHookLocked(r, is, rv, "dismissed", by)
		return rv, nil
	}
	return nil, errNotFound()
}
