package githubemu

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The expected ids come from git itself (git hash-object, write-tree and
// commit-tree on the same content), so ids here are the ones GitHub shows.
func TestGitObjectIDs(t *testing.T) {
	st := newObjectStore()
	files := fileMap{}
	for p, content := range map[string]string{
		"README.md":              "hello\n",
		"dns.txt":                "x", // sorts before the directory "dns", as in git
		"dns/kprod/web-api.yaml": "weights:\n  old: 100\n",
	} {
		files[p] = fileEntry{mode: modeFile, sha: st.putBlob([]byte(content))}
	}
	if got := files["README.md"].sha; got != "ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Errorf("blob id = %s", got)
	}
	tree := st.writeTree(files)
	if tree != "98210936b0dbbb4419a05bc8c58987dcc361ec1b" {
		t.Errorf("tree id = %s", tree)
	}
	if empty := st.writeTree(fileMap{}); empty != "4b825dc642cb6eb9a060e54bf8d69288fbee4904" {
		t.Errorf("empty tree id = %s", empty)
	}
	who := signature{name: "alice", email: "alice@example.com", when: time.Unix(1700000000, 0)}
	commit := st.putCommit(&commit{tree: tree, author: who, committer: who, message: "Initial commit"})
	if commit != "68f1b73a7191af0d8d66026b02f3ca48c87fca99" {
		t.Errorf("commit id = %s", commit)
	}
	back, err := st.commitFiles(commit)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(files, back, cmp.AllowUnexported(fileEntry{})); diff != "" {
		t.Errorf("flatten(writeTree(files)) (-want +got):\n%s", diff)
	}
}

func TestMergeBaseAndAncestry(t *testing.T) {
	st := newObjectStore()
	who := signature{name: "a", email: "a@x", when: time.Unix(1, 0)}
	tree := st.writeTree(fileMap{})
	mk := func(msg string, parents ...string) string {
		return st.putCommit(&commit{tree: tree, parents: parents, author: who, committer: who, message: msg})
	}
	root := mk("root")
	main1 := mk("main1", root)
	feature := mk("feature", root)
	main2 := mk("main2", main1)
	merge := mk("merge", main2, feature)

	tests := []struct {
		name     string
		a, b     string
		wantBase string
	}{
		{"diverged", feature, main2, root},
		{"ahead", main2, main1, main1},
		{"after merge", feature, merge, feature},
		{"same", main1, main1, main1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := st.mergeBase(tt.a, tt.b)
			if !ok || got != tt.wantBase {
				t.Errorf("mergeBase = %s, %v; want %s", got, ok, tt.wantBase)
			}
		})
	}
	if !st.isAncestor(root, merge) || st.isAncestor(feature, main2) {
		t.Error("isAncestor is wrong")
	}
}

func TestUnifiedPatch(t *testing.T) {
	patch, add, del := unifiedPatch("a\nb\nc\n", "a\nB\nc\nd\n")
	want := "@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d"
	if patch != want || add != 2 || del != 1 {
		t.Errorf("patch = %q (+%d -%d), want %q (+2 -1)", patch, add, del, want)
	}
	if patch, add, del := unifiedPatch("", "new\n"); patch != "@@ -0,0 +1,1 @@\n+new" || add != 1 || del != 0 {
		t.Errorf("added file patch = %q (+%d -%d)", patch, add, del)
	}
}
