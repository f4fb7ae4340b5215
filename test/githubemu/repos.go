package githubemu

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
)

// Repository, branch and contents endpoints: how the bot reads a repo.

// GET /repos/{owner}/{repo}
func (s *Server) getRepo(c *call) (int, any, error) {
	out := s.repoJSON(c.repo)
	out["permissions"] = obj{"admin": false, "maintain": false, "push": true, "triage": true, "pull": true}
	return http.StatusOK, out, nil
}

// GET /repos/{owner}/{repo}/branches
func (s *Server) listBranches(c *call) (int, any, error) {
	var out []obj
	for _, b := range branchNames(c.repo) {
		sha, _ := c.repo.branchSHA(b) // listed from refs just now
		out = append(out, obj{
			"name":      b,
			"commit":    obj{"sha": sha, "url": fmt.Sprintf("%s/repos/%s/commits/%s", s.api, c.repo.fullName(), sha)},
			"protected": false,
		})
	}
	return http.StatusOK, paginate(s, c, out), nil
}

// GET /repos/{owner}/{repo}/branches/{branch...}
func (s *Server) getBranch(c *call) (int, any, error) {
	r, name := c.repo, c.param("branch")
	sha, ok := r.branchSHA(name)
	if !ok {
		return 0, nil, &apiError{status: http.StatusNotFound, message: "Branch not found"}
	}
	api := fmt.Sprintf("%s/repos/%s", s.api, r.fullName())
	gc := s.gitCommitJSON(r, sha)
	return http.StatusOK, obj{
		"name": name,
		"commit": obj{
			"sha":     sha,
			"node_id": gc["node_id"],
			"commit": obj{
				"author":        gc["author"],
				"committer":     gc["committer"],
				"message":       gc["message"],
				"tree":          gc["tree"],
				"url":           gc["url"],
				"comment_count": 0,
				"verification":  gc["verification"],
			},
			"url":          api + "/commits/" + sha,
			"html_url":     r.htmlURL() + "/commit/" + sha,
			"comments_url": api + "/commits/" + sha + "/comments",
			"author":       nil,
			"committer":    nil,
			"parents":      gc["parents"],
		},
		"_links": obj{
			"self": api + "/branches/" + url.PathEscape(name),
			"html": r.htmlURL() + "/tree/" + name,
		},
		"protected": false,
		"protection": obj{
			"enabled":                false,
			"required_status_checks": obj{"enforcement_level": "off", "contexts": []string{}, "checks": []obj{}},
		},
		"protection_url": api + "/branches/" + url.PathEscape(name) + "/protection",
	}, nil
}

func branchNames(r *repo) []string {
	var out []string
	for ref := range r.refs {
		if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
			out = append(out, b)
		}
	}
	sort.Strings(out)
	return out
}

// GET /repos/{owner}/{repo}/contents/{path...}?ref=
func (s *Server) getContents(c *call) (int, any, error) {
	r := c.repo
	ref := c.query.Get("ref")
	if ref == "" {
		ref = r.defaultBranch
	}
	sha, ok := r.resolve(ref)
	if !ok {
		return 0, nil, &apiError{status: http.StatusNotFound, message: "No commit found for the ref " + ref}
	}
	cm, _ := r.git.commit(sha) // resolve only returns commits
	p := strings.Trim(c.param("path"), "/")
	entry := treeEntry{mode: modeTree, sha: cm.tree}
	if p != "" {
		var found bool
		if entry, found = s.lookupPath(r, cm.tree, p); !found {
			return 0, nil, errNotFound()
		}
	}
	if entry.mode != modeTree {
		return http.StatusOK, s.contentJSON(r, ref, p, entry, true), nil
	}
	t, _ := r.git.tree(entry.sha) // entries of mode tree point at trees
	out := make([]obj, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, s.contentJSON(r, ref, path.Join(p, e.name), e, false))
	}
	return http.StatusOK, out, nil
}

// lookupPath walks the trees from root to p.
func (s *Server) lookupPath(r *repo, root, p string) (treeEntry, bool) {
	cur := root
	parts := strings.Split(p, "/")
	for i, part := range parts {
		t, ok := r.git.tree(cur)
		if !ok {
			return treeEntry{}, false
		}
		var next *treeEntry
		for j := range t.entries {
			if t.entries[j].name == part {
				next = &t.entries[j]
				break
			}
		}
		if next == nil {
			return treeEntry{}, false
		}
		if i == len(parts)-1 {
			return *next, true
		}
		if next.mode != modeTree {
			return treeEntry{}, false
		}
		cur = next.sha
	}
	return treeEntry{}, false
}

// contentJSON is a contents-API entry; withContent adds the base64 body
// (only a single file's answer carries it).
func (s *Server) contentJSON(r *repo, ref, p string, e treeEntry, withContent bool) obj {
	api := fmt.Sprintf("%s/repos/%s/contents/%s?ref=%s", s.api, r.fullName(), p, url.QueryEscape(ref))
	typ, gitURL, htmlURL := "file", fmt.Sprintf("%s/repos/%s/git/blobs/%s", s.api, r.fullName(), e.sha), fmt.Sprintf("%s/blob/%s/%s", r.htmlURL(), ref, p)
	var download any = fmt.Sprintf("https://raw.githubusercontent.com/%s/%s/%s", r.fullName(), ref, p)
	size := 0
	if e.mode == modeTree {
		typ, download = "dir", nil
		gitURL = fmt.Sprintf("%s/repos/%s/git/trees/%s", s.api, r.fullName(), e.sha)
		htmlURL = fmt.Sprintf("%s/tree/%s/%s", r.htmlURL(), ref, p)
	}
	out := obj{
		"type":         typ,
		"size":         size,
		"name":         path.Base(p),
		"path":         p,
		"sha":          e.sha,
		"url":          api,
		"git_url":      gitURL,
		"html_url":     htmlURL,
		"download_url": download,
		"_links":       obj{"self": api, "git": gitURL, "html": htmlURL},
	}
	if b, ok := r.git.blob(e.sha); ok {
		out["size"] = len(b.data)
		if withContent {
			out["encoding"] = "base64"
			out["content"] = wrappedBase64(b.data)
		}
	}
	return out
}

// wrappedBase64 encodes as GitHub does, in lines of 60 characters.
func wrappedBase64(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 60 {
		b.WriteString(enc[:60])
		b.WriteByte('\n')
		enc = enc[60:]
	}
	b.WriteString(enc)
	b.WriteByte('\n')
	return b.String()
}
