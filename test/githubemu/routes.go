package githubemu

// registerRoutes lists every endpoint the emulator serves. Anything else
// answers 404, as GitHub does for what it doesn't have.
func (s *Server) registerRoutes() {
	app := func(method, pattern string, h handlerFunc) { s.router.add(method, pattern, authApp, h) }
	inst := func(method, pattern string, h handlerFunc) { s.router.add(method, pattern, authInstallation, h) }
	const repo = "/repos/{owner}/{repo}"

	// The app itself, with its JWT.
	app("GET", "/app", s.getApp)
	app("GET", "/app/installations", s.listInstallations)
	app("GET", "/app/installations/{installation_id}", s.getInstallation)
	app("POST", "/app/installations/{installation_id}/access_tokens", s.createAccessToken)
	app("GET", repo+"/installation", s.findInstallation)
	app("GET", "/orgs/{org}/installation", s.findInstallation)
	app("GET", "/users/{username}/installation", s.findInstallation)

	// An installation, with its token.
	inst("GET", "/installation/repositories", s.listInstallationRepos)
	inst("GET", repo, s.getRepo)
	inst("GET", repo+"/branches", s.listBranches)
	inst("GET", repo+"/branches/{branch...}", s.getBranch)
	inst("GET", repo+"/contents", s.getContents)
	inst("GET", repo+"/contents/{path...}", s.getContents)
	inst("GET", repo+"/collaborators/{username}/permission", s.getPermission)
	inst("GET", "/orgs/{org}/teams/{team_slug}", s.getTeam)
	inst("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", s.getTeamMembership)

	inst("GET", repo+"/commits/{ref...}/status", s.getCombinedStatus)
	inst("GET", repo+"/commits/{ref...}/check-runs", s.listCheckRunsForRef)
	inst("POST", repo+"/statuses/{sha}", s.createStatus)

	inst("GET", repo+"/git/ref/{ref...}", s.getRef)
	inst("GET", repo+"/git/matching-refs", s.matchingRefs)
	inst("GET", repo+"/git/matching-refs/{ref...}", s.matchingRefs)
	inst("POST", repo+"/git/refs", s.createRef)
	inst("PATCH", repo+"/git/refs/{ref...}", s.updateRef)
	inst("DELETE", repo+"/git/refs/{ref...}", s.deleteRef)
	inst("POST", repo+"/git/blobs", s.createBlob)
	inst("GET", repo+"/git/blobs/{sha}", s.getBlob)
	inst("POST", repo+"/git/trees", s.createTree)
	inst("GET", repo+"/git/trees/{sha}", s.getTree)
	inst("POST", repo+"/git/commits", s.createCommit)
	inst("GET", repo+"/git/commits/{sha}", s.getCommit)

	inst("POST", repo+"/pulls", s.createPull)
	inst("GET", repo+"/pulls", s.listPulls)
	inst("GET", repo+"/pulls/{number}", s.getPull)
	inst("PATCH", repo+"/pulls/{number}", s.updatePull)
	inst("PUT", repo+"/pulls/{number}/merge", s.mergePull)
	inst("GET", repo+"/pulls/{number}/files", s.listPullFiles)
	inst("POST", repo+"/pulls/{number}/requested_reviewers", s.requestReviewers)
	inst("GET", repo+"/pulls/{number}/requested_reviewers", s.listRequestedReviewers)
	inst("DELETE", repo+"/pulls/{number}/requested_reviewers", s.removeRequestedReviewers)
	inst("GET", repo+"/pulls/{number}/reviews", s.listReviews)
	inst("POST", repo+"/pulls/{number}/reviews", s.createReview)
	inst("PUT", repo+"/pulls/{number}/reviews/{review_id}/dismissals", s.dismissReviewAPI)

	inst("POST", repo+"/issues", s.createIssue)
	inst("GET", repo+"/issues", s.listIssues)
	inst("GET", repo+"/issues/{number}", s.getIssue)
	inst("PATCH", repo+"/issues/{number}", s.updateIssue)
	inst("POST", repo+"/issues/{number}/labels", s.addLabels)
	inst("GET", repo+"/issues/{number}/labels", s.listLabels)
	inst("DELETE", repo+"/issues/{number}/labels/{name}", s.removeLabel)
	inst("POST", repo+"/issues/{number}/comments", s.createComment)
	inst("GET", repo+"/issues/{number}/comments", s.listComments)
	inst("GET", repo+"/issues/comments/{comment_id}", s.getComment)
	inst("PATCH", repo+"/issues/comments/{comment_id}", s.updateComment)
	inst("POST", repo+"/issues/comments/{comment_id}/reactions", s.createReaction)
}
