package githubemu

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// pullFacts is what git says about a pull request right now.
type pullFacts struct {
	head      string // head commit
	baseTip   string // base branch tip (frozen once closed)
	mergeBase string // "" for unrelated histories
	headFiles fileMap
	baseFiles fileMap // at the merge base
	tipFiles  fileMap // at the base tip
	paths     []string
	conflicts []string // paths the base changed too, differently, since the merge base
	commits   int
	additions int
	deletions int
}

// pullFactsLocked computes a PR's diff and mergeability from git. An
// error here means the emulator lost an object it made: a bug, so it panics.
func (s *Server) pullFactsLocked(r *repo, is *issue) pullFacts {
	p := is.pull
	f := pullFacts{head: p.headSHA, baseTip: p.baseSHA, mergeBase: p.closedBase}
	if is.state == "open" {
		if sha, ok := r.branchSHA(p.head); ok {
			f.head = sha
		}
		if sha, ok := r.branchSHA(p.base); ok {
			f.baseTip = sha
		}
		f.mergeBase, _ = r.git.mergeBase(f.head, f.baseTip) // "" when unrelated
	}
	mustFiles := func(sha string) fileMap {
		if sha == "" {
			return fileMap{}
		}
		files, err := r.git.commitFiles(sha)
		if err != nil {
			panic(fmt.Sprintf("githubemu: bug: %s#%d: %v", r.fullName(), is.number, err))
		}
		return files
	}
	f.headFiles = mustFiles(f.head)
	f.baseFiles = mustFiles(f.mergeBase)
	f.tipFiles = mustFiles(f.baseTip)
	f.paths = changedPaths(f.baseFiles, f.headFiles)

	baseChanged := map[string]bool{}
	for _, p := range changedPaths(f.baseFiles, f.tipFiles) {
		baseChanged[p] = true
	}
	for _, p := range f.paths {
		if baseChanged[p] && f.tipFiles[p] != f.headFiles[p] {
			f.conflicts = append(f.conflicts, p)
		}
	}

	// The base tip is frozen when a PR closes, so this counts the PR's
	// own commits before and after a merge alike.
	stop := r.git.ancestors(f.baseTip)
	for sha := range r.git.ancestors(f.head) {
		if !stop[sha] {
			f.commits++
		}
	}
	for _, path := range f.paths {
		_, add, del := unifiedPatch(s.contentLocked(r, f.baseFiles, path), s.contentLocked(r, f.headFiles, path))
		f.additions += add
		f.deletions += del
	}
	return f
}

// contentLocked is a file's text in a file map ("" when absent).
func (s *Server) contentLocked(r *repo, files fileMap, path string) string {
	c := fileContent(r, files, path)
	if c == nil {
		return ""
	}
	return *c
}

// fileContent is a file's text, or nil when the path is absent.
func fileContent(r *repo, files fileMap, path string) *string {
	f, ok := files[path]
	if !ok {
		return nil
	}
	if f.mode == modeCommit {
		text := "Subproject commit " + f.sha
		return &text
	}
	b, ok := r.git.blob(f.sha)
	if !ok {
		panic(fmt.Sprintf("githubemu: bug: %s: blob %s of %s is missing", r.fullName(), f.sha, path))
	}
	text := string(b.data)
	return &text
}

// pullEventLocked emits a github.pull_request event with the PR's state now.
func (s *Server) pullEventLocked(r *repo, is *issue, action, by string) {
	f := s.pullFactsLocked(r, is)
	files := make(map[string]*string, len(f.paths))
	baseFiles := make(map[string]*string, len(f.paths))
	for _, p := range f.paths {
		files[p] = fileContent(r, f.headFiles, p)
		baseFiles[p] = fileContent(r, f.baseFiles, p)
	}
	reviewers := slices.Clone(is.pull.reviewers)
	for _, t := range is.pull.teams {
		reviewers = append(reviewers, r.owner+"/"+t)
	}
	s.emitEventLocked(Event{
		Kind:      "github.pull_request",
		Action:    action,
		Repo:      r.fullName(),
		Number:    is.number,
		Title:     is.title,
		Body:      is.body,
		Branch:    is.pull.head,
		Base:      is.pull.base,
		URL:       fmt.Sprintf("%s/pull/%d", r.htmlURL(), is.number),
		By:        by,
		Reviewers: reviewers,
		Labels:    slices.Clone(is.labels),
		Files:     files,
		BaseFiles: baseFiles,
	})
}

// pullHookLocked queues a pull_request webhook; extra adds keys such as
// "changes" or "requested_reviewer".
func (s *Server) pullHookLocked(r *repo, is *issue, action, sender string, extra obj) {
	payload := obj{"action": action, "number": is.number, "pull_request": s.pullJSON(r, is)}
	maps.Copy(payload, extra)
	s.emitHookLocked(r, "pull_request", sender, payload)
}

// POST /repos/{owner}/{repo}/pulls
func (s *Server) createPull(c *call) (int, any, error) {
	var req struct {
		Title *string `json:"title"`
		Head  string  `json:"head"`
		Base  string  `json:"base"`
		Body  *string `json:"body"`
		Draft bool    `json:"draft"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	body := ""
	if req.Body != nil {
		body = *req.Body
	}
	if req.Title == nil {
		return 0, nil, errValidation(fieldError("PullRequest", "title", "missing_field", ""))
	}
	is, err := s.openPullLocked(c.repo, req.Head, req.Base, *req.Title, body, c.actor, req.Draft)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, s.pullJSON(c.repo, is), nil
}

// openPullLocked opens a pull request by author from head into base, as
// GitHub validates one, and sends its event and webhook.
func (s *Server) openPullLocked(r *repo, head, base, title, body, author string, draft bool) (*issue, error) {
	if owner, branch, ok := strings.Cut(head, ":"); ok {
		if !strings.EqualFold(owner, r.owner) {
			// Pull requests from forks are outside what the bot does.
			return nil, errValidation(fieldError("PullRequest", "head", "invalid", ""))
		}
		head = branch
	}
	switch {
	case title == "":
		return nil, errValidation(fieldError("PullRequest", "title", "missing_field", ""))
	case head == "":
		return nil, errValidation(fieldError("PullRequest", "head", "missing_field", ""))
	case base == "":
		return nil, errValidation(fieldError("PullRequest", "base", "missing_field", ""))
	}
	headSHA, ok := r.branchSHA(head)
	if !ok {
		return nil, errValidation(fieldError("PullRequest", "head", "invalid", ""))
	}
	baseSHA, ok := r.branchSHA(base)
	if !ok {
		return nil, errValidation(fieldError("PullRequest", "base", "invalid", ""))
	}
	for _, is := range r.issues {
		if is.pull != nil && is.state == "open" && is.pull.head == head && is.pull.base == base {
			return nil, errValidation(fieldError("PullRequest", "", "custom",
				fmt.Sprintf("A pull request already exists for %s:%s.", r.owner, head)))
		}
	}
	if _, ok := r.git.mergeBase(headSHA, baseSHA); !ok {
		return nil, errValidation(fieldError("PullRequest", "", "custom",
			fmt.Sprintf("The %s branch has no history in common with %s", head, base)))
	}
	if r.git.isAncestor(headSHA, baseSHA) {
		return nil, errValidation(fieldError("PullRequest", "", "custom",
			fmt.Sprintf("No commits between %s and %s", base, head)))
	}
	now := s.now()
	r.lastNumber++
	is := &issue{
		id:        s.newIDLocked(),
		number:    r.lastNumber,
		title:     title,
		body:      body,
		author:    author,
		state:     "open",
		createdAt: now,
		updatedAt: now,
		pull: &pull{
			id:      s.newIDLocked(),
			head:    head,
			base:    base,
			headSHA: headSHA,
			baseSHA: baseSHA,
			draft:   draft,
		},
	}
	r.issues[is.number] = is
	s.pullEventLocked(r, is, "opened", author)
	s.pullHookLocked(r, is, "opened", author, nil)
	return is, nil
}

// GET /repos/{owner}/{repo}/pulls
func (s *Server) listPulls(c *call) (int, any, error) {
	r := c.repo
	state := c.query.Get("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "closed" && state != "all" {
		return 0, nil, errValidation(fieldError("PullRequest", "state", "invalid", ""))
	}
	headOwner, headBranch, hasBranch := strings.Cut(c.query.Get("head"), ":")
	base := c.query.Get("base")
	var pulls []*issue
	for _, is := range r.sortedIssues() {
		switch {
		case is.pull == nil,
			state != "all" && is.state != state,
			headOwner != "" && !strings.EqualFold(headOwner, r.owner),
			hasBranch && is.pull.head != headBranch,
			base != "" && is.pull.base != base:
			continue
		}
		pulls = append(pulls, is)
	}
	sortIssues(pulls, c.query.Get("sort"), c.query.Get("direction"))
	out := make([]obj, 0, len(pulls))
	for _, is := range paginate(s, c, pulls) {
		out = append(out, s.pullJSON(r, is))
	}
	return http.StatusOK, out, nil
}

// sortIssues orders a listing as GitHub does: by creation, newest first,
// unless asked otherwise.
func sortIssues(list []*issue, by, direction string) {
	key := func(is *issue) time.Time { return is.createdAt }
	switch by {
	case "updated":
		key = func(is *issue) time.Time { return is.updatedAt }
	case "", "created":
	default:
		// popularity, long-running, comments: rare for a bot; creation order.
	}
	desc := direction != "asc"
	if direction == "" && by != "" && by != "created" {
		desc = false
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := key(list[i]), key(list[j])
		if a.Equal(b) {
			if desc {
				return list[i].number > list[j].number
			}
			return list[i].number < list[j].number
		}
		if desc {
			return a.After(b)
		}
		return a.Before(b)
	})
}

// pullParam resolves {number} to a pull request (404 for an issue, as on GitHub).
func pullParam(c *call) (*issue, error) {
	n, err := c.number("number")
	if err != nil {
		return nil, err
	}
	is, ok := c.repo.pullByNumber(n)
	if !ok {
		return nil, errNotFound()
	}
	return is, nil
}

// GET /repos/{owner}/{repo}/pulls/{number}
func (s *Server) getPull(c *call) (int, any, error) {
	is, err := pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.pullJSON(c.repo, is), nil
}

// PATCH /repos/{owner}/{repo}/pulls/{number}
func (s *Server) updatePull(c *call) (int, any, error) {
	is, err := pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	var req struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
		Base  *string `json:"base"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	r := c.repo
	if req.Base != nil {
		if _, ok := r.branchSHA(*req.Base); !ok {
			return 0, nil, errValidation(fieldError("PullRequest", "base", "invalid", ""))
		}
	}
	if err := s.editLocked(r, is, c.actor, req.Title, req.Body, req.Base); err != nil {
		return 0, nil, err
	}
	if req.State != nil {
		if err := s.setStateLocked(r, is, c.actor, *req.State, ""); err != nil {
			return 0, nil, err
		}
	}
	return http.StatusOK, s.pullJSON(r, is), nil
}

// editLocked changes title, body and (for a PR) base, sending "edited"
// with what changed, as GitHub does. Unchanged values send nothing.
func (s *Server) editLocked(r *repo, is *issue, by string, title, body, base *string) error {
	changes := obj{}
	if title != nil && *title != is.title {
		if *title == "" {
			return errValidation(fieldError("Issue", "title", "missing_field", ""))
		}
		changes["title"] = obj{"from": is.title}
		is.title = *title
	}
	if body != nil && *body != is.body {
		changes["body"] = obj{"from": is.body}
		is.body = *body
	}
	if base != nil && is.pull != nil && *base != is.pull.base {
		changes["base"] = obj{"ref": obj{"from": is.pull.base}, "sha": obj{"from": is.pull.baseSHA}}
		is.pull.base = *base
		is.pull.baseSHA, _ = r.branchSHA(*base) // checked by the caller
	}
	if len(changes) == 0 {
		return nil
	}
	is.updatedAt = s.now()
	extra := obj{"changes": changes}
	if is.pull != nil {
		s.pullEventLocked(r, is, "updated", by)
		s.pullHookLocked(r, is, "edited", by, extra)
	} else {
		s.issueHookLocked(r, is, "edited", by, extra)
	}
	return nil
}

// setStateLocked opens or closes an issue or PR (not merging it).
func (s *Server) setStateLocked(r *repo, is *issue, by, state, reason string) error {
	p := is.pull
	switch {
	case state != "open" && state != "closed":
		return errValidation(fieldError("Issue", "state", "invalid", ""))
	case state == is.state:
		return nil
	case state == "open" && p != nil && p.merged:
		return errUnprocessable("Cannot reopen a merged pull request")
	}
	action := "reopened"
	if state == "closed" {
		action = "closed"
	}

	if p != nil {
		if state == "closed" {
			// Freeze the diff: once closed, the branches may move on.
			f := s.pullFactsLocked(r, is)
			p.headSHA, p.baseSHA, p.closedBase = f.head, f.baseTip, f.mergeBase
		} else {
			sha, ok := r.branchSHA(p.head)
			if !ok {
				return errUnprocessable("state cannot be changed. The %s branch has been deleted.", p.head)
			}
			p.headSHA, p.closedBase = sha, ""
		}
	}

	now := s.now()
	is.state = state
	is.updatedAt = now
	if state == "closed" {
		is.closedAt = now
	} else {
		is.closedAt = time.Time{}
	}

	if p != nil {
		s.pullEventLocked(r, is, action, by)
		s.pullHookLocked(r, is, action, by, nil)
		return nil
	}
	switch {
	case state == "open":
		is.stateReason = "reopened"
	case reason == "":
		is.stateReason = "completed"
	default:
		is.stateReason = reason
	}
	s.issueHookLocked(r, is, action, by, nil)
	return nil
}

// GET /repos/{owner}/{repo}/pulls/{number}/files
func (s *Server) listPullFiles(c *call) (int, any, error) {
	is, err := pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	r := c.repo
	f := s.pullFactsLocked(r, is)
	out := make([]obj, 0, len(f.paths))
	for _, path := range f.paths {
		oldFile, hadOld := f.baseFiles[path]
		newFile, hasNew := f.headFiles[path]
		status, sha, ref := "modified", newFile.sha, f.head
		switch {
		case !hadOld:
			status = "added"
		case !hasNew:
			status, sha, ref = "removed", oldFile.sha, f.mergeBase
		}
		patch, add, del := unifiedPatch(s.contentLocked(r, f.baseFiles, path), s.contentLocked(r, f.headFiles, path))
		out = append(out, obj{
			"sha":          sha,
			"filename":     path,
			"status":       status,
			"additions":    add,
			"deletions":    del,
			"changes":      add + del,
			"blob_url":     fmt.Sprintf("%s/blob/%s/%s", r.htmlURL(), ref, path),
			"raw_url":      fmt.Sprintf("%s/raw/%s/%s", r.htmlURL(), ref, path),
			"contents_url": fmt.Sprintf("%s/repos/%s/contents/%s?ref=%s", s.api, r.fullName(), path, ref),
			"patch":        patch,
		})
	}
	return http.StatusOK, paginate(s, c, out), nil
}

func containsFold(list []string, s string) bool { return indexFold(list, s) >= 0 }

func indexFold(list []string, s string) int {
	return slices.IndexFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}
