package githubemu

import (
	"fmt"
	"slices"
	"time"
)

// PullRequest is a pull request as tests inspect it.
type PullRequest struct {
	Number         int
	Title, Body    string
	Head, Base     string // branch names
	HeadSHA        string
	State          string // "open" | "closed"
	Draft          bool
	Merged         bool
	MergedBy       string
	MergeCommitSHA string
	Reviewers      []string // requested, not yet reviewed
	TeamReviewers  []string
	Labels         []string
	HTMLURL        string
	Author         string
	Comments       []Comment
	Reviews        []Review
	CreatedAt      time.Time
	ClosedAt       time.Time // zero while open
	// Files maps the paths the PR changes against its merge base to their
	// new content; nil means deleted.
	Files map[string]*string
}

// Issue is an issue (or the issue side of a pull request).
type Issue struct {
	Number      int
	Title, Body string
	State       string
	StateReason string
	Labels      []string
	Author      string
	HTMLURL     string
	Comments    []Comment
	IsPR        bool
}

// Comment is an issue or pull request comment.
type Comment struct {
	ID        int64
	Author    string
	Body      string
	HTMLURL   string
	CreatedAt time.Time
	UpdatedAt time.Time
	Reactions map[string]int // content -> count
}

// Review is a pull request review.
type Review struct {
	ID       int64
	Author   string
	State    string // APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING
	Body     string
	CommitID string
}

// PR returns pull request number of repo.
func (s *Server) PR(repo string, number int) (PullRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(repo)
	if err != nil {
		return PullRequest{}, false
	}
	is, ok := r.pullByNumber(number)
	if !ok {
		return PullRequest{}, false
	}
	return s.pullRequestLocked(r, is), true
}

// PRs lists repo's pull requests in number order.
func (s *Server) PRs(repo string) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(repo)
	if err != nil {
		return nil
	}
	var out []PullRequest
	for _, is := range r.sortedIssues() {
		if is.pull != nil {
			out = append(out, s.pullRequestLocked(r, is))
		}
	}
	return out
}

func (s *Server) pullRequestLocked(r *repo, is *issue) PullRequest {
	p := is.pull
	f := s.pullFactsLocked(r, is)
	files := make(map[string]*string, len(f.paths))
	for _, path := range f.paths {
		files[path] = fileContent(r, f.headFiles, path)
	}
	reviews := make([]Review, 0, len(p.reviews))
	for _, rv := range p.reviews {
		reviews = append(reviews, Review{ID: rv.id, Author: rv.author, State: rv.state, Body: rv.body, CommitID: rv.commitID})
	}
	return PullRequest{
		Number:         is.number,
		Title:          is.title,
		Body:           is.body,
		Head:           p.head,
		Base:           p.base,
		HeadSHA:        f.head,
		State:          is.state,
		Draft:          p.draft,
		Merged:         p.merged,
		MergedBy:       p.mergedBy,
		MergeCommitSHA: p.mergeCommitSHA,
		Reviewers:      slices.Clone(p.reviewers),
		TeamReviewers:  slices.Clone(p.teams),
		Labels:         slices.Clone(is.labels),
		HTMLURL:        fmt.Sprintf("%s/pull/%d", r.htmlURL(), is.number),
		Author:         is.author,
		Comments:       s.commentsLocked(r, is),
		Reviews:        reviews,
		CreatedAt:      is.createdAt,
		ClosedAt:       is.closedAt,
		Files:          files,
	}
}

// Issue returns issue (or pull request) number of repo.
func (s *Server) Issue(repo string, number int) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(repo)
	if err != nil {
		return Issue{}, false
	}
	is, ok := r.issues[number]
	if !ok {
		return Issue{}, false
	}
	return s.issueLocked(r, is), true
}

// Issues lists repo's issues, pull requests included, in number order.
func (s *Server) Issues(repo string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(repo)
	if err != nil {
		return nil
	}
	var out []Issue
	for _, is := range r.sortedIssues() {
		out = append(out, s.issueLocked(r, is))
	}
	return out
}

func (s *Server) issueLocked(r *repo, is *issue) Issue {
	return Issue{
		Number:      is.number,
		Title:       is.title,
		Body:        is.body,
		State:       is.state,
		StateReason: is.stateReason,
		Labels:      slices.Clone(is.labels),
		Author:      is.author,
		HTMLURL:     s.issueHTMLURL(r, is.number),
		Comments:    s.commentsLocked(r, is),
		IsPR:        is.pull != nil,
	}
}

func (s *Server) commentsLocked(r *repo, is *issue) []Comment {
	out := make([]Comment, 0, len(is.comments))
	for _, cm := range is.comments {
		reactions := make(map[string]int, len(cm.reactions))
		for k, v := range cm.reactions {
			reactions[k] = v
		}
		out = append(out, Comment{
			ID:        cm.id,
			Author:    cm.author,
			Body:      cm.body,
			HTMLURL:   fmt.Sprintf("%s#issuecomment-%d", s.issueHTMLURL(r, is.number), cm.id),
			CreatedAt: cm.createdAt,
			UpdatedAt: cm.updatedAt,
			Reactions: reactions,
		})
	}
	return out
}

// File returns a file's content at ref: a branch name or a commit sha.
func (s *Server) File(repo, ref, path string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(repo)
	if err != nil {
		return "", false
	}
	sha, ok := r.resolve(ref)
	if !ok {
		return "", false
	}
	data, ok := r.git.readFile(sha, path)
	return string(data), ok
}

// Branches lists repo's branches, sorted.
func (s *Server) Branches(repo string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(repo)
	if err != nil {
		return nil
	}
	return branchNames(r)
}
