package githubemu

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v88/github"
)

const branch = "migratebot/web-api/weights-25"

// TestWriteChange walks the bot's way of writing a change, with both
// client flavours: base URL at the root and WithEnterpriseURLs (/api/v3/).
func TestWriteChange(t *testing.T) {
	for _, enterprise := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "enterprise"}[enterprise]
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			gh := f.client(t, enterprise)
			ctx := context.Background()

			pr := openChange(t, gh, branch, map[string]*string{
				"dns/kprod/web-api.yaml": ptr("weights:\n  old: 75\n  new: 25\n"),
				"dns/kprod/new/x.yaml":   ptr("x: 1\n"),
				"dns/kprod/billing.yaml": nil,
			})
			if pr.GetNumber() != 1 || pr.GetHTMLURL() != "https://github.com/acme/envs-config/pull/1" {
				t.Errorf("pr #%d at %s", pr.GetNumber(), pr.GetHTMLURL())
			}
			if pr.GetHead().GetRef() != branch || pr.GetBase().GetRef() != "main" || pr.GetUser().GetLogin() != testBotName || pr.GetUser().GetType() != "Bot" {
				t.Errorf("pr head %s base %s by %s (%s)", pr.GetHead().GetRef(), pr.GetBase().GetRef(), pr.GetUser().GetLogin(), pr.GetUser().GetType())
			}

			// Files visible on the branch and unchanged on main.
			for _, c := range []struct {
				ref, path, want string
				exists          bool
			}{
				{branch, "dns/kprod/web-api.yaml", "weights:\n  old: 75\n  new: 25\n", true},
				{branch, "dns/kprod/new/x.yaml", "x: 1\n", true},
				{branch, "dns/kprod/billing.yaml", "", false},
				{branch, "README.md", "# envs\n", true},
				{"main", "dns/kprod/web-api.yaml", "weights:\n  old: 100\n  new: 0\n", true},
				{"main", "dns/kprod/new/x.yaml", "", false},
				{"main", "dns/kprod/billing.yaml", "weights:\n  old: 100\n", true},
			} {
				got, ok := f.emu.File(testRepo, c.ref, c.path)
				if ok != c.exists || got != c.want {
					t.Errorf("File(%s, %s) = %q, %v; want %q, %v", c.ref, c.path, got, ok, c.want, c.exists)
				}
			}

			// Through the contents API too.
			file, _, _, err := gh.Repositories.GetContents(ctx, testOrg, "envs-config", "dns/kprod/web-api.yaml", &github.RepositoryContentGetOptions{Ref: branch})
			if err != nil {
				t.Fatal(err)
			}
			if content, err := file.GetContent(); err != nil || content != "weights:\n  old: 75\n  new: 25\n" {
				t.Errorf("contents = %q, %v", content, err)
			}
			if _, _, resp, err := gh.Repositories.GetContents(ctx, testOrg, "envs-config", "dns/kprod/new/x.yaml", nil); statusOf(resp) != 404 {
				t.Errorf("missing file on main: %d %v, want 404", statusOf(resp), err)
			}
			_, dir, _, err := gh.Repositories.GetContents(ctx, testOrg, "envs-config", "dns/kprod", &github.RepositoryContentGetOptions{Ref: branch})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range dir {
				names = append(names, e.GetType()+":"+e.GetName())
			}
			if diff := cmp.Diff([]string{"dir:new", "file:web-api.yaml"}, names); diff != "" {
				t.Errorf("dir listing (-want +got):\n%s", diff)
			}

			// The ref by its slashy name, and the tree recursively.
			ref, _, err := gh.Git.GetRef(ctx, testOrg, "envs-config", "heads/"+branch)
			if err != nil {
				t.Fatal(err)
			}
			if ref.GetObject().GetSHA() != pr.GetHead().GetSHA() {
				t.Errorf("ref %s points at %s, PR head is %s", ref.GetRef(), ref.GetObject().GetSHA(), pr.GetHead().GetSHA())
			}
			b, _, err := gh.Repositories.GetBranch(ctx, testOrg, "envs-config", branch, 0)
			if err != nil {
				t.Fatal(err)
			}
			tree, _, err := gh.Git.GetTree(ctx, testOrg, "envs-config", b.GetCommit().GetCommit().GetTree().GetSHA(), true)
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, e := range tree.Entries {
				if e.GetType() == "blob" {
					paths = append(paths, e.GetPath())
				}
			}
			if diff := cmp.Diff([]string{"README.md", "dns/kprod/new/x.yaml", "dns/kprod/web-api.yaml"}, paths); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}

			// Listing by head finds it; a second PR for the head is refused.
			pulls, _, err := gh.PullRequests.List(ctx, testOrg, "envs-config", &github.PullRequestListOptions{Head: testOrg + ":" + branch})
			if err != nil {
				t.Fatal(err)
			}
			if len(pulls) != 1 || pulls[0].GetNumber() != pr.GetNumber() {
				t.Errorf("pulls by head = %d", len(pulls))
			}
			other, _, err := gh.PullRequests.List(ctx, testOrg, "envs-config", &github.PullRequestListOptions{Head: testOrg + ":nope"})
			if err != nil || len(other) != 0 {
				t.Errorf("pulls by another head = %d, %v", len(other), err)
			}
			_, resp, err := gh.PullRequests.Create(ctx, testOrg, "envs-config", &github.NewPullRequest{
				Title: github.Ptr("again"), Head: github.Ptr(branch), Base: github.Ptr("main"),
			})
			var er *github.ErrorResponse
			if !errors.As(err, &er) || statusOf(resp) != 422 || len(er.Errors) != 1 ||
				er.Errors[0].Message != "A pull request already exists for acme:"+branch+"." {
				t.Errorf("duplicate PR: %d %v", statusOf(resp), err)
			}

			files, _, err := gh.PullRequests.ListFiles(ctx, testOrg, "envs-config", pr.GetNumber(), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, fl := range files {
				got[fl.GetFilename()] = fl.GetStatus()
			}
			want := map[string]string{"dns/kprod/web-api.yaml": "modified", "dns/kprod/new/x.yaml": "added", "dns/kprod/billing.yaml": "removed"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("PR files (-want +got):\n%s", diff)
			}

			// Calls are recorded by route, without the /api/v3 prefix.
			var routes []string
			for _, c := range f.emu.Calls() {
				routes = append(routes, c.Route)
				if strings.HasPrefix(c.Path, "/api/v3") {
					t.Errorf("call path %s kept the prefix", c.Path)
				}
			}
			for _, r := range []string{
				"POST /app/installations/{installation_id}/access_tokens",
				"GET /repos/{owner}/{repo}/branches/{branch...}",
				"POST /repos/{owner}/{repo}/git/trees",
				"POST /repos/{owner}/{repo}/git/commits",
				"POST /repos/{owner}/{repo}/git/refs",
				"POST /repos/{owner}/{repo}/pulls",
			} {
				if !contains(routes, r) {
					t.Errorf("no call recorded for %s", r)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestRefs(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	pr := openChange(t, gh, branch, map[string]*string{"a.txt": ptr("a\n")})
	mainRef, _, err := gh.Git.GetRef(ctx, testOrg, "envs-config", "heads/main")
	if err != nil {
		t.Fatal(err)
	}

	_, resp, err := gh.Git.CreateRef(ctx, testOrg, "envs-config", github.CreateRef{Ref: "refs/heads/" + branch, SHA: mainRef.GetObject().GetSHA()})
	wantAPIError(t, "create existing ref", resp, err, 422, "Reference already exists")

	// Moving the head back to main is not a fast-forward...
	_, resp, err = gh.Git.UpdateRef(ctx, testOrg, "envs-config", "heads/"+branch, github.UpdateRef{SHA: mainRef.GetObject().GetSHA()})
	wantAPIError(t, "non-fast-forward", resp, err, 422, "Update is not a fast forward")

	// ...but a new commit on top is, and it synchronizes the PR.
	head := pr.GetHead().GetSHA()
	headCommit, _, err := gh.Git.GetCommit(ctx, testOrg, "envs-config", head)
	if err != nil {
		t.Fatal(err)
	}
	tree, _, err := gh.Git.CreateTree(ctx, testOrg, "envs-config", headCommit.GetTree().GetSHA(), []*github.TreeEntry{
		{Path: github.Ptr("a.txt"), Mode: github.Ptr("100644"), Type: github.Ptr("blob"), Content: github.Ptr("b\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	next, _, err := gh.Git.CreateCommit(ctx, testOrg, "envs-config", github.Commit{
		Message: github.Ptr("again"), Tree: tree, Parents: []*github.Commit{{SHA: &head}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Git.UpdateRef(ctx, testOrg, "envs-config", "heads/"+branch, github.UpdateRef{SHA: next.GetSHA()}); err != nil {
		t.Fatal(err)
	}
	f.emu.WaitIdle()
	last := f.hooks.last()
	ev, ok := last.parsed.(*github.PullRequestEvent)
	if !ok || ev.GetAction() != "synchronize" || ev.GetBefore() != head || ev.GetAfter() != next.GetSHA() {
		t.Errorf("last webhook %s %T, want pull_request synchronize %s -> %s", last.event, last.parsed, head, next.GetSHA())
	}

	// Force moves it anywhere.
	if _, _, err := gh.Git.UpdateRef(ctx, testOrg, "envs-config", "heads/"+branch, github.UpdateRef{SHA: head, Force: github.Ptr(true)}); err != nil {
		t.Fatalf("forced update: %v", err)
	}

	refs, _, err := gh.Git.ListMatchingRefs(ctx, testOrg, "envs-config", "heads/migratebot/")
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0].GetRef() != "refs/heads/"+branch {
		t.Errorf("matching refs = %v", refs)
	}

	// Deleting the head branch closes the PR, as on GitHub.
	if _, err := gh.Git.DeleteRef(ctx, testOrg, "envs-config", "heads/"+branch); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.emu.PR(testRepo, pr.GetNumber()); got.State != "closed" || got.Merged {
		t.Errorf("after deleting its branch the PR is %s (merged %v)", got.State, got.Merged)
	}
	if _, resp, err := gh.Git.GetRef(ctx, testOrg, "envs-config", "heads/"+branch); statusOf(resp) != 404 {
		t.Errorf("deleted ref: %d %v", statusOf(resp), err)
	}
	resp, err = gh.Git.DeleteRef(ctx, testOrg, "envs-config", "heads/"+branch)
	wantAPIError(t, "delete missing ref", resp, err, 422, "Reference does not exist")
	if diff := cmp.Diff([]string{"main"}, f.emu.Branches(testRepo)); diff != "" {
		t.Errorf("branches (-want +got):\n%s", diff)
	}
}

func wantAPIError(t *testing.T, what string, resp *github.Response, err error, status int, message string) {
	t.Helper()
	var er *github.ErrorResponse
	if !errors.As(err, &er) {
		t.Errorf("%s: err = %v, want a %d", what, err, status)
		return
	}
	if statusOf(resp) != status || er.Message != message {
		t.Errorf("%s: got %d %q, want %d %q", what, statusOf(resp), er.Message, status, message)
	}
}

func TestMergeConflict(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	pr := openChange(t, gh, branch, map[string]*string{"dns/kprod/web-api.yaml": ptr("weights:\n  old: 90\n  new: 10\n")})

	// Someone changes the same file on main in the meantime.
	if _, err := f.emu.Push(testRepo, "main", map[string]*string{"dns/kprod/web-api.yaml": ptr("weights:\n  old: 50\n  new: 50\n")}, "hotfix", "alice"); err != nil {
		t.Fatal(err)
	}
	got, _, err := gh.PullRequests.Get(ctx, testOrg, "envs-config", pr.GetNumber())
	if err != nil {
		t.Fatal(err)
	}
	if got.GetMergeable() || got.GetMergeableState() != "dirty" {
		t.Errorf("mergeable = %v (%s), want false (dirty)", got.GetMergeable(), got.GetMergeableState())
	}
	err = f.emu.Merge(testRepo, pr.GetNumber(), "carol")
	var ae *apiError
	if !errors.As(err, &ae) || ae.status != http.StatusMethodNotAllowed {
		t.Errorf("Merge with a conflict: %v, want 405", err)
	}
	_, resp, err := gh.PullRequests.Merge(ctx, testOrg, "envs-config", pr.GetNumber(), "", nil)
	wantAPIError(t, "API merge with a conflict", resp, err, 405, "Pull Request is not mergeable")
	if p, _ := f.emu.PR(testRepo, pr.GetNumber()); p.State != "open" || p.Merged {
		t.Errorf("PR after refused merges: %s merged %v", p.State, p.Merged)
	}
}

func TestMergeByAPIAndUnrelatedBaseChange(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	pr := openChange(t, gh, branch, map[string]*string{"dns/kprod/web-api.yaml": ptr("new\n")})
	// A change to another file on main does not conflict, and survives the merge.
	if _, err := f.emu.Push(testRepo, "main", map[string]*string{"README.md": ptr("# readme\n")}, "docs", "alice"); err != nil {
		t.Fatal(err)
	}
	res, _, err := gh.PullRequests.Merge(ctx, testOrg, "envs-config", pr.GetNumber(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.GetMerged() || res.GetSHA() == "" {
		t.Errorf("merge result %+v", res)
	}
	for path, want := range map[string]string{"dns/kprod/web-api.yaml": "new\n", "README.md": "# readme\n"} {
		if got, _ := f.emu.File(testRepo, "main", path); got != want {
			t.Errorf("main:%s = %q, want %q", path, got, want)
		}
	}
	p, _ := f.emu.PR(testRepo, pr.GetNumber())
	if !p.Merged || p.MergedBy != testBotName || p.MergeCommitSHA != res.GetSHA() {
		t.Errorf("PR = merged %v by %s at %s", p.Merged, p.MergedBy, p.MergeCommitSHA)
	}
	commit, _, err := gh.Git.GetCommit(ctx, testOrg, "envs-config", res.GetSHA())
	if err != nil {
		t.Fatal(err)
	}
	if len(commit.Parents) != 2 {
		t.Errorf("merge commit has %d parents, want 2", len(commit.Parents))
	}
	_, resp, err := gh.PullRequests.Merge(ctx, testOrg, "envs-config", pr.GetNumber(), "", nil)
	wantAPIError(t, "merging a merged PR", resp, err, 405, "Pull Request is not mergeable")
}

func TestPullEditsReviewersLabels(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	pr := openChange(t, gh, branch, map[string]*string{"a.txt": ptr("a\n")})
	n := pr.GetNumber()
	f.emu.AddTeam(testOrg, "change-approvers", "carol")

	if _, _, err := gh.PullRequests.RequestReviewers(ctx, testOrg, "envs-config", n, github.ReviewersRequest{Reviewers: []string{"carol"}, TeamReviewers: []string{"change-approvers"}}); err != nil {
		t.Fatal(err)
	}
	_, resp, err := gh.PullRequests.RequestReviewers(ctx, testOrg, "envs-config", n, github.ReviewersRequest{Reviewers: []string{"eve"}})
	if statusOf(resp) != 422 {
		t.Errorf("reviewer without access: %d %v, want 422", statusOf(resp), err)
	}
	if _, _, err := gh.Issues.AddLabelsToIssue(ctx, testOrg, "envs-config", n, []string{"migratebot", "kprod"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.PullRequests.Edit(ctx, testOrg, "envs-config", n, &github.PullRequest{Title: github.Ptr("Shift web-api to 50%")}); err != nil {
		t.Fatal(err)
	}
	got, _, err := gh.PullRequests.Get(ctx, testOrg, "envs-config", n)
	if err != nil {
		t.Fatal(err)
	}
	var reviewers, labels []string
	for _, u := range got.RequestedReviewers {
		reviewers = append(reviewers, u.GetLogin())
	}
	for _, l := range got.Labels {
		labels = append(labels, l.GetName())
	}
	if diff := cmp.Diff([]string{"carol"}, reviewers); diff != "" {
		t.Errorf("reviewers (-want +got):\n%s", diff)
	}
	if len(got.RequestedTeams) != 1 || got.RequestedTeams[0].GetSlug() != "change-approvers" {
		t.Errorf("teams = %v", got.RequestedTeams)
	}
	if diff := cmp.Diff([]string{"migratebot", "kprod"}, labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if got.GetTitle() != "Shift web-api to 50%" {
		t.Errorf("title = %q", got.GetTitle())
	}

	// The webhooks GitHub sends for these, in order.
	f.emu.WaitIdle()
	var seen []string
	for _, d := range f.emu.Deliveries() {
		seen = append(seen, d.Event+"."+d.Action)
	}
	want := []string{
		"pull_request.opened",
		"pull_request.review_requested", "pull_request.review_requested",
		"pull_request.labeled", "pull_request.labeled",
		"pull_request.edited",
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}

	// Closing through the API.
	if _, _, err := gh.PullRequests.Edit(ctx, testOrg, "envs-config", n, &github.PullRequest{State: github.Ptr("closed")}); err != nil {
		t.Fatal(err)
	}
	if p, _ := f.emu.PR(testRepo, n); p.State != "closed" || p.Merged {
		t.Errorf("PR %s merged %v, want closed unmerged", p.State, p.Merged)
	}
}

func TestPagination(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	pr := openChange(t, gh, branch, map[string]*string{"a.txt": ptr("a\n")})
	for i := range 5 {
		if _, err := f.emu.Comment(testRepo, pr.GetNumber(), "alice", strings.Repeat("x", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	var bodies []string
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 2}}
	for {
		page, resp, err := gh.Issues.ListComments(ctx, testOrg, "envs-config", pr.GetNumber(), opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			bodies = append(bodies, c.GetBody())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if diff := cmp.Diff([]string{"x", "xx", "xxx", "xxxx", "xxxxx"}, bodies); diff != "" {
		t.Errorf("comments across pages (-want +got):\n%s", diff)
	}
}

func TestIssuesAndComments(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	pr := openChange(t, gh, branch, map[string]*string{"a.txt": ptr("a\n")})

	// Issues and PRs share one number sequence.
	is, _, err := gh.Issues.Create(ctx, testOrg, "envs-config", &github.IssueRequest{Title: github.Ptr("CHG: web-api 10 -> 25"), Labels: &[]string{"change"}})
	if err != nil {
		t.Fatal(err)
	}
	if is.GetNumber() != pr.GetNumber()+1 || is.IsPullRequest() {
		t.Errorf("issue #%d (pr %v), want #%d", is.GetNumber(), is.IsPullRequest(), pr.GetNumber()+1)
	}
	if _, _, err := gh.Issues.Edit(ctx, testOrg, "envs-config", is.GetNumber(), &github.IssueRequest{State: github.Ptr("closed"), StateReason: github.Ptr("completed")}); err != nil {
		t.Fatal(err)
	}
	asPR, _, err := gh.Issues.Get(ctx, testOrg, "envs-config", pr.GetNumber())
	if err != nil {
		t.Fatal(err)
	}
	if !asPR.IsPullRequest() {
		t.Error("the PR read as an issue has no pull_request key")
	}
	if _, resp, err := gh.PullRequests.Get(ctx, testOrg, "envs-config", is.GetNumber()); statusOf(resp) != 404 {
		t.Errorf("an issue read as a PR: %d %v, want 404", statusOf(resp), err)
	}

	c, _, err := gh.Issues.CreateComment(ctx, testOrg, "envs-config", pr.GetNumber(), &github.IssueComment{Body: github.Ptr("Opened by migratebot")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Issues.EditComment(ctx, testOrg, "envs-config", c.GetID(), &github.IssueComment{Body: github.Ptr("Merged; health check at 12:30")}); err != nil {
		t.Fatal(err)
	}
	got, _, err := gh.Issues.GetComment(ctx, testOrg, "envs-config", c.GetID())
	if err != nil {
		t.Fatal(err)
	}
	if got.GetBody() != "Merged; health check at 12:30" || got.GetUser().GetLogin() != testBotName {
		t.Errorf("comment = %q by %s", got.GetBody(), got.GetUser().GetLogin())
	}
	for i, want := range []int{http.StatusCreated, http.StatusOK} { // a repeat reaction is the same reaction
		_, resp, err := gh.Reactions.CreateIssueCommentReaction(ctx, testOrg, "envs-config", c.GetID(), "eyes")
		if err != nil || statusOf(resp) != want {
			t.Errorf("reaction %d: %d %v, want %d", i, statusOf(resp), err, want)
		}
	}

	perm, _, err := gh.Repositories.GetPermissionLevel(ctx, testOrg, "envs-config", "carol")
	if err != nil {
		t.Fatal(err)
	}
	if perm.GetPermission() != "admin" || perm.GetUser().GetLogin() != "carol" {
		t.Errorf("carol's permission = %s", perm.GetPermission())
	}
	if perm, _, err := gh.Repositories.GetPermissionLevel(ctx, testOrg, "envs-config", "mallory"); err != nil || perm.GetPermission() != "none" {
		t.Errorf("mallory's permission = %s, %v; want none", perm.GetPermission(), err)
	}

	f.emu.WaitIdle()
	var comments []string
	for _, e := range f.events.all() {
		if e.Kind == "github.comment" {
			comments = append(comments, e.Action+":"+e.Body)
		}
	}
	if diff := cmp.Diff([]string{"created:Opened by migratebot", "edited:Merged; health check at 12:30"}, comments); diff != "" {
		t.Errorf("comment events (-want +got):\n%s", diff)
	}
	issue, _ := f.emu.Issue(testRepo, is.GetNumber())
	if issue.State != "closed" || issue.StateReason != "completed" || !cmp.Equal(issue.Labels, []string{"change"}) {
		t.Errorf("issue = %+v", issue)
	}
}
