package githubemu

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"
)

// Commit statuses and check runs: what CI says about a commit. CI is
// played by tests (SetStatus, SetCheckRun, SetPRChecks); the bot reads
// them, and may post statuses of its own. Neither sends webhooks: the app
// subscribes to no status or check events.

// ciLogin is who posts the statuses SetStatus sets, as an external CI's
// bot account would.
const ciLogin = "ci[bot]"

// The GitHub Actions app, which the check runs SetCheckRun sets belong to.
const (
	actionsAppID   = 15368
	actionsAppSlug = "github-actions"
)

var (
	statusStates    = []string{"error", "failure", "pending", "success"}
	checkStatuses   = []string{"queued", "in_progress", "completed", "waiting", "requested", "pending"}
	checkConclusion = []string{"action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out", "startup_failure"}
)

// SetStatus posts a commit status on sha (a commit, or a branch for its
// tip) of repo, as a CI system would: state error, failure, pending or
// success, for context ("default" when empty). A later status for the
// same context supersedes it in the combined status. It panics on an
// unknown repo, commit or state: a mistake in the test.
func (s *Server) SetStatus(repo, sha, context, state string) {
	if !slices.Contains(statusStates, state) {
		panic(fmt.Sprintf("githubemu: SetStatus(%q, %q, %q): unknown state %q", repo, sha, context, state))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, commit := s.mustCommitLocked("SetStatus", repo, sha)
	s.addStatusLocked(r, commit, context, state, "", "", ciLogin)
}

// SetCheckRun creates or updates the check run name on sha (a commit, or a
// branch for its tip) of repo, as GitHub Actions would: status queued,
// in_progress or completed (also waiting, requested, pending), and for a
// completed run its conclusion (success, failure, neutral, cancelled,
// skipped, timed_out, action_required, stale, startup_failure); a run not
// completed has none. It panics on an unknown repo or commit or a bad
// status or conclusion: a mistake in the test.
func (s *Server) SetCheckRun(repo, sha, name, status, conclusion string) {
	if err := checkRunValid(status, conclusion); err != nil {
		panic(fmt.Sprintf("githubemu: SetCheckRun(%q, %q, %q): %v", repo, sha, name, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, commit := s.mustCommitLocked("SetCheckRun", repo, sha)
	s.setCheckRunLocked(r, commit, name, status, conclusion)
}

// SetPRChecks sets check runs named names on the current head of pull
// request number: state is a conclusion (success, failure, ...) for
// completed runs, or queued or in_progress for runs still going. It
// returns the head's sha. It panics on an unknown PR or a bad state.
func (s *Server) SetPRChecks(repo string, number int, state string, names ...string) string {
	status, conclusion := "completed", state
	if slices.Contains(checkStatuses, state) {
		status, conclusion = state, ""
	}
	if err := checkRunValid(status, conclusion); err != nil {
		panic(fmt.Sprintf("githubemu: SetPRChecks(%q, %d): %v", repo, number, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, is, err := s.pullLocked(repo, number)
	if err != nil {
		panic(fmt.Sprintf("githubemu: SetPRChecks: %v", err))
	}
	head := is.pull.headSHA
	if sha, ok := r.branchSHA(is.pull.head); ok && is.state == "open" {
		head = sha
	}
	for _, name := range names {
		s.setCheckRunLocked(r, head, name, status, conclusion)
	}
	return head
}

func checkRunValid(status, conclusion string) error {
	switch {
	case !slices.Contains(checkStatuses, status):
		return fmt.Errorf("unknown status %q", status)
	case status == "completed" && !slices.Contains(checkConclusion, conclusion):
		return fmt.Errorf("unknown conclusion %q for a completed run", conclusion)
	case status != "completed" && conclusion != "":
		return fmt.Errorf("a %s run has no conclusion (got %q)", status, conclusion)
	}
	return nil
}

func (s *Server) mustCommitLocked(what, repo, ref string) (*repo, string) {
	r, err := s.repoLocked(repo)
	if err != nil {
		panic(fmt.Sprintf("githubemu: %s: %v", what, err))
	}
	sha, ok := r.resolve(ref)
	if !ok || ref == "" {
		panic(fmt.Sprintf("githubemu: %s: %s has no commit or branch %q", what, repo, ref))
	}
	return r, sha
}

func (s *Server) addStatusLocked(r *repo, sha, context, state, description, targetURL, creator string) *commitStatus {
	if context == "" {
		context = "default"
	}
	st := &commitStatus{
		id:          s.newIDLocked(),
		context:     context,
		state:       state,
		description: description,
		targetURL:   targetURL,
		creator:     s.accountLocked(creator, kindUser).login,
		createdAt:   s.now(),
	}
	r.statuses[sha] = append(r.statuses[sha], st)
	return st
}

func (s *Server) setCheckRunLocked(r *repo, sha, name, status, conclusion string) {
	now := s.now()
	var run *checkRun
	var suite int64
	for _, cr := range r.checkRuns {
		if cr.headSHA == sha {
			suite = cr.suiteID
			if cr.name == name {
				run = cr
			}
		}
	}
	if suite == 0 {
		suite = s.newIDLocked()
	}
	if run == nil {
		run = &checkRun{id: s.newIDLocked(), suiteID: suite, name: name, headSHA: sha}
		r.checkRuns = append(r.checkRuns, run)
	}
	run.status, run.conclusion = status, conclusion
	if status == "in_progress" || status == "completed" {
		if run.startedAt.IsZero() {
			run.startedAt = now
		}
	}
	if status == "completed" {
		run.completedAt = now
	} else {
		run.completedAt = time.Time{}
	}
}

// refParam resolves {ref}: a commit sha or a branch (or tag) name.
func refParam(c *call) (string, error) {
	ref := c.param("ref")
	sha, ok := c.repo.resolve(ref)
	if !ok {
		return "", errUnprocessable("No commit found for SHA: %s", ref)
	}
	return sha, nil
}

// POST /repos/{owner}/{repo}/statuses/{sha}
func (s *Server) createStatus(c *call) (int, any, error) {
	var req struct {
		State       string `json:"state"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
		Context     string `json:"context"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	r, sha := c.repo, c.param("sha")
	if _, ok := r.git.commit(sha); !ok {
		return 0, nil, errUnprocessable("No commit found for SHA: %s", sha)
	}
	if !slices.Contains(statusStates, req.State) {
		return 0, nil, errValidation(fieldError("Status", "state", "custom", "state is not included in the list"))
	}
	st := s.addStatusLocked(r, sha, req.Context, req.State, req.Description, req.TargetURL, c.actor)
	out := s.statusJSON(r, sha, st)
	out["creator"] = s.userJSON(st.creator)
	return http.StatusCreated, out, nil
}

// GET /repos/{owner}/{repo}/commits/{ref...}/status
func (s *Server) getCombinedStatus(c *call) (int, any, error) {
	sha, err := refParam(c)
	if err != nil {
		return 0, nil, err
	}
	r := c.repo
	// The latest status of each context, by context.
	latest := map[string]*commitStatus{}
	for _, st := range r.statuses[sha] {
		latest[st.context] = st
	}
	contexts := make([]string, 0, len(latest))
	for ctx := range latest {
		contexts = append(contexts, ctx)
	}
	sort.Strings(contexts)
	// GitHub's rule: failure if any context errored or failed, pending if
	// any is pending or there are none, else success.
	state := "success"
	if len(contexts) == 0 {
		state = "pending"
	}
	all := make([]obj, 0, len(contexts))
	for _, ctx := range contexts {
		st := latest[ctx]
		switch {
		case st.state == "error" || st.state == "failure":
			state = "failure"
		case st.state == "pending" && state != "failure":
			state = "pending"
		}
		all = append(all, s.statusJSON(r, sha, st))
	}
	api := fmt.Sprintf("%s/repos/%s/commits/%s", s.api, r.fullName(), sha)
	repoObj := s.repoJSON(r)
	return http.StatusOK, obj{
		"state":       state,
		"statuses":    paginate(s, c, all),
		"sha":         sha,
		"total_count": len(all),
		"repository":  repoObj,
		"commit_url":  api,
		"url":         api + "/status",
	}, nil
}

func (s *Server) statusJSON(r *repo, sha string, st *commitStatus) obj {
	a := s.accountLocked(st.creator, kindUser)
	return obj{
		"url":         fmt.Sprintf("%s/repos/%s/statuses/%s", s.api, r.fullName(), sha),
		"avatar_url":  fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", a.id),
		"id":          st.id,
		"node_id":     nodeID("StatusContext", st.id),
		"state":       st.state,
		"description": nilIfEmpty(st.description),
		"target_url":  nilIfEmpty(st.targetURL),
		"context":     st.context,
		"created_at":  stamp(st.createdAt),
		"updated_at":  stamp(st.createdAt),
	}
}

// GET /repos/{owner}/{repo}/commits/{ref...}/check-runs
func (s *Server) listCheckRunsForRef(c *call) (int, any, error) {
	sha, err := refParam(c)
	if err != nil {
		return 0, nil, err
	}
	switch c.query.Get("filter") {
	case "", "latest", "all":
	default:
		return 0, nil, errValidation(fieldError("CheckRun", "filter", "invalid", ""))
	}
	// Runs are updated in place (SetCheckRun), so "latest" and "all" list
	// the same runs.
	name, status := c.query.Get("check_name"), c.query.Get("status")
	var runs []*checkRun
	for _, cr := range c.repo.checkRuns {
		if cr.headSHA != sha || (name != "" && cr.name != name) || (status != "" && cr.status != status) {
			continue
		}
		runs = append(runs, cr)
	}
	// Newest first, as GitHub lists them.
	slices.Reverse(runs)
	out := make([]obj, 0, len(runs))
	for _, cr := range runs {
		out = append(out, s.checkRunJSON(c.repo, cr))
	}
	return http.StatusOK, obj{"total_count": len(out), "check_runs": paginate(s, c, out)}, nil
}

func (s *Server) checkRunJSON(r *repo, cr *checkRun) obj {
	api := fmt.Sprintf("%s/repos/%s/check-runs/%d", s.api, r.fullName(), cr.id)
	html := fmt.Sprintf("%s/runs/%d", r.htmlURL(), cr.id)
	// The open PRs whose head is the run's commit, as GitHub links them.
	prs := []obj{}
	for _, is := range r.sortedIssues() {
		if is.pull == nil || is.state != "open" {
			continue
		}
		head, _ := r.branchSHA(is.pull.head)
		if head != cr.headSHA {
			continue
		}
		base, _ := r.branchSHA(is.pull.base)
		repoRef := obj{"id": r.id, "url": s.api + "/repos/" + r.fullName(), "name": r.name}
		prs = append(prs, obj{
			"url":    fmt.Sprintf("%s/repos/%s/pulls/%d", s.api, r.fullName(), is.number),
			"id":     is.pull.id,
			"number": is.number,
			"head":   obj{"ref": is.pull.head, "sha": head, "repo": repoRef},
			"base":   obj{"ref": is.pull.base, "sha": base, "repo": repoRef},
		})
	}
	return obj{
		"id":           cr.id,
		"node_id":      nodeID("CheckRun", cr.id),
		"head_sha":     cr.headSHA,
		"external_id":  "",
		"url":          api,
		"html_url":     html,
		"details_url":  html,
		"status":       cr.status,
		"conclusion":   nilIfEmpty(cr.conclusion),
		"started_at":   stampOrNil(cr.startedAt),
		"completed_at": stampOrNil(cr.completedAt),
		"output": obj{
			"title": nil, "summary": nil, "text": nil,
			"annotations_count": 0, "annotations_url": api + "/annotations",
		},
		"name":          cr.name,
		"check_suite":   obj{"id": cr.suiteID},
		"app":           s.actionsAppJSON(),
		"pull_requests": prs,
	}
}

func (s *Server) actionsAppJSON() obj {
	return obj{
		"id":           actionsAppID,
		"slug":         actionsAppSlug,
		"node_id":      nodeID("Integration", actionsAppID),
		"owner":        s.orgJSON("github"),
		"name":         "GitHub Actions",
		"description":  "Automate your workflow from idea to production",
		"external_url": "https://help.github.com/en/actions",
		"html_url":     "https://github.com/apps/" + actionsAppSlug,
		"created_at":   "2018-07-30T09:30:17Z",
		"updated_at":   "2019-12-10T19:04:12Z",
		"permissions":  obj{"checks": "write", "contents": "write", "metadata": "read", "statuses": "write"},
		"events":       []string{"check_run", "check_suite", "push", "pull_request"},
	}
}
