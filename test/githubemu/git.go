package githubemu

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // git object ids are SHA-1 by definition, not a security measure
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// File modes as the GitHub API spells them.
const (
	modeFile    = "100644"
	modeExec    = "100755"
	modeSymlink = "120000"
	modeTree    = "040000"
	modeCommit  = "160000" // a submodule
)

// The object store keeps real git objects: every id is the SHA-1 of the
// object's canonical encoding, exactly as git computes it, so ids the bot
// sees (and logs, and puts in PR bodies) look and behave like GitHub's.
type objectStore struct {
	objects map[string]any // sha -> *blob | *tree | *commit
}

type blob struct {
	data []byte
}

type tree struct {
	entries []treeEntry // in git order (see sortTreeEntries)
}

type treeEntry struct {
	name string
	mode string
	sha  string
}

// kind is the object type the entry points at, derived from its mode.
func (e treeEntry) kind() string {
	switch e.mode {
	case modeTree:
		return "tree"
	case modeCommit:
		return "commit"
	default:
		return "blob"
	}
}

type commit struct {
	tree      string
	parents   []string
	author    signature
	committer signature
	message   string
}

type signature struct {
	name  string
	email string
	when  time.Time
}

// fileEntry is one file of a flattened tree.
type fileEntry struct {
	mode string
	sha  string
}

// fileMap is a whole tree flattened to path -> file, which is how the
// emulator reasons about changes, merges and conflicts.
type fileMap map[string]fileEntry

func newObjectStore() *objectStore {
	return &objectStore{objects: make(map[string]any)}
}

func hashObject(kind string, body []byte) string {
	h := sha1.New() //nolint:gosec // see import
	fmt.Fprintf(h, "%s %d\x00", kind, len(body))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func (st *objectStore) putBlob(data []byte) string {
	sha := hashObject("blob", data)
	if _, ok := st.objects[sha]; !ok {
		st.objects[sha] = &blob{data: append([]byte(nil), data...)}
	}
	return sha
}

// putTree stores a tree; entries need not be sorted.
func (st *objectStore) putTree(entries []treeEntry) string {
	entries = append([]treeEntry(nil), entries...)
	sortTreeEntries(entries)
	var body bytes.Buffer
	for _, e := range entries {
		// git writes directory modes without the leading zero.
		fmt.Fprintf(&body, "%s %s\x00", strings.TrimPrefix(e.mode, "0"), e.name)
		raw, err := hex.DecodeString(e.sha)
		if err != nil || len(raw) != sha1.Size {
			// Callers only pass ids this store produced or validated.
			panic(fmt.Sprintf("githubemu: tree entry %q has malformed sha %q", e.name, e.sha))
		}
		body.Write(raw)
	}
	sha := hashObject("tree", body.Bytes())
	if _, ok := st.objects[sha]; !ok {
		st.objects[sha] = &tree{entries: entries}
	}
	return sha
}

func (st *objectStore) putCommit(c *commit) string {
	var body bytes.Buffer
	fmt.Fprintf(&body, "tree %s\n", c.tree)
	for _, p := range c.parents {
		fmt.Fprintf(&body, "parent %s\n", p)
	}
	fmt.Fprintf(&body, "author %s\n", c.author.encode())
	fmt.Fprintf(&body, "committer %s\n\n", c.committer.encode())
	body.WriteString(c.message)
	sha := hashObject("commit", body.Bytes())
	if _, ok := st.objects[sha]; !ok {
		cp := *c
		cp.parents = append([]string(nil), c.parents...)
		st.objects[sha] = &cp
	}
	return sha
}

func (sg signature) encode() string {
	return fmt.Sprintf("%s <%s> %d +0000", sg.name, sg.email, sg.when.Unix())
}

// sortTreeEntries orders entries the way git does: by name, with a
// directory compared as if its name ended in "/".
func sortTreeEntries(entries []treeEntry) {
	key := func(e treeEntry) string {
		if e.mode == modeTree {
			return e.name + "/"
		}
		return e.name
	}
	sort.Slice(entries, func(i, j int) bool { return key(entries[i]) < key(entries[j]) })
}

func (st *objectStore) blob(sha string) (*blob, bool) {
	b, ok := st.objects[sha].(*blob)
	return b, ok
}

func (st *objectStore) tree(sha string) (*tree, bool) {
	t, ok := st.objects[sha].(*tree)
	return t, ok
}

func (st *objectStore) commit(sha string) (*commit, bool) {
	c, ok := st.objects[sha].(*commit)
	return c, ok
}

// flatten lists every file under the tree, with full paths.
func (st *objectStore) flatten(treeSHA string) (fileMap, error) {
	files := make(fileMap)
	if err := st.flattenInto(files, treeSHA, ""); err != nil {
		return nil, err
	}
	return files, nil
}

func (st *objectStore) flattenInto(files fileMap, treeSHA, prefix string) error {
	t, ok := st.tree(treeSHA)
	if !ok {
		return fmt.Errorf("tree %s does not exist", treeSHA)
	}
	for _, e := range t.entries {
		p := path.Join(prefix, e.name)
		if e.mode == modeTree {
			if err := st.flattenInto(files, e.sha, p); err != nil {
				return err
			}
			continue
		}
		files[p] = fileEntry{mode: e.mode, sha: e.sha}
	}
	return nil
}

// commitFiles flattens the tree of a commit.
func (st *objectStore) commitFiles(commitSHA string) (fileMap, error) {
	c, ok := st.commit(commitSHA)
	if !ok {
		return nil, fmt.Errorf("commit %s does not exist", commitSHA)
	}
	return st.flatten(c.tree)
}

// writeTree stores the nested trees for a flat file map and returns the
// root tree's id. Directories exist only through the files in them, as in git.
func (st *objectStore) writeTree(files fileMap) string {
	type dir struct {
		files map[string]fileEntry
		dirs  map[string]*dir
	}
	newDir := func() *dir { return &dir{files: map[string]fileEntry{}, dirs: map[string]*dir{}} }
	root := newDir()
	for p, f := range files {
		parts := strings.Split(p, "/")
		d := root
		for _, part := range parts[:len(parts)-1] {
			sub, ok := d.dirs[part]
			if !ok {
				sub = newDir()
				d.dirs[part] = sub
			}
			d = sub
		}
		d.files[parts[len(parts)-1]] = f
	}
	var write func(d *dir) string
	write = func(d *dir) string {
		entries := make([]treeEntry, 0, len(d.files)+len(d.dirs))
		for name, f := range d.files {
			entries = append(entries, treeEntry{name: name, mode: f.mode, sha: f.sha})
		}
		for name, sub := range d.dirs {
			entries = append(entries, treeEntry{name: name, mode: modeTree, sha: write(sub)})
		}
		return st.putTree(entries)
	}
	return write(root)
}

// readFile returns a file's content in a commit.
func (st *objectStore) readFile(commitSHA, p string) ([]byte, bool) {
	files, err := st.commitFiles(commitSHA)
	if err != nil {
		return nil, false
	}
	f, ok := files[p]
	if !ok {
		return nil, false
	}
	b, ok := st.blob(f.sha)
	if !ok {
		return nil, false
	}
	return b.data, true
}

// isAncestor reports whether ancestor is reachable from sha (or equal to it).
func (st *objectStore) isAncestor(ancestor, sha string) bool {
	_, ok := st.ancestors(sha)[ancestor]
	return ok
}

// ancestors returns sha and every commit reachable from it.
func (st *objectStore) ancestors(sha string) map[string]bool {
	seen := map[string]bool{}
	queue := []string{sha}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if seen[cur] {
			continue
		}
		seen[cur] = true
		if c, ok := st.commit(cur); ok {
			queue = append(queue, c.parents...)
		}
	}
	return seen
}

// mergeBase finds the nearest common ancestor of a and b by walking b's
// history breadth first; for the histories the bot produces (branches cut
// from the base, merges onto it) that is git's merge base.
func (st *objectStore) mergeBase(a, b string) (string, bool) {
	inA := st.ancestors(a)
	seen := map[string]bool{}
	queue := []string{b}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if seen[cur] {
			continue
		}
		seen[cur] = true
		if inA[cur] {
			return cur, true
		}
		if c, ok := st.commit(cur); ok {
			queue = append(queue, c.parents...)
		}
	}
	return "", false
}

// changedPaths lists the paths whose mode or content differ between two
// file maps, sorted.
func changedPaths(from, to fileMap) []string {
	var out []string
	for p, f := range from {
		if g, ok := to[p]; !ok || g != f {
			out = append(out, p)
		}
	}
	for p := range to {
		if _, ok := from[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// isValidSHA reports whether s looks like a full hex object id.
func isValidSHA(s string) bool {
	if len(s) != 2*sha1.Size {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
