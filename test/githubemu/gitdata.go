package githubemu

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

// Git data endpoints: how the bot writes a change, as blobs and a tree on
// the base's tree, one commit, and a ref for the new branch.

func (s *Server) refJSON(r *repo, full, sha string) obj {
	return obj{
		"ref":     full,
		"node_id": nodeIDString("Ref", r.fullName()+":"+full),
		"url":     fmt.Sprintf("%s/repos/%s/git/%s", s.api, r.fullName(), full),
		"object": obj{
			"sha":  sha,
			"type": "commit",
			"url":  fmt.Sprintf("%s/repos/%s/git/commits/%s", s.api, r.fullName(), sha),
		},
	}
}

// fullRef turns the API's "heads/x" (or "refs/heads/x") into "refs/heads/x".
func fullRef(ref string) string {
	return "refs/" + strings.TrimPrefix(ref, "refs/")
}

// GET /repos/{owner}/{repo}/git/ref/{ref...}
func (s *Server) getRef(c *call) (int, any, error) {
	full := fullRef(c.param("ref"))
	sha, ok := c.repo.refs[full]
	if !ok {
		return 0, nil, errNotFound()
	}
	return http.StatusOK, s.refJSON(c.repo, full, sha), nil
}

// GET /repos/{owner}/{repo}/git/matching-refs/{ref...}
func (s *Server) matchingRefs(c *call) (int, any, error) {
	prefix := fullRef(c.param("ref"))
	var names []string
	for ref := range c.repo.refs {
		if strings.HasPrefix(ref, prefix) {
			names = append(names, ref)
		}
	}
	sort.Strings(names)
	out := make([]obj, 0, len(names))
	for _, n := range names {
		out = append(out, s.refJSON(c.repo, n, c.repo.refs[n]))
	}
	return http.StatusOK, out, nil
}

// POST /repos/{owner}/{repo}/git/refs
func (s *Server) createRef(c *call) (int, any, error) {
	var req struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	r := c.repo
	switch {
	case req.Ref == "" || req.SHA == "":
		return 0, nil, errUnprocessable("Invalid request.\n\n\"ref\" and \"sha\" must be supplied.")
	case !strings.HasPrefix(req.Ref, "refs/") || strings.Count(req.Ref, "/") < 2 || !validRefName(req.Ref):
		return 0, nil, errUnprocessable("Reference name is invalid")
	}
	if _, ok := r.git.commit(req.SHA); !ok {
		return 0, nil, errUnprocessable("Object does not exist")
	}
	if _, exists := r.refs[req.Ref]; exists {
		return 0, nil, errUnprocessable("Reference already exists")
	}
	r.refs[req.Ref] = req.SHA
	r.pushedAt = s.now()
	return http.StatusCreated, s.refJSON(r, req.Ref, req.SHA), nil
}

// validRefName rejects what git check-ref-format rejects most often.
func validRefName(ref string) bool {
	if strings.Contains(ref, "..") || strings.ContainsAny(ref, " ~^:?*[\\") || strings.HasSuffix(ref, "/") ||
		strings.HasSuffix(ref, ".lock") || strings.Contains(ref, "//") || strings.Contains(ref, "@{") {
		return false
	}
	return true
}

// PATCH /repos/{owner}/{repo}/git/refs/{ref...}
func (s *Server) updateRef(c *call) (int, any, error) {
	var req struct {
		SHA   string `json:"sha"`
		Force bool   `json:"force"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	r := c.repo
	full := fullRef(c.param("ref"))
	before, ok := r.refs[full]
	if !ok {
		return 0, nil, errUnprocessable("Reference does not exist")
	}
	if _, ok := r.git.commit(req.SHA); !ok {
		return 0, nil, errUnprocessable("Object does not exist")
	}
	if !req.Force && !r.git.isAncestor(before, req.SHA) {
		return 0, nil, errUnprocessable("Update is not a fast forward")
	}
	if before != req.SHA {
		r.refs[full] = req.SHA
		r.pushedAt = s.now()
		if branch, ok := strings.CutPrefix(full, "refs/heads/"); ok {
			s.branchMovedLocked(r, branch, before, req.SHA, c.actor)
		}
	}
	return http.StatusOK, s.refJSON(r, full, req.SHA), nil
}

// DELETE /repos/{owner}/{repo}/git/refs/{ref...}
func (s *Server) deleteRef(c *call) (int, any, error) {
	r := c.repo
	full := fullRef(c.param("ref"))
	before, ok := r.refs[full]
	if !ok {
		return 0, nil, errUnprocessable("Reference does not exist")
	}
	if full == "refs/heads/"+r.defaultBranch {
		return 0, nil, errUnprocessable("Cannot delete the default branch")
	}
	delete(r.refs, full)
	r.pushedAt = s.now()
	if branch, ok := strings.CutPrefix(full, "refs/heads/"); ok {
		s.branchMovedLocked(r, branch, before, "", c.actor)
	}
	return http.StatusNoContent, nil, nil
}

// POST /repos/{owner}/{repo}/git/blobs
func (s *Server) createBlob(c *call) (int, any, error) {
	var req struct {
		Content  *string `json:"content"`
		Encoding string  `json:"encoding"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Content == nil {
		return 0, nil, errValidation(fieldError("Blob", "content", "missing_field", ""))
	}
	data := []byte(*req.Content)
	switch req.Encoding {
	case "", "utf-8":
	case "base64":
		var err error
		if data, err = base64.StdEncoding.DecodeString(stripNewlines(*req.Content)); err != nil {
			return 0, nil, errValidation(fieldError("Blob", "content", "invalid", "content is not valid base64"))
		}
	default:
		return 0, nil, errValidation(fieldError("Blob", "encoding", "invalid", ""))
	}
	sha := c.repo.git.putBlob(data)
	return http.StatusCreated, obj{"sha": sha, "url": fmt.Sprintf("%s/repos/%s/git/blobs/%s", s.api, c.repo.fullName(), sha)}, nil
}

func stripNewlines(s string) string {
	return strings.NewReplacer("\n", "", "\r", "").Replace(s)
}

// GET /repos/{owner}/{repo}/git/blobs/{sha}
func (s *Server) getBlob(c *call) (int, any, error) {
	sha := c.param("sha")
	b, ok := c.repo.git.blob(sha)
	if !ok {
		return 0, nil, errNotFound()
	}
	return http.StatusOK, obj{
		"sha":      sha,
		"node_id":  nodeIDString("Blob", sha),
		"size":     len(b.data),
		"url":      fmt.Sprintf("%s/repos/%s/git/blobs/%s", s.api, c.repo.fullName(), sha),
		"content":  wrappedBase64(b.data),
		"encoding": "base64",
	}, nil
}

// treeEntryRequest is one entry of POST /git/trees. SHA is raw so that an
// explicit null (delete this path) differs from no sha at all.
type treeEntryRequest struct {
	Path    string          `json:"path"`
	Mode    string          `json:"mode"`
	Type    string          `json:"type"`
	SHA     json.RawMessage `json:"sha"`
	Content *string         `json:"content"`
}

// POST /repos/{owner}/{repo}/git/trees
func (s *Server) createTree(c *call) (int, any, error) {
	var req struct {
		BaseTree string             `json:"base_tree"`
		Tree     []treeEntryRequest `json:"tree"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	r := c.repo
	files := fileMap{}
	if req.BaseTree != "" {
		base := req.BaseTree
		if cm, ok := r.git.commit(base); ok {
			base = cm.tree
		}
		var err error
		if files, err = r.git.flatten(base); err != nil {
			return 0, nil, errUnprocessable("base_tree is not a valid tree oid")
		}
	}
	for i, e := range req.Tree {
		if err := s.applyTreeEntry(r, files, e); err != nil {
			return 0, nil, errUnprocessable("tree.%d: %s", i, err)
		}
	}
	sha := r.git.writeTree(files)
	out := s.treeJSON(r, sha, false)
	return http.StatusCreated, out, nil
}

// applyTreeEntry applies one requested entry to a flattened tree.
func (s *Server) applyTreeEntry(r *repo, files fileMap, e treeEntryRequest) error {
	p, err := cleanPath(e.Path)
	if err != nil {
		return err
	}
	var sha *string
	switch raw := strings.TrimSpace(string(e.SHA)); raw {
	case "":
	case "null":
		if e.Content != nil {
			return fmt.Errorf("either sha or content, not both")
		}
		removePath(files, p) // a file, or a whole directory
		return nil
	default:
		var v string
		if err := json.Unmarshal(e.SHA, &v); err != nil {
			return fmt.Errorf("sha must be a string")
		}
		sha = &v
	}
	if (sha == nil) == (e.Content == nil) {
		return fmt.Errorf("must supply either sha or content")
	}
	mode := e.Mode
	if mode == "" {
		mode = modeFile
		if e.Type == "tree" {
			mode = modeTree
		}
	}
	switch mode {
	case modeFile, modeExec, modeSymlink:
		blobSHA := ""
		if e.Content != nil {
			blobSHA = r.git.putBlob([]byte(*e.Content))
		} else if _, ok := r.git.blob(*sha); ok {
			blobSHA = *sha
		} else {
			return fmt.Errorf("sha %s is not a blob in this repository", *sha)
		}
		removePath(files, p)
		removeParentFiles(files, p)
		files[p] = fileEntry{mode: mode, sha: blobSHA}
	case modeTree:
		if sha == nil {
			return fmt.Errorf("a tree entry needs a sha")
		}
		sub, err := r.git.flatten(*sha)
		if err != nil {
			return fmt.Errorf("sha %s is not a tree in this repository", *sha)
		}
		removePath(files, p)
		removeParentFiles(files, p)
		for sp, f := range sub {
			files[p+"/"+sp] = f
		}
	case modeCommit:
		if sha == nil || !isValidSHA(*sha) {
			return fmt.Errorf("a submodule entry needs a commit sha")
		}
		removePath(files, p)
		removeParentFiles(files, p)
		files[p] = fileEntry{mode: modeCommit, sha: *sha}
	default:
		return fmt.Errorf("mode %q is not a valid file mode", mode)
	}
	return nil
}

// removePath deletes a file, or every file under a directory.
func removePath(files fileMap, p string) {
	delete(files, p)
	for q := range files {
		if strings.HasPrefix(q, p+"/") {
			delete(files, q)
		}
	}
}

// removeParentFiles deletes files standing where p needs a directory.
func removeParentFiles(files fileMap, p string) {
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		delete(files, dir)
	}
}

// GET /repos/{owner}/{repo}/git/trees/{sha}?recursive=1
func (s *Server) getTree(c *call) (int, any, error) {
	r := c.repo
	sha := c.param("sha")
	if _, ok := r.git.tree(sha); !ok {
		commitSHA, ok := r.resolve(sha)
		if !ok {
			return 0, nil, errNotFound()
		}
		cm, _ := r.git.commit(commitSHA) // resolve only returns commits
		sha = cm.tree
	}
	// GitHub recurses for any value of recursive.
	return http.StatusOK, s.treeJSON(r, sha, c.query.Has("recursive")), nil
}

func (s *Server) treeJSON(r *repo, sha string, recursive bool) obj {
	var entries []obj
	var walk func(treeSHA, prefix string)
	walk = func(treeSHA, prefix string) {
		t, _ := r.git.tree(treeSHA) // only called on stored trees
		for _, e := range t.entries {
			p := path.Join(prefix, e.name)
			o := obj{"path": p, "mode": e.mode, "type": e.kind(), "sha": e.sha}
			switch e.kind() {
			case "blob":
				o["url"] = fmt.Sprintf("%s/repos/%s/git/blobs/%s", s.api, r.fullName(), e.sha)
				if b, ok := r.git.blob(e.sha); ok {
					o["size"] = len(b.data)
				}
			case "tree":
				o["url"] = fmt.Sprintf("%s/repos/%s/git/trees/%s", s.api, r.fullName(), e.sha)
			}
			entries = append(entries, o)
			if recursive && e.mode == modeTree {
				walk(e.sha, p)
			}
		}
	}
	walk(sha, "")
	if entries == nil {
		entries = []obj{}
	}
	return obj{
		"sha":       sha,
		"url":       fmt.Sprintf("%s/repos/%s/git/trees/%s", s.api, r.fullName(), sha),
		"tree":      entries,
		"truncated": false,
	}
}

// signatureLocked is the git identity GitHub gives an account.
func (s *Server) signatureLocked(login string, when time.Time) signature {
	a := s.accountLocked(login, kindUser)
	return signature{name: a.login, email: fmt.Sprintf("%d+%s@users.noreply.github.com", a.id, a.login), when: when}
}

type signatureRequest struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  string `json:"date"`
}

// POST /repos/{owner}/{repo}/git/commits
func (s *Server) createCommit(c *call) (int, any, error) {
	var req struct {
		Message   string            `json:"message"`
		Tree      string            `json:"tree"`
		Parents   []string          `json:"parents"`
		Author    *signatureRequest `json:"author"`
		Committer *signatureRequest `json:"committer"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	r := c.repo
	switch {
	case req.Message == "":
		return 0, nil, errUnprocessable("Invalid request.\n\n\"message\" wasn't supplied.")
	case req.Tree == "":
		return 0, nil, errUnprocessable("Invalid request.\n\n\"tree\" wasn't supplied.")
	}
	if _, ok := r.git.tree(req.Tree); !ok {
		return 0, nil, errUnprocessable("Tree SHA does not exist")
	}
	for _, p := range req.Parents {
		if _, ok := r.git.commit(p); !ok {
			return 0, nil, errUnprocessable("Parent SHA does not exist or is not a commit object")
		}
	}
	def := s.signatureLocked(c.actor, s.now())
	author, err := signatureFrom(req.Author, def)
	if err != nil {
		return 0, nil, err
	}
	committer, err := signatureFrom(req.Committer, author)
	if err != nil {
		return 0, nil, err
	}
	sha := r.git.putCommit(&commit{
		tree:      req.Tree,
		parents:   req.Parents,
		author:    author,
		committer: committer,
		message:   req.Message,
	})
	return http.StatusCreated, s.gitCommitJSON(r, sha), nil
}

func signatureFrom(req *signatureRequest, def signature) (signature, error) {
	if req == nil {
		return def, nil
	}
	sg := signature{name: req.Name, email: req.Email, when: def.when}
	if sg.name == "" || sg.email == "" {
		return sg, errValidation(fieldError("Commit", "author", "invalid", "name and email are required"))
	}
	if req.Date != "" {
		t, err := time.Parse(time.RFC3339, req.Date)
		if err != nil {
			return sg, errValidation(fieldError("Commit", "date", "invalid", "date must be ISO 8601"))
		}
		sg.when = t
	}
	return sg, nil
}

// GET /repos/{owner}/{repo}/git/commits/{sha}
func (s *Server) getCommit(c *call) (int, any, error) {
	if _, ok := c.repo.git.commit(c.param("sha")); !ok {
		return 0, nil, errNotFound()
	}
	return http.StatusOK, s.gitCommitJSON(c.repo, c.param("sha")), nil
}

func (s *Server) gitCommitJSON(r *repo, sha string) obj {
	cm, _ := r.git.commit(sha) // callers pass stored commits
	api := fmt.Sprintf("%s/repos/%s/git", s.api, r.fullName())
	parents := make([]obj, 0, len(cm.parents))
	for _, p := range cm.parents {
		parents = append(parents, obj{"sha": p, "url": api + "/commits/" + p, "html_url": r.htmlURL() + "/commit/" + p})
	}
	sig := func(sg signature) obj {
		return obj{"name": sg.name, "email": sg.email, "date": stamp(sg.when)}
	}
	return obj{
		"sha":       sha,
		"node_id":   nodeIDString("Commit", sha),
		"url":       api + "/commits/" + sha,
		"html_url":  r.htmlURL() + "/commit/" + sha,
		"author":    sig(cm.author),
		"committer": sig(cm.committer),
		"tree":      obj{"sha": cm.tree, "url": api + "/trees/" + cm.tree},
		"message":   cm.message,
		"parents":   parents,
		"verification": obj{
			"verified":    false,
			"reason":      "unsigned",
			"signature":   nil,
			"payload":     nil,
			"verified_at": nil,
		},
	}
}
