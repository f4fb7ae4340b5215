package githubemu

import "fmt"

// BranchCommits lists the commits on branch that are not on base, newest
// first along first parents: the commits a pull request from branch into
// base would bring.
func (s *Server) BranchCommits(repo, branch, base string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(repo)
	if err != nil {
		return nil, err
	}
	head, ok := r.branchSHA(branch)
	if !ok {
		return nil, fmt.Errorf("%s has no branch %s", repo, branch)
	}
	baseSHA, ok := r.branchSHA(base)
	if !ok {
		return nil, fmt.Errorf("%s has no branch %s", repo, base)
	}
	onBase := r.git.ancestors(baseSHA)
	var out []string
	for sha := head; sha != "" && !onBase[sha]; {
		out = append(out, sha)
		c, ok := r.git.commit(sha)
		if !ok || len(c.parents) == 0 {
			break
		}
		sha = c.parents[0]
	}
	return out, nil
}
