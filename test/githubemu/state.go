package githubemu

import (
	"encoding/base64"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// Account types as GitHub names them in "type".
const (
	kindUser = "User"
	kindOrg  = "Organization"
	kindBot  = "Bot"
)

type account struct {
	id    int64
	login string
	kind  string
}

type repo struct {
	id            int64
	owner, name   string
	defaultBranch string
	createdAt     time.Time
	pushedAt      time.Time
	git           *objectStore
	refs          map[string]string // "refs/heads/main" -> commit sha
	issues        map[int]*issue    // issues and pulls share one sequence
	lastNumber    int
	comments      map[int64]*comment
	labels        map[string]*label // by lower-case name
	// statuses holds every commit status posted, by commit sha, oldest
	// first; checkRuns every check run, oldest first.
	statuses  map[string][]*commitStatus
	checkRuns []*checkRun
}

func (r *repo) fullName() string { return r.owner + "/" + r.name }

func (r *repo) htmlURL() string { return "https://github.com/" + r.fullName() }

// issue is an issue or, when pull is set, a pull request: on GitHub a PR is
// an issue with a branch attached, and title, body, state, labels and
// comments live on the issue part.
type issue struct {
	id          int64
	number      int
	title, body string
	author      string
	state       string // "open" | "closed"
	stateReason string
	labels      []string // names, in the order added
	createdAt   time.Time
	updatedAt   time.Time
	closedAt    time.Time
	comments    []*comment
	pull        *pull
}

type pull struct {
	id      int64
	head    string // branch name
	base    string // branch name
	headSHA string // the head's tip, kept after the branch is deleted
	baseSHA string // the base's tip when the head last moved
	// closedBase is the merge base when the PR was closed or merged;
	// after a merge the base contains the head, so it can't be recomputed.
	closedBase     string
	draft          bool
	merged         bool
	mergedBy       string
	mergedAt       time.Time
	mergeCommitSHA string
	reviewers      []string // requested users
	teams          []string // requested team slugs
	reviews        []*review
}

type comment struct {
	id        int64
	issue     int
	author    string
	body      string
	createdAt time.Time
	updatedAt time.Time
	reactions map[string]int // content -> count
	// reactionIDs holds one reaction per user and content: "login content" -> id.
	reactionIDs map[string]int64
}

type review struct {
	id          int64
	author      string
	state       string // APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING
	body        string
	commitID    string
	submittedAt time.Time
}

// team is an organization's team. Members are active; invited ones have
// a pending membership until they accept.
type team struct {
	id      int64
	org     string
	slug    string
	members []string
	invited []string
}

// commitStatus is one status posted on a commit (a CI context's verdict).
type commitStatus struct {
	id          int64
	context     string
	state       string // error | failure | pending | success
	description string
	targetURL   string
	creator     string
	createdAt   time.Time
}

// checkRun is a check run on a commit, as a CI app reports it.
type checkRun struct {
	id          int64
	suiteID     int64
	name        string
	headSHA     string
	status      string // queued | in_progress | completed | waiting | requested | pending
	conclusion  string // set once completed: success, failure, neutral, ...
	startedAt   time.Time
	completedAt time.Time
}

type label struct {
	id          int64
	name        string
	color       string
	description string
}

// Permission levels GitHub reports; maintain and triage are roles that
// report as write and read.
var permissionLevels = map[string]string{
	"admin": "admin", "maintain": "write", "write": "write",
	"triage": "read", "read": "read", "none": "none",
}

// accountLocked returns the account for login, creating it on first sight:
// anyone may appear (a reviewer, a commenter). Logins ending in "[bot]" are
// bots; AddInstallation makes an account an organization.
func (s *Server) accountLocked(login, kind string) *account {
	key := strings.ToLower(login)
	a := s.accounts[key]
	if a == nil {
		if strings.HasSuffix(login, "[bot]") {
			kind = kindBot
		}
		a = &account{id: s.newIDLocked(), login: login, kind: kind}
		s.accounts[key] = a
	} else if kind == kindOrg {
		a.kind = kindOrg
	}
	return a
}

// AddRepo creates a repo with files committed on defaultBranch ("main"
// when empty): real blobs, trees and an initial commit.
func (s *Server) AddRepo(fullName, defaultBranch string, files map[string]string) error {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("add repo %q: want owner/name", fullName)
	}
	if defaultBranch == "" {
		defaultBranch = "main"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(fullName)
	if _, exists := s.repos[key]; exists {
		return fmt.Errorf("add repo %s: already exists", fullName)
	}
	now := s.now()
	r := &repo{
		id:            s.newIDLocked(),
		owner:         owner,
		name:          name,
		defaultBranch: defaultBranch,
		createdAt:     now,
		pushedAt:      now,
		git:           newObjectStore(),
		refs:          map[string]string{},
		issues:        map[int]*issue{},
		comments:      map[int64]*comment{},
		labels:        map[string]*label{},
		statuses:      map[string][]*commitStatus{},
	}
	fm := fileMap{}
	for p, content := range files {
		clean, err := cleanPath(p)
		if err != nil {
			return fmt.Errorf("add repo %s: %w", fullName, err)
		}
		fm[clean] = fileEntry{mode: modeFile, sha: r.git.putBlob([]byte(content))}
	}
	s.accountLocked(owner, kindUser)
	who := signature{name: owner, email: owner + "@users.noreply.github.com", when: now}
	sha := r.git.putCommit(&commit{
		tree:      r.git.writeTree(fm),
		author:    who,
		committer: who,
		message:   "Initial commit",
	})
	r.refs["refs/heads/"+defaultBranch] = sha
	s.repos[key] = r
	return nil
}

// SetPermission gives login a role on repo: admin, maintain, write, triage,
// read or none. Users never set have none. The repo need not exist yet.
func (s *Server) SetPermission(repo, login, perm string) {
	if _, ok := permissionLevels[perm]; !ok {
		panic(fmt.Sprintf("githubemu: SetPermission(%q, %q): unknown permission %q", repo, login, perm))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountLocked(login, kindUser)
	key := strings.ToLower(repo)
	if s.perms[key] == nil {
		s.perms[key] = map[string]string{}
	}
	s.perms[key][strings.ToLower(login)] = perm
}

// roleLocked is login's role on r ("none" when never set).
func (s *Server) roleLocked(r *repo, login string) string {
	if p, ok := s.perms[strings.ToLower(r.fullName())][strings.ToLower(login)]; ok {
		return p
	}
	return "none"
}

// canPushLocked reports whether login may merge and close pull requests.
func (s *Server) canPushLocked(r *repo, login string) bool {
	level := permissionLevels[s.roleLocked(r, login)]
	return level == "write" || level == "admin"
}

func (s *Server) repoLocked(fullName string) (*repo, error) {
	r, ok := s.repos[strings.ToLower(fullName)]
	if !ok {
		return nil, fmt.Errorf("repo %s does not exist", fullName)
	}
	return r, nil
}

func (s *Server) sortedReposLocked() []*repo {
	out := make([]*repo, 0, len(s.repos))
	for _, r := range s.repos {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func sortedInstallations(m map[int64]*installation) []*installation {
	out := make([]*installation, 0, len(m))
	for _, inst := range m {
		out = append(out, inst)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// branchSHA is the tip of a branch.
func (r *repo) branchSHA(branch string) (string, bool) {
	sha, ok := r.refs["refs/heads/"+branch]
	return sha, ok
}

// resolve turns a ref as the API accepts it (branch, "heads/x",
// "refs/heads/x", tag, or commit sha) into a commit sha.
func (r *repo) resolve(ref string) (string, bool) {
	if ref == "" {
		ref = r.defaultBranch
	}
	for _, full := range []string{"refs/heads/" + ref, "refs/tags/" + ref, "refs/" + ref, ref} {
		if sha, ok := r.refs[full]; ok {
			return sha, true
		}
	}
	if _, ok := r.git.commit(ref); ok {
		return ref, true
	}
	return "", false
}

func (r *repo) pullByNumber(n int) (*issue, bool) {
	is, ok := r.issues[n]
	if !ok || is.pull == nil {
		return nil, false
	}
	return is, true
}

// sortedIssues lists issues (and pulls) in number order.
func (r *repo) sortedIssues() []*issue {
	out := make([]*issue, 0, len(r.issues))
	for _, is := range r.issues {
		out = append(out, is)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].number < out[j].number })
	return out
}

// cleanPath validates a repository path: relative, no "." or ".." parts.
func cleanPath(p string) (string, error) {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." {
		return "", fmt.Errorf("invalid path %q", p)
	}
	return p, nil
}

// stamp formats a time as GitHub does: RFC 3339, UTC, whole seconds.
func stamp(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// stampOrNil is stamp, or null for a zero time (closed_at of an open issue).
func stampOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return stamp(t)
}

// nodeID mimics GitHub's legacy global ids: base64("04:User1234").
func nodeID(kind string, id int64) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%02d:%s%d", len(kind), kind, id))
}

// nodeIDString is nodeID for objects keyed by a string (commits, refs).
func nodeIDString(kind, key string) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%02d:%s%s", len(kind), kind, key))
}
