package githubemu

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v88/github"
)

func TestMergeSendsSignedWebhook(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	pr := openChange(t, gh, branch, map[string]*string{"dns/kprod/web-api.yaml": ptr("weights:\n  old: 75\n  new: 25\n")})
	f.emu.WaitIdle()

	if err := f.emu.Merge(testRepo, pr.GetNumber(), "carol"); err != nil {
		t.Fatal(err)
	}
	// Merge returns once its webhook was answered: no waiting needed.
	got := f.hooks.last()
	ev, ok := got.parsed.(*github.PullRequestEvent)
	if !ok {
		t.Fatalf("last webhook is %s (%T), want pull_request", got.event, got.parsed)
	}
	if ev.GetAction() != "closed" || !ev.GetPullRequest().GetMerged() || ev.GetPullRequest().GetMergedBy().GetLogin() != "carol" {
		t.Errorf("event %s merged %v by %s", ev.GetAction(), ev.GetPullRequest().GetMerged(), ev.GetPullRequest().GetMergedBy().GetLogin())
	}
	if ev.GetInstallation().GetID() != testInstID || ev.GetRepo().GetFullName() != testRepo || ev.GetSender().GetLogin() != "carol" {
		t.Errorf("installation %d repo %s sender %s", ev.GetInstallation().GetID(), ev.GetRepo().GetFullName(), ev.GetSender().GetLogin())
	}
	if ev.GetOrganization().GetLogin() != testOrg {
		t.Errorf("organization = %q, want %q", ev.GetOrganization().GetLogin(), testOrg)
	}
	if ev.GetPullRequest().GetMergeCommitSHA() == "" || ev.GetPullRequest().GetMergedAt().IsZero() {
		t.Error("merged PR has no merge_commit_sha or merged_at")
	}
	if content, _ := f.emu.File(testRepo, "main", "dns/kprod/web-api.yaml"); content != "weights:\n  old: 75\n  new: 25\n" {
		t.Errorf("main after merge: %q", content)
	}

	// Redeliver sends the same delivery again, id and all.
	if err := f.emu.Redeliver(); err != nil {
		t.Fatal(err)
	}
	again := f.hooks.last()
	if again.id != got.id || string(again.payload) != string(got.payload) {
		t.Errorf("redelivery id %s (was %s), same body %v", again.id, got.id, string(again.payload) == string(got.payload))
	}
	ds := f.emu.Deliveries()
	if last := ds[len(ds)-1]; !last.Redelivery || last.ID != got.id || last.Status != http.StatusAccepted {
		t.Errorf("last delivery = %+v", last)
	}
	if err := f.emu.Merge(testRepo, pr.GetNumber(), "carol"); err == nil {
		t.Error("merging twice succeeded")
	}
}

func TestWebhookHeaders(t *testing.T) {
	headers := make(chan http.Header, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case headers <- r.Header.Clone():
		default:
		}
	}))
	defer hook.Close()
	f := newFixture(t, func(o *Options) { o.WebhookURL = hook.URL })
	if _, err := f.emu.Comment(testRepo, 0, "alice", "hi"); err == nil {
		t.Fatal("comment on a missing issue succeeded")
	}
	gh := f.client(t, false)
	openChange(t, gh, branch, map[string]*string{"a": ptr("a")})
	f.emu.WaitIdle()
	h := <-headers
	for name, want := range map[string]string{
		"Content-Type":                           "application/json",
		"X-GitHub-Event":                         "pull_request",
		"X-GitHub-Hook-Installation-Target-Type": "integration",
		"X-GitHub-Hook-Installation-Target-ID":   "4242",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"X-GitHub-Delivery", "X-GitHub-Hook-ID", "X-Hub-Signature", "X-Hub-Signature-256", "User-Agent"} {
		if h.Get(name) == "" {
			t.Errorf("no %s header", name)
		}
	}
	if ua := h.Get("User-Agent"); len(ua) < len("GitHub-Hookshot/") || ua[:16] != "GitHub-Hookshot/" {
		t.Errorf("User-Agent = %q", ua)
	}
}

func TestOnEventSeesFiles(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	pr := openChange(t, gh, branch, map[string]*string{
		"dns/kprod/web-api.yaml": ptr("weights:\n  old: 90\n  new: 10\n"),
		"dns/kprod/new.yaml":     ptr("new\n"),
		"dns/kprod/billing.yaml": nil,
	})
	if _, _, err := gh.Issues.AddLabelsToIssue(context.Background(), testOrg, "envs-config", pr.GetNumber(), []string{"migratebot"}); err != nil {
		t.Fatal(err)
	}
	if err := f.emu.Merge(testRepo, pr.GetNumber(), "bob"); err != nil {
		t.Fatal(err)
	}
	wantFiles := map[string]*string{
		"dns/kprod/web-api.yaml": ptr("weights:\n  old: 90\n  new: 10\n"),
		"dns/kprod/new.yaml":     ptr("new\n"),
		"dns/kprod/billing.yaml": nil,
	}
	wantBase := map[string]*string{
		"dns/kprod/web-api.yaml": ptr("weights:\n  old: 100\n  new: 0\n"),
		"dns/kprod/new.yaml":     nil,
		"dns/kprod/billing.yaml": ptr("weights:\n  old: 100\n"),
	}
	var actions []string
	for _, e := range f.events.all() {
		if e.Kind != "github.pull_request" {
			continue
		}
		actions = append(actions, e.Action)
		if diff := cmp.Diff(wantFiles, e.Files); diff != "" {
			t.Errorf("%s Files (-want +got):\n%s", e.Action, diff)
		}
		if diff := cmp.Diff(wantBase, e.BaseFiles); diff != "" {
			t.Errorf("%s BaseFiles (-want +got):\n%s", e.Action, diff)
		}
		if e.Repo != testRepo || e.Number != pr.GetNumber() || e.Branch != branch || e.Base != "main" || e.URL != pr.GetHTMLURL() {
			t.Errorf("%s event = %+v", e.Action, e)
		}
	}
	if diff := cmp.Diff([]string{"opened", "updated", "merged"}, actions); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	events := f.events.all()
	if last := events[len(events)-1]; last.By != "bob" || !cmp.Equal(last.Labels, []string{"migratebot"}) {
		t.Errorf("merged by %q with labels %v", last.By, last.Labels)
	}
}

// OnEvent may look at the emulator: it runs outside its locks.
func TestOnEventMayInspect(t *testing.T) {
	var emu atomic.Pointer[Server]
	var sawOpen atomic.Bool
	f := newFixture(t, func(o *Options) {
		o.OnEvent = func(e Event) {
			if e.Kind == "github.pull_request" && e.Action == "opened" {
				pr, ok := emu.Load().PR(e.Repo, e.Number)
				sawOpen.Store(ok && pr.State == "open")
			}
		}
	})
	emu.Store(f.emu)
	gh := f.client(t, false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		openChange(t, gh, branch, map[string]*string{"a": ptr("a")})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: OnEvent calling PR never returned")
	}
	if !sawOpen.Load() {
		t.Error("OnEvent did not see the open PR")
	}
}

func TestReviewAndCommentWebhooks(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	pr := openChange(t, gh, branch, map[string]*string{"a": ptr("a")})
	if _, _, err := gh.PullRequests.RequestReviewers(context.Background(), testOrg, "envs-config", pr.GetNumber(), github.ReviewersRequest{Reviewers: []string{"carol"}}); err != nil {
		t.Fatal(err)
	}
	f.emu.WaitIdle()

	if err := f.emu.Review(testRepo, pr.GetNumber(), "carol", "APPROVED", "lgtm"); err != nil {
		t.Fatal(err)
	}
	rev, ok := f.hooks.last().parsed.(*github.PullRequestReviewEvent)
	if !ok || rev.GetAction() != "submitted" || rev.GetReview().GetState() != "approved" || rev.GetReview().GetUser().GetLogin() != "carol" {
		t.Errorf("review webhook = %+v", f.hooks.last().event)
	}
	if p, _ := f.emu.PR(testRepo, pr.GetNumber()); len(p.Reviewers) != 0 || len(p.Reviews) != 1 || p.Reviews[0].State != "APPROVED" {
		t.Errorf("after the review: reviewers %v reviews %+v", p.Reviewers, p.Reviews)
	}
	if err := f.emu.Review(testRepo, pr.GetNumber(), "bob", "bogus", ""); err == nil {
		t.Error("a bogus review state was accepted")
	}

	id, err := f.emu.Comment(testRepo, pr.GetNumber(), "alice", "/migrate bump 25")
	if err != nil {
		t.Fatal(err)
	}
	ic, ok := f.hooks.last().parsed.(*github.IssueCommentEvent)
	if !ok || ic.GetAction() != "created" || ic.GetComment().GetID() != id || ic.GetComment().GetBody() != "/migrate bump 25" {
		t.Fatalf("comment webhook = %s", f.hooks.last().event)
	}
	if !ic.GetIssue().IsPullRequest() || ic.GetSender().GetType() != "User" {
		t.Errorf("issue is PR %v, sender type %s", ic.GetIssue().IsPullRequest(), ic.GetSender().GetType())
	}

	// The bot's own comment comes from a Bot, asynchronously.
	if _, _, err := gh.Issues.CreateComment(context.Background(), testOrg, "envs-config", pr.GetNumber(), &github.IssueComment{Body: github.Ptr("on it")}); err != nil {
		t.Fatal(err)
	}
	f.emu.WaitIdle()
	ic, ok = f.hooks.last().parsed.(*github.IssueCommentEvent)
	if !ok || ic.GetSender().GetType() != "Bot" || ic.GetSender().GetLogin() != testBotName {
		t.Errorf("bot comment webhook sender = %s", ic.GetSender().GetLogin())
	}
}

func TestPeopleNeedRights(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	pr := openChange(t, gh, branch, map[string]*string{"a": ptr("a")})
	if err := f.emu.Merge(testRepo, pr.GetNumber(), "eve"); err == nil {
		t.Error("eve, without access, merged")
	}
	if err := f.emu.ClosePR(testRepo, pr.GetNumber(), "eve"); err == nil {
		t.Error("eve, without access, closed the PR")
	}
	if err := f.emu.Merge(testRepo, 99, "carol"); !errors.Is(err, ErrNoSuchPR) {
		t.Errorf("merge of a missing PR: %v, want ErrNoSuchPR", err)
	}
	if err := f.emu.ClosePR(testRepo, pr.GetNumber(), "bob"); err != nil {
		t.Fatal(err)
	}
	ev, ok := f.hooks.last().parsed.(*github.PullRequestEvent)
	if !ok || ev.GetAction() != "closed" || ev.GetPullRequest().GetMerged() {
		t.Errorf("close webhook = %s", f.hooks.last().event)
	}
}

func TestDeliveryFailureIsReported(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusInternalServerError)
	}))
	defer hook.Close()
	f := newFixture(t, func(o *Options) { o.WebhookURL = hook.URL })
	gh := f.client(t, false)
	pr := openChange(t, gh, branch, map[string]*string{"a": ptr("a")})
	err := f.emu.Merge(testRepo, pr.GetNumber(), "carol")
	var de *DeliveryError
	if !errors.As(err, &de) || de.Delivery.Status != http.StatusInternalServerError {
		t.Fatalf("Merge with a failing receiver: %v, want a DeliveryError with 500", err)
	}
	if p, _ := f.emu.PR(testRepo, pr.GetNumber()); !p.Merged {
		t.Error("the merge did not take effect")
	}
}

func TestNoWebhookURL(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.WebhookURL = "" })
	gh := f.client(t, false)
	pr := openChange(t, gh, branch, map[string]*string{"a": ptr("a")})
	if err := f.emu.Merge(testRepo, pr.GetNumber(), "carol"); err != nil {
		t.Fatalf("Merge without a webhook URL: %v", err)
	}
	for _, d := range f.emu.Deliveries() {
		if !errors.Is(d.Err, ErrNoWebhookURL) {
			t.Errorf("delivery %s.%s: %v, want ErrNoWebhookURL", d.Event, d.Action, d.Err)
		}
	}
	if len(f.hooks.all()) != 0 {
		t.Error("a webhook was sent with no URL set")
	}
	// Once set, webhooks go there; Redeliver sends the last one.
	f.emu.SetWebhookURL(f.hooks.srv.URL)
	if err := f.emu.Redeliver(); err != nil {
		t.Fatal(err)
	}
	if got := f.hooks.all(); len(got) != 1 || got[0].event != "pull_request" {
		t.Errorf("after SetWebhookURL: %d webhooks", len(got))
	}
}

func TestFailNext(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	const route = "GET /repos/{owner}/{repo}"

	f.emu.FailNext(route, http.StatusBadGateway, 2, nil)
	for i := range 2 {
		_, resp, err := gh.Repositories.Get(ctx, testOrg, "envs-config")
		if statusOf(resp) != http.StatusBadGateway || err == nil {
			t.Errorf("call %d: %d %v, want 502", i, statusOf(resp), err)
		}
	}
	if _, _, err := gh.Repositories.Get(ctx, testOrg, "envs-config"); err != nil {
		t.Errorf("third call: %v", err)
	}

	f.emu.FailNext(route, http.StatusForbidden, 1, http.Header{"Retry-After": {"1"}})
	_, _, err := gh.Repositories.Get(ctx, testOrg, "envs-config")
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != time.Second {
		t.Errorf("secondary rate limit: %v, want AbuseRateLimitError retry after 1s", err)
	}

	calls := f.emu.Calls()
	var statuses []int
	for _, c := range calls {
		if c.Route == route {
			statuses = append(statuses, c.Status)
		}
	}
	if diff := cmp.Diff([]int{502, 502, 200, 403}, statuses); diff != "" {
		t.Errorf("recorded statuses (-want +got):\n%s", diff)
	}
	f.emu.ResetCalls()
	if len(f.emu.Calls()) != 0 {
		t.Error("ResetCalls kept calls")
	}

	defer func() {
		if recover() == nil {
			t.Error("FailNext with an unknown route did not panic")
		}
	}()
	f.emu.FailNext("GET /nope", 500, 1, nil)
}

func TestUnknownRoute(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Get(f.emu.URL() + "api/v3/repos/acme/envs-config/nonsense")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Message string `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 404 || body.Message != "Not Found" {
		t.Errorf("got %d %q", resp.StatusCode, body.Message)
	}
	calls := f.emu.Calls()
	if len(calls) != 1 || calls[0].Route != "" || calls[0].Status != 404 || calls[0].Path != "/repos/acme/envs-config/nonsense" {
		t.Errorf("calls = %+v", calls)
	}
}

func TestLatency(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	if _, _, err := gh.Repositories.Get(ctx, testOrg, "envs-config"); err != nil { // token exchange first
		t.Fatal(err)
	}
	f.emu.SetLatency(50 * time.Millisecond)
	start := time.Now()
	if _, _, err := gh.Repositories.Get(ctx, testOrg, "envs-config"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("call took %v with 50ms latency", d)
	}
}
