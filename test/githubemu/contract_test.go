package githubemu

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-github/v88/github"
)

// realPayloads holds webhook payloads captured from GitHub (from
// octokit/webhooks, MIT: see the LICENSE beside them).
const realPayloads = "testdata/github-webhooks"

// TestPayloadContract checks that the emulator's webhook payloads carry
// every key GitHub's real ones do, recursively. Extra keys are fine.
// Where the emulator sends null or an empty list (no milestone, no
// assignees) the real value's inner keys are not required: GitHub sends
// the same for such a PR. The scenario fills labels, requested reviewers
// and merged_by so their inner keys are compared.
func TestPayloadContract(t *testing.T) {

	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	pr := openChange(t, gh, branch, map[string]*string{"dns/kprod/web-api.yaml": ptr("weights:\n  old: 90\n  new: 10\n")})
	n := pr.GetNumber()
	if _, _, err := gh.Issues.AddLabelsToIssue(ctx, testOrg, "envs-config", n, []string{"migratebot"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.PullRequests.RequestReviewers(ctx, testOrg, "envs-config", n, github.ReviewersRequest{Reviewers: []string{"alice", "carol"}}); err != nil {
		t.Fatal(err)
	}
	f.emu.WaitIdle()
	if _, err := f.emu.Push(testRepo, branch, map[string]*string{"README.md": ptr("# envs, by hand\n")}, "touch", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := f.emu.Review(testRepo, n, "bob", "APPROVED", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.emu.DismissReview(testRepo, n, lastReviewID(t, f.emu, n), "carol", "stale"); err != nil {
		t.Fatal(err)
	}
	if err := f.emu.Review(testRepo, n, "carol", "COMMENTED", "looks right"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.emu.Comment(testRepo, n, "bob", "/migrate status"); err != nil {
		t.Fatal(err)
	}
	c, _, err := gh.Issues.CreateComment(ctx, testOrg, "envs-config", n, &github.IssueComment{Body: github.Ptr("Opened")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Issues.EditComment(ctx, testOrg, "envs-config", c.GetID(), &github.IssueComment{Body: github.Ptr("Merged")}); err != nil {
		t.Fatal(err)
	}
	f.emu.WaitIdle()
	if err := f.emu.Merge(testRepo, n, "carol"); err != nil {
		t.Fatal(err)
	}

	ours := map[string][]byte{}
	for _, d := range f.emu.Deliveries() {
		ours[d.Event+"."+d.Action] = d.Body // the last of each kind: the fullest
	}
	for _, name := range []string{"pull_request.opened", "pull_request.closed", "pull_request_review.submitted", "issue_comment.created"} {
		if _, ok := ours[name]; !ok {
			t.Fatalf("the scenario sent no %s webhook", name)
		}
	}
	// Every real sample of a kind the emulator sends, variants included
	// ("pull_request.closed.with-organization.json").
	samples, err := filepath.Glob(filepath.Join(realPayloads, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sample := range samples {
		file := filepath.Base(sample)
		parts := strings.SplitN(strings.TrimSuffix(file, ".json"), ".", 3)
		if len(parts) < 2 {
			continue
		}
		body, ok := ours[parts[0]+"."+parts[1]]
		if !ok {
			continue // ping, installation: not the emulator's to send
		}
		t.Run(file, func(t *testing.T) {
			realBody, err := os.ReadFile(sample)
			if err != nil {
				t.Fatal(err)
			}
			name := parts[0] + "." + parts[1]
			var real, mine any
			if err := json.Unmarshal(realBody, &real); err != nil {
				t.Fatalf("real %s: %v", name, err)
			}
			if err := json.Unmarshal(body, &mine); err != nil {
				t.Fatalf("our %s: %v", name, err)
			}
			if missing := missingKeys(real, mine, ""); len(missing) > 0 {
				t.Errorf("our %s payload lacks %d keys GitHub sends:\n  %s", name, len(missing), strings.Join(missing, "\n  "))
			}
		})
	}
}

// missingKeys lists the key paths of real that mine lacks. Lists compare
// the union of their elements' keys.
func missingKeys(real, mine any, at string) []string {
	if mine == nil {
		return nil // null on our side: see TestPayloadContract
	}
	switch r := real.(type) {
	case map[string]any:
		m, ok := mine.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s (an object on GitHub, %T here)", at, mine)}
		}
		var out []string
		for k, rv := range r {
			mv, ok := m[k]
			if !ok {
				out = append(out, at+"."+k)
				continue
			}
			out = append(out, missingKeys(rv, mv, at+"."+k)...)
		}
		sort.Strings(out)
		return out
	case []any:
		m, ok := mine.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s (a list on GitHub, %T here)", at, mine)}
		}
		if len(r) == 0 || len(m) == 0 {
			return nil
		}
		return missingKeys(mergeElements(r), mergeElements(m), at+"[]")
	}
	return nil
}

// mergeElements folds a list's objects into one with every key seen.
func mergeElements(list []any) any {
	merged := map[string]any{}
	for _, e := range list {
		obj, ok := e.(map[string]any)
		if !ok {
			return e
		}
		for k, v := range obj {
			if cur, seen := merged[k]; !seen || cur == nil {
				merged[k] = v
			}
		}
	}
	return merged
}

func lastReviewID(t *testing.T, emu *Server, number int) int64 {
	t.Helper()
	pr, ok := emu.PR(testRepo, number)
	if !ok || len(pr.Reviews) == 0 {
		t.Fatalf("#%d has no reviews", number)
	}
	return pr.Reviews[len(pr.Reviews)-1].ID
}

func TestMissingKeys(t *testing.T) {
	real := map[string]any{"a": 1.0, "b": map[string]any{"c": 1.0, "d": nil}, "l": []any{map[string]any{"x": 1.0}}, "n": map[string]any{"deep": 1.0}}
	mine := map[string]any{"a": 2.0, "b": map[string]any{"c": 1.0}, "l": []any{map[string]any{"y": 1.0}}, "n": nil, "extra": true}
	got := missingKeys(real, mine, "")
	want := []string{".b.d", ".l[].x"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("missingKeys = %v, want %v", got, want)
	}
}
