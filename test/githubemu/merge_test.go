package githubemu

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-github/v88/github"
)

// TestMergeAtSHA: the bot merges only the commit whose checks it read;
// GitHub refuses with 409 when the head moved, and a merge through the API
// sends the same webhook a person's merge does, merged by the bot.
func TestMergeAtSHA(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	pr := openChange(t, gh, branch, map[string]*string{"dns/kprod/web-api.yaml": ptr("weights:\n  old: 75\n  new: 25\n")})
	n, stale := pr.GetNumber(), pr.GetHead().GetSHA()

	// Someone pushes to the PR after its checks were read.
	head, err := f.emu.Push(testRepo, branch, map[string]*string{"README.md": ptr("# envs, by hand\n")}, "touch", "alice")
	if err != nil {
		t.Fatal(err)
	}
	_, resp, err := gh.PullRequests.Merge(ctx, testOrg, "envs-config", n, "", &github.PullRequestOptions{SHA: stale, MergeMethod: "merge"})
	wantAPIError(t, "merge at a stale sha", resp, err, 409, "Head branch was modified. Review and try the merge again.")
	if p, _ := f.emu.PR(testRepo, n); p.State != "open" || p.Merged {
		t.Fatalf("after a refused merge the PR is %s, merged %v", p.State, p.Merged)
	}
	if got, _ := f.emu.File(testRepo, "main", "dns/kprod/web-api.yaml"); got != "weights:\n  old: 100\n  new: 0\n" {
		t.Errorf("main changed by a refused merge: %q", got)
	}

	f.emu.WaitIdle()
	f.events.mu.Lock()
	f.events.events = nil
	f.events.mu.Unlock()
	res, _, err := gh.PullRequests.Merge(ctx, testOrg, "envs-config", n, "", &github.PullRequestOptions{SHA: head, MergeMethod: "merge", CommitTitle: "web-api: weights 25 (auto-merged)"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.emu.PR(testRepo, n)
	if !res.GetMerged() || !p.Merged || p.MergedBy != testBotName || p.MergeCommitSHA != res.GetSHA() {
		t.Errorf("merge = %v; PR merged %v by %s at %s", res.GetMerged(), p.Merged, p.MergedBy, p.MergeCommitSHA)
	}
	commit, _, err := gh.Git.GetCommit(ctx, testOrg, "envs-config", res.GetSHA())
	if err != nil {
		t.Fatal(err)
	}
	if title, _, _ := strings.Cut(commit.GetMessage(), "\n"); title != "web-api: weights 25 (auto-merged)" || len(commit.Parents) != 2 || commit.Parents[1].GetSHA() != head {
		t.Errorf("merge commit %q with parents %v", commit.GetMessage(), commit.Parents)
	}

	// The webhook a person's merge sends, with the bot as merger and sender.
	f.emu.WaitIdle()
	ev, ok := f.hooks.last().parsed.(*github.PullRequestEvent)
	if !ok {
		t.Fatalf("last webhook is %s, want pull_request", f.hooks.last().event)
	}
	if ev.GetAction() != "closed" || !ev.GetPullRequest().GetMerged() || ev.GetPullRequest().GetMergedBy().GetLogin() != testBotName || ev.GetSender().GetLogin() != testBotName {
		t.Errorf("webhook %s merged %v by %s, sender %s", ev.GetAction(), ev.GetPullRequest().GetMerged(), ev.GetPullRequest().GetMergedBy().GetLogin(), ev.GetSender().GetLogin())
	}
	if ev.GetPullRequest().GetHead().GetSHA() != head || ev.GetPullRequest().GetMergeCommitSHA() != res.GetSHA() {
		t.Errorf("webhook head %s merge commit %s", ev.GetPullRequest().GetHead().GetSHA(), ev.GetPullRequest().GetMergeCommitSHA())
	}
	var merged []Event
	for _, e := range f.events.all() {
		if e.Kind == "github.pull_request" && e.Action == "merged" {
			merged = append(merged, e)
		}
	}
	if len(merged) != 1 || merged[0].By != testBotName || merged[0].Number != n {
		t.Errorf("merged events = %+v", merged)
	}
}
