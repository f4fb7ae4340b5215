package githubemu

import (
	"errors"
	"fmt"
	"maps"
	"strings"
)

// What people do on GitHub. Each action sends the webhooks GitHub would
// send and returns once they were delivered and answered; a receiver that
// did not accept one is reported as a *DeliveryError (the action itself
// took effect). These must not be called from OnEvent.

// Merge merges pull request number as by, who needs write access: a merge
// commit on the base with the PR's changes. A conflict with changes the
// base took since the PR's merge base fails, like GitHub's 405.
func (s *Server) Merge(repo string, number int, by string) error {
	if by == "" {
		return errNoActor
	}
	return s.act(func() error {
		r, is, err := s.pullLocked(repo, number)
		if err != nil {
			return err
		}
		if !s.canPushLocked(r, by) {
			return fmt.Errorf("merge %s#%d: %s has %s access; merging needs write (SetPermission)", repo, number, by, s.roleLocked(r, by))
		}
		if _, err := s.mergeLocked(r, is, by, "merge", "", "", ""); err != nil {
			return fmt.Errorf("merge %s#%d: %w", repo, number, err)
		}
		return nil
	})
}

// OpenPR opens a pull request from head into base as by, who needs write
// access, and returns its number: a person's PR, which the bot did not open.
func (s *Server) OpenPR(repo, head, base, title, by string) (int, error) {
	if by == "" {
		return 0, errNoActor
	}
	var number int
	err := s.act(func() error {
		r, err := s.repoLocked(repo)
		if err != nil {
			return fmt.Errorf("open a PR on %s: %w", repo, err)
		}
		if !s.canPushLocked(r, by) {
			return fmt.Errorf("open a PR on %s: %s has %s access; opening one from a branch needs write (SetPermission)", repo, by, s.roleLocked(r, by))
		}
		is, err := s.openPullLocked(r, head, base, title, "", s.accountLocked(by, kindUser).login, false)
		if err != nil {
			return fmt.Errorf("open a PR on %s: %w", repo, err)
		}
		number = is.number
		return nil
	})
	return number, err
}

// ClosePR closes pull request number without merging, as by (its author
// or someone with write access).
func (s *Server) ClosePR(repo string, number int, by string) error {
	if by == "" {
		return errNoActor
	}
	return s.act(func() error {
		r, is, err := s.pullLocked(repo, number)
		if err != nil {
			return err
		}
		if !s.canPushLocked(r, by) && !strings.EqualFold(by, is.author) {
			return fmt.Errorf("close %s#%d: %s has %s access; closing needs write (SetPermission)", repo, number, by, s.roleLocked(r, by))
		}
		if is.state != "open" {
			return fmt.Errorf("close %s#%d: already closed", repo, number)
		}
		return s.setStateLocked(r, is, by, "closed", "")
	})
}

// Review submits a review by by: state APPROVED, CHANGES_REQUESTED or
// COMMENTED (also accepted: approve, request-changes, comment).
func (s *Server) Review(repo string, number int, by, state, body string) error {
	if by == "" {
		return errNoActor
	}
	st, ok := reviewState(state)
	if !ok || st == "PENDING" {
		return fmt.Errorf("review %s#%d: unknown review state %q", repo, number, state)
	}
	return s.act(func() error {
		r, is, err := s.pullLocked(repo, number)
		if err != nil {
			return err
		}
		if _, err := s.reviewLocked(r, is, by, st, body); err != nil {
			return fmt.Errorf("review %s#%d: %w", repo, number, err)
		}
		return nil
	})
}

// DismissReview dismisses review id on pull request number, as by.
func (s *Server) DismissReview(repo string, number int, id int64, by, message string) error {
	if by == "" {
		return errNoActor
	}
	return s.act(func() error {
		r, is, err := s.pullLocked(repo, number)
		if err != nil {
			return err
		}
		if _, err := s.dismissLocked(r, is, id, by, message); err != nil {
			return fmt.Errorf("dismiss review %d on %s#%d: %w", id, repo, number, err)
		}
		return nil
	})
}

// Comment adds a comment by by to issue or pull request number and
// returns its id.
func (s *Server) Comment(repo string, number int, by, body string) (int64, error) {
	if by == "" {
		return 0, errNoActor
	}
	var id int64
	err := s.act(func() error {
		r, err := s.repoLocked(repo)
		if err != nil {
			return fmt.Errorf("comment on %s#%d: %w", repo, number, err)
		}
		is, ok := r.issues[number]
		if !ok {
			return fmt.Errorf("comment on %s#%d: no such issue or pull request", repo, number)
		}
		cm, err := s.commentLocked(r, is, by, body)
		if err != nil {
			return fmt.Errorf("comment on %s#%d: %w", repo, number, err)
		}
		id = cm.id
		return nil
	})
	return id, err
}

// Push commits files onto branch as by, the way someone pushing from a
// laptop would: path -> new content, nil to delete. A missing branch is
// created from the default branch. Open PRs with that head get
// "synchronize". It returns the new commit's sha.
func (s *Server) Push(repo, branch string, files map[string]*string, message, by string) (string, error) {
	if by == "" {
		return "", errNoActor
	}
	var sha string
	err := s.act(func() error {
		r, err := s.repoLocked(repo)
		if err != nil {
			return fmt.Errorf("push to %s: %w", repo, err)
		}
		parent, exists := r.branchSHA(branch)
		if !exists {
			parent, _ = r.branchSHA(r.defaultBranch) // AddRepo always creates it
		}
		tree, err := r.git.commitFiles(parent)
		if err != nil {
			return fmt.Errorf("push to %s %s: %w", repo, branch, err)
		}
		tree = maps.Clone(tree)
		for p, content := range files {
			clean, err := cleanPath(p)
			if err != nil {
				return fmt.Errorf("push to %s %s: %w", repo, branch, err)
			}
			if content == nil {
				removePath(tree, clean)
				continue
			}
			removePath(tree, clean)
			removeParentFiles(tree, clean)
			tree[clean] = fileEntry{mode: modeFile, sha: r.git.putBlob([]byte(*content))}
		}
		if message == "" {
			message = "Update files"
		}
		now := s.now()
		who := s.signatureLocked(by, now)
		sha = r.git.putCommit(&commit{
			tree:      r.git.writeTree(tree),
			parents:   []string{parent},
			author:    who,
			committer: who,
			message:   message,
		})
		r.refs["refs/heads/"+branch] = sha
		r.pushedAt = now
		if exists {
			s.branchMovedLocked(r, branch, parent, sha, by)
		}
		return nil
	})
	return sha, err
}

func (s *Server) pullLocked(repo string, number int) (*repo, *issue, error) {
	r, err := s.repoLocked(repo)
	if err != nil {
		return nil, nil, err
	}
	is, ok := r.pullByNumber(number)
	if !ok {
		return nil, nil, fmt.Errorf("%s#%d: %w", repo, number, ErrNoSuchPR)
	}
	return r, is, nil
}

// errNoActor refuses an action by nobody: GitHub always knows who did it.
var errNoActor = errors.New("githubemu: who did it? (by is empty)")

// ErrNoSuchPR is returned by people actions on a number that is not a
// pull request of the repo.
var ErrNoSuchPR = errors.New("no such pull request")
