package githubemu

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v88/github"
)

// combined reads a ref's combined status as "state: context=state ...".
func combined(t *testing.T, gh *github.Client, ref string) (string, []string, string) {
	t.Helper()
	cs, _, err := gh.Repositories.GetCombinedStatus(context.Background(), testOrg, "envs-config", ref, nil)
	if err != nil {
		t.Fatalf("combined status of %s: %v", ref, err)
	}
	if cs.GetTotalCount() != len(cs.Statuses) {
		t.Errorf("total_count %d for %d statuses", cs.GetTotalCount(), len(cs.Statuses))
	}
	var got []string
	for _, st := range cs.Statuses {
		got = append(got, st.GetContext()+"="+st.GetState())
	}
	return cs.GetState(), got, cs.GetSHA()
}

// runs lists a ref's check runs as "name=status/conclusion", newest first.
func runs(t *testing.T, gh *github.Client, ref string, opts *github.ListCheckRunsOptions) []string {
	t.Helper()
	res, _, err := gh.Checks.ListCheckRunsForRef(context.Background(), testOrg, "envs-config", ref, opts)
	if err != nil {
		t.Fatalf("check runs of %s: %v", ref, err)
	}
	if res.GetTotal() != len(res.CheckRuns) {
		t.Errorf("total_count %d for %d runs", res.GetTotal(), len(res.CheckRuns))
	}
	var got []string
	for _, cr := range res.CheckRuns {
		got = append(got, cr.GetName()+"="+cr.GetStatus()+"/"+cr.GetConclusion())
	}
	return got
}

func TestCommitStatuses(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, true)
	ctx := context.Background()
	pr := openChange(t, gh, branch, map[string]*string{"a.txt": ptr("a\n")})
	head := pr.GetHead().GetSHA()

	// No statuses: GitHub calls that pending.
	if state, got, sha := combined(t, gh, head); state != "pending" || len(got) != 0 || sha != head {
		t.Errorf("no statuses: %s %v at %s", state, got, sha)
	}

	f.emu.SetStatus(testRepo, head, "ci/build", "pending")
	f.emu.SetStatus(testRepo, head, "ci/build", "success") // supersedes the pending one
	if state, got, _ := combined(t, gh, head); state != "success" || !cmp.Equal(got, []string{"ci/build=success"}) {
		t.Errorf("one success: %s %v", state, got)
	}
	f.emu.SetStatus(testRepo, branch, "ci/lint", "pending") // by branch: its tip
	if state, got, _ := combined(t, gh, head); state != "pending" || !cmp.Equal(got, []string{"ci/build=success", "ci/lint=pending"}) {
		t.Errorf("one pending: %s %v", state, got)
	}

	// The bot posts one too, through the API.
	st, resp, err := gh.Repositories.CreateStatus(ctx, testOrg, "envs-config", head, github.RepoStatus{
		State: github.Ptr("error"), Context: github.Ptr("migratebot/plan"), Description: github.Ptr("plan failed"),
	})
	if err != nil || statusOf(resp) != 201 {
		t.Fatalf("create status: %d %v", statusOf(resp), err)
	}
	if st.GetCreator().GetLogin() != testBotName || st.GetDescription() != "plan failed" || st.GetID() == 0 {
		t.Errorf("created status by %s: %q id %d", st.GetCreator().GetLogin(), st.GetDescription(), st.GetID())
	}
	// By the slashy branch name, sent as several segments.
	state, got, sha := combined(t, gh, branch)
	if state != "failure" || sha != head || !cmp.Equal(got, []string{"ci/build=success", "ci/lint=pending", "migratebot/plan=error"}) {
		t.Errorf("with an error: %s %v at %s", state, got, sha)
	}
	// main has none of them.
	if state, got, _ := combined(t, gh, "main"); state != "pending" || len(got) != 0 {
		t.Errorf("main: %s %v", state, got)
	}

	_, resp, err = gh.Repositories.CreateStatus(ctx, testOrg, "envs-config", head, github.RepoStatus{State: github.Ptr("green")})
	if statusOf(resp) != 422 {
		t.Errorf("bad state: %d %v, want 422", statusOf(resp), err)
	}
	_, resp, err = gh.Repositories.CreateStatus(ctx, testOrg, "envs-config", "0123456789012345678901234567890123456789", github.RepoStatus{State: github.Ptr("success")})
	wantAPIError(t, "status on an unknown commit", resp, err, 422, "No commit found for SHA: 0123456789012345678901234567890123456789")
	_, resp, err = gh.Repositories.GetCombinedStatus(ctx, testOrg, "envs-config", "no-such-branch", nil)
	wantAPIError(t, "status of an unknown ref", resp, err, 422, "No commit found for SHA: no-such-branch")

	var routes []string
	for _, c := range f.emu.Calls() {
		routes = append(routes, c.Route)
	}
	for _, r := range []string{"GET /repos/{owner}/{repo}/commits/{ref...}/status", "POST /repos/{owner}/{repo}/statuses/{sha}"} {
		if !contains(routes, r) {
			t.Errorf("no call recorded for %s", r)
		}
	}
}

func TestCheckRuns(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	pr := openChange(t, gh, branch, map[string]*string{"a.txt": ptr("a\n")})
	head := pr.GetHead().GetSHA()

	if got := runs(t, gh, head, nil); len(got) != 0 {
		t.Errorf("no runs yet: %v", got)
	}
	f.emu.SetCheckRun(testRepo, head, "build", "queued", "")
	f.emu.SetCheckRun(testRepo, branch, "build", "in_progress", "") // the same run, moving on
	f.emu.SetCheckRun(testRepo, head, "lint", "completed", "success")
	if diff := cmp.Diff([]string{"lint=completed/success", "build=in_progress/"}, runs(t, gh, branch, nil)); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}

	// SetPRChecks sets runs on the PR's head and says which commit that is.
	if sha := f.emu.SetPRChecks(testRepo, pr.GetNumber(), "failure", "build", "e2e"); sha != head {
		t.Errorf("SetPRChecks on %s, want the head %s", sha, head)
	}
	if diff := cmp.Diff([]string{"e2e=completed/failure", "lint=completed/success", "build=completed/failure"}, runs(t, gh, head, nil)); diff != "" {
		t.Errorf("runs after SetPRChecks (-want +got):\n%s", diff)
	}
	if got := runs(t, gh, head, &github.ListCheckRunsOptions{CheckName: github.Ptr("lint")}); !cmp.Equal(got, []string{"lint=completed/success"}) {
		t.Errorf("by name: %v", got)
	}

	res, _, err := gh.Checks.ListCheckRunsForRef(ctx, testOrg, "envs-config", head, &github.ListCheckRunsOptions{ListOptions: github.ListOptions{PerPage: 2}})
	if err != nil {
		t.Fatal(err)
	}
	cr := res.CheckRuns[0]
	if res.GetTotal() != 3 || len(res.CheckRuns) != 2 {
		t.Errorf("page of 2: total %d, %d runs", res.GetTotal(), len(res.CheckRuns))
	}
	if cr.GetHeadSHA() != head || cr.GetApp().GetSlug() != "github-actions" || cr.GetCompletedAt().IsZero() || cr.GetCheckSuite().GetID() == 0 {
		t.Errorf("run = head %s app %s completed %v suite %d", cr.GetHeadSHA(), cr.GetApp().GetSlug(), cr.GetCompletedAt(), cr.GetCheckSuite().GetID())
	}
	if len(cr.PullRequests) != 1 || cr.PullRequests[0].GetNumber() != pr.GetNumber() {
		t.Errorf("run's pull_requests = %v", cr.PullRequests)
	}

	// Paging through every run, as the bot does.
	opts := &github.ListCheckRunsOptions{ListOptions: github.ListOptions{PerPage: 1}}
	var names []string
	for {
		res, resp, err := gh.Checks.ListCheckRunsForRef(ctx, testOrg, "envs-config", branch, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, cr := range res.CheckRuns {
			names = append(names, cr.GetName())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if diff := cmp.Diff([]string{"e2e", "lint", "build"}, names); diff != "" {
		t.Errorf("runs across pages (-want +got):\n%s", diff)
	}

	// A new commit on the branch starts with no runs.
	next, err := f.emu.Push(testRepo, branch, map[string]*string{"b.txt": ptr("b\n")}, "more", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got := runs(t, gh, branch, nil); len(got) != 0 {
		t.Errorf("runs on the new head %s: %v", next, got)
	}
	if got := runs(t, gh, head, nil); len(got) != 3 {
		t.Errorf("runs on the old head: %v", got)
	}
}
