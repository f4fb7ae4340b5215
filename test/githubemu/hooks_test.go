package githubemu

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-github/v88/github"
)

// TestOnNextCall: a hook runs once, in the next call to its route, at the
// moment asked; a status it returns before serving keeps the call from
// taking effect, after serving only replaces the answer.
func TestOnNextCall(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	const route = "POST /repos/{owner}/{repo}/git/refs"
	main, _, err := gh.Git.GetRef(ctx, testOrg, "envs-config", "heads/main")
	if err != nil {
		t.Fatal(err)
	}
	newRef := func(name string) (int, error) {
		_, resp, err := gh.Git.CreateRef(ctx, testOrg, "envs-config", github.CreateRef{Ref: "refs/heads/" + name, SHA: main.GetObject().GetSHA()})
		return statusOf(resp), err
	}
	has := func(branch string) bool {
		for _, b := range f.emu.Branches(testRepo) {
			if b == branch {
				return true
			}
		}
		return false
	}

	ran := 0
	f.emu.OnNextCall(route, BeforeServing, func() int { ran++; return http.StatusBadGateway })
	if status, _ := newRef("a"); status != http.StatusBadGateway || has("a") {
		t.Errorf("before serving with 502: answered %d, branch made %v; want 502 and no branch", status, has("a"))
	}
	if status, err := newRef("a"); status != http.StatusCreated || !has("a") {
		t.Errorf("the call after: %d %v, want the branch made (the hook runs once)", status, err)
	}

	f.emu.OnNextCall(route, AfterServing, func() int { ran++; return http.StatusBadGateway })
	if status, _ := newRef("b"); status != http.StatusBadGateway || !has("b") {
		t.Errorf("after serving with 502: answered %d, branch made %v; want 502 and the branch made", status, has("b"))
	}
	if status, _ := newRef("b"); status != http.StatusUnprocessableEntity {
		t.Errorf("the retry: %d, want 422 (it exists)", status)
	}

	f.emu.OnNextCall(route, BeforeServing, func() int { return 0 })
	if status, err := newRef("c"); status != http.StatusCreated || !has("c") {
		t.Errorf("a hook returning 0: %d %v, want the call served as usual", status, err)
	}
	if ran != 2 {
		t.Errorf("the two hooks ran %d times, want once each", ran)
	}

	defer func() {
		if recover() == nil {
			t.Error("OnNextCall with an unknown route did not panic")
		}
	}()
	f.emu.OnNextCall("POST /nope", BeforeServing, func() int { return 0 })
}

func TestBranchCommits(t *testing.T) {
	f := newFixture(t)
	content := "x\n"
	for range 2 {
		if _, err := f.emu.Push(testRepo, "topic", map[string]*string{"a.txt": &content}, "", "alice"); err != nil {
			t.Fatal(err)
		}
		content += "y\n"
	}
	commits, err := f.emu.BranchCommits(testRepo, "topic", "main")
	if err != nil || len(commits) != 2 {
		t.Errorf("topic: %v %v, want its two commits", commits, err)
	}
	if commits, err := f.emu.BranchCommits(testRepo, "main", "main"); err != nil || len(commits) != 0 {
		t.Errorf("main on main: %v %v, want none", commits, err)
	}
	if _, err := f.emu.BranchCommits(testRepo, "nope", "main"); err == nil {
		t.Error("a missing branch: no error")
	}
}
