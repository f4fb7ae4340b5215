package githubemu

import (
	"fmt"
	"maps"
	"net/http"
)

// Merging, and what branch moves do to open pull requests.

// PUT /repos/{owner}/{repo}/pulls/{number}/merge
func (s *Server) mergePull(c *call) (int, any, error) {
	is, err := pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	var req struct {
		CommitTitle   string `json:"commit_title"`
		CommitMessage string `json:"commit_message"`
		SHA           string `json:"sha"`
		MergeMethod   string `json:"merge_method"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	sha, err := s.mergeLocked(c.repo, is, c.actor, req.MergeMethod, req.CommitTitle, req.CommitMessage, req.SHA)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, obj{"sha": sha, "merged": true, "message": "Pull Request successfully merged"}, nil
}

// mergeLocked merges a PR the way GitHub's button does: the PR's changes
// (head against the merge base) applied onto the base's current tree, as
// a merge commit (or one squashed/rebased commit), refused with 405 when
// the base changed any of the same paths differently since the merge base.
func (s *Server) mergeLocked(r *repo, is *issue, by, method, title, message, expectSHA string) (string, error) {
	notMergeable := &apiError{status: http.StatusMethodNotAllowed, message: "Pull Request is not mergeable"}
	if is.state != "open" {
		return "", notMergeable
	}
	switch method {
	case "", "merge", "squash", "rebase":
	default:
		return "", errValidation(fieldError("PullRequest", "merge_method", "invalid", ""))
	}
	p := is.pull
	f := s.pullFactsLocked(r, is)
	if expectSHA != "" && expectSHA != f.head {
		return "", &apiError{status: http.StatusConflict, message: "Head branch was modified. Review and try the merge again."}
	}
	if _, ok := r.branchSHA(p.base); !ok || len(f.conflicts) > 0 || f.mergeBase == "" {
		return "", notMergeable
	}

	merged := maps.Clone(f.tipFiles)
	for _, path := range f.paths {
		if file, ok := f.headFiles[path]; ok {
			merged[path] = file
		} else {
			delete(merged, path)
		}
	}
	now := s.now()
	author := s.signatureLocked(by, now)
	// GitHub's default messages: a merge commit names the PR and its
	// branch; a squash (or rebase, here also one commit) carries the PR's
	// title and body.
	parents := []string{f.baseTip, f.head}
	defTitle, defMessage := fmt.Sprintf("Merge pull request #%d from %s/%s", is.number, r.owner, p.head), is.title
	if method == "squash" || method == "rebase" {
		parents = parents[:1]
		defTitle, defMessage = fmt.Sprintf("%s (#%d)", is.title, is.number), is.body
	}
	if title == "" {
		title = defTitle
		if message == "" {
			message = defMessage
		}
	}
	full := title
	if message != "" {
		full += "\n\n" + message
	}
	sha := r.git.putCommit(&commit{
		tree:      r.git.writeTree(merged),
		parents:   parents,
		author:    author,
		committer: signature{name: "GitHub", email: "noreply@github.com", when: now},
		message:   full,
	})
	r.refs["refs/heads/"+p.base] = sha
	r.pushedAt = now

	is.state = "closed"
	is.stateReason = ""
	is.closedAt = now
	is.updatedAt = now
	p.merged = true
	p.mergedAt = now
	p.mergedBy = by
	p.mergeCommitSHA = sha
	p.headSHA, p.baseSHA, p.closedBase = f.head, f.baseTip, f.mergeBase

	s.pullEventLocked(r, is, "merged", by)
	s.pullHookLocked(r, is, "closed", by, nil)
	return sha, nil
}

// branchMovedLocked reacts to a branch tip moving (after == "" when the
// branch was deleted): open PRs with it as head get "synchronize", and
// deleting a PR's head or base branch closes it, as GitHub does.
func (s *Server) branchMovedLocked(r *repo, branch, before, after, by string) {
	for _, is := range r.sortedIssues() {
		p := is.pull
		if p == nil || is.state != "open" {
			continue
		}
		switch {
		case after == "" && (p.head == branch || p.base == branch):
			// Closing needs the old tip, which is gone from refs.
			if p.head == branch {
				p.headSHA = before
			} else {
				p.baseSHA = before
			}
			f := s.pullFactsLocked(r, is)
			p.headSHA, p.baseSHA, p.closedBase = f.head, f.baseTip, f.mergeBase
			now := s.now()
			is.state, is.stateReason, is.closedAt, is.updatedAt = "closed", "", now, now
			s.pullEventLocked(r, is, "closed", by)
			s.pullHookLocked(r, is, "closed", by, nil)
		case after != "" && p.head == branch:
			p.headSHA = after
			if sha, ok := r.branchSHA(p.base); ok {
				p.baseSHA = sha
			}
			is.updatedAt = s.now()
			s.pullEventLocked(r, is, "updated", by)
			s.pullHookLocked(r, is, "synchronize", by, obj{"before": before, "after": after})
		}
	}
}
