package github

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/test/githubemu"
)

// The names here start with "merge" so that other test files of the
// package can keep their own fixtures.

const (
	mergeAppID  = 4242
	mergeOrg    = "acme"
	mergeRepo   = "acme/envs-config"
	mergeBot    = "migratebot[bot]"
	mergeBranch = "migratebot/web-api/weights-25"
)

// Generating an RSA key is slow under -race; the tests share one.
var mergeKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// mergeFixture starts the GitHub emulator with the app installed on acme,
// one repo, and the real Client pointed at it.
func mergeFixture(t *testing.T) (*githubemu.Server, *Client) {
	t.Helper()
	key := mergeKey()
	emu := githubemu.New(githubemu.Options{AppID: mergeAppID, AppPublicKey: &key.PublicKey, BotLogin: mergeBot, WebhookSecret: "s3cret"})
	t.Cleanup(emu.Close)
	emu.AddInstallation(77, mergeOrg)
	if err := emu.AddRepo(mergeRepo, "main", map[string]string{"dns/web-api.yaml": "weights:\n  old: 100\n  new: 0\n"}); err != nil {
		t.Fatal(err)
	}
	emu.SetPermission(mergeRepo, "alice", "write")
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	c, err := New(Config{AppID: mergeAppID, PrivateKey: pemKey, APIURL: emu.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return emu, c
}

// mergeOpen opens the bot's PR changing the weights file.
func mergeOpen(t *testing.T, c *Client) bot.PullRequest {
	t.Helper()
	pr, err := c.OpenChange(context.Background(), bot.ChangeSpec{
		Repo: mergeRepo, BaseBranch: "main", Branch: mergeBranch,
		Files:         map[string][]byte{"dns/web-api.yaml": []byte("weights:\n  old: 75\n  new: 25\n")},
		CommitMessage: "web-api: weights 25", Title: "web-api: weights 25",
	})
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func TestTeamMember(t *testing.T) {
	emu, c := mergeFixture(t)
	emu.AddTeam(mergeOrg, "change-approvers", "carol")
	emu.InviteToTeam(mergeOrg, "change-approvers", "dave")
	ctx := context.Background()
	for _, tc := range []struct {
		name, org, team, login string
		want                   bool
	}{
		{name: "member", org: mergeOrg, team: "change-approvers", login: "carol", want: true},
		{name: "not a member", org: mergeOrg, team: "change-approvers", login: "bob"},
		{name: "invited, not yet a member", org: mergeOrg, team: "change-approvers", login: "dave"},
		{name: "no such team", org: mergeOrg, team: "nobody", login: "carol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.TeamMember(ctx, tc.org, tc.team, tc.login)
			if err != nil || got != tc.want {
				t.Errorf("TeamMember(%s/%s, %s) = %v, %v; want %v", tc.org, tc.team, tc.login, got, err, tc.want)
			}
		})
	}
	// An organization the app is not installed on is an error, not "no".
	if got, err := c.TeamMember(ctx, "globex", "change-approvers", "carol"); err == nil {
		t.Errorf("TeamMember on an org without the app = %v, nil; want an error", got)
	}
}

func TestPRChecks(t *testing.T) {
	emu, c := mergeFixture(t)
	ctx := context.Background()
	pr := mergeOpen(t, c)
	got, _ := emu.PR(mergeRepo, pr.Number)
	head := got.HeadSHA

	read := func(t *testing.T) bot.Checks {
		t.Helper()
		checks, err := c.PRChecks(ctx, mergeRepo, pr.Number)
		if err != nil {
			t.Fatal(err)
		}
		if checks.SHA != head {
			t.Errorf("SHA = %s, want the head %s", checks.SHA, head)
		}
		return checks
	}
	// Each case adds to the commit's checks; they run in order.
	for _, tc := range []struct {
		name string
		set  func()
		want bot.Checks
	}{
		{
			name: "no checks at all",
			set:  func() {},
			want: bot.Checks{State: bot.ChecksPassing},
		},
		{
			name: "a status pending, a run in progress",
			set: func() {
				emu.SetStatus(mergeRepo, head, "ci/lint", "pending")
				emu.SetCheckRun(mergeRepo, head, "build", "in_progress", "")
			},
			want: bot.Checks{State: bot.ChecksPending, Pending: []string{"ci/lint", "build"}},
		},
		{
			name: "one fails while another is pending",
			set: func() {
				emu.SetStatus(mergeRepo, head, "ci/lint", "failure")
				emu.SetPRChecks(mergeRepo, pr.Number, "timed_out", "e2e")
			},
			want: bot.Checks{State: bot.ChecksFailing, Failing: []string{"ci/lint", "e2e"}, Pending: []string{"build"}},
		},
		{
			name: "all green, skipped and neutral included",
			set: func() {
				emu.SetStatus(mergeRepo, head, "ci/lint", "success")
				emu.SetCheckRun(mergeRepo, head, "build", "completed", "success")
				emu.SetCheckRun(mergeRepo, head, "e2e", "completed", "neutral")
				emu.SetCheckRun(mergeRepo, head, "docs", "completed", "skipped")
			},
			want: bot.Checks{State: bot.ChecksPassing},
		},
		{
			name: "an action required fails",
			set:  func() { emu.SetCheckRun(mergeRepo, head, "deploy-preview", "completed", "action_required") },
			want: bot.Checks{State: bot.ChecksFailing, Failing: []string{"deploy-preview"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.set()
			tc.want.SHA = head
			if diff := cmp.Diff(tc.want, read(t)); diff != "" {
				t.Errorf("checks (-want +got):\n%s", diff)
			}
		})
	}

	// More runs than one page holds are all read.
	many := make([]string, 120)
	for i := range many {
		many[i] = "shard-" + string(rune('a'+i/26)) + string(rune('a'+i%26))
	}
	emu.SetCheckRun(mergeRepo, head, "deploy-preview", "completed", "success")
	emu.SetPRChecks(mergeRepo, pr.Number, "success", many...)
	emu.SetCheckRun(mergeRepo, head, many[0], "queued", "") // on the second page of 100
	if checks := read(t); checks.State != bot.ChecksPending || !cmp.Equal(checks.Pending, []string{many[0]}) {
		t.Errorf("with 124 runs, one queued: %s pending %v", checks.State, checks.Pending)
	}
}

func TestMergePR(t *testing.T) {
	emu, c := mergeFixture(t)
	ctx := context.Background()
	pr := mergeOpen(t, c)
	checks, err := c.PRChecks(ctx, mergeRepo, pr.Number)
	if err != nil {
		t.Fatal(err)
	}

	// Someone pushes to the branch after the checks were read: the merge at
	// the sha read is refused and nothing is merged.
	readme := "# by hand\n"
	if _, err := emu.Push(mergeRepo, mergeBranch, map[string]*string{"README.md": &readme}, "touch", "alice"); err != nil {
		t.Fatal(err)
	}
	err = c.MergePR(ctx, mergeRepo, pr.Number, checks.SHA, "web-api: weights 25 (auto-merged by migratebot)")
	if !errors.Is(err, ErrHeadMoved) {
		t.Errorf("merge at a stale sha: %v, want ErrHeadMoved", err)
	}
	if p, _ := emu.PR(mergeRepo, pr.Number); p.Merged || p.State != "open" {
		t.Errorf("after a refused merge the PR is %s, merged %v", p.State, p.Merged)
	}
	if got, _ := emu.File(mergeRepo, "main", "dns/web-api.yaml"); got != "weights:\n  old: 100\n  new: 0\n" {
		t.Errorf("main changed by a refused merge: %q", got)
	}

	// At the head as it is now, it merges, as a merge commit with the title.
	checks, err = c.PRChecks(ctx, mergeRepo, pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MergePR(ctx, mergeRepo, pr.Number, checks.SHA, "web-api: weights 25 (auto-merged by migratebot)"); err != nil {
		t.Fatal(err)
	}
	p, _ := emu.PR(mergeRepo, pr.Number)
	if !p.Merged || p.MergedBy != mergeBot || p.HeadSHA != checks.SHA {
		t.Errorf("PR merged %v by %s at head %s", p.Merged, p.MergedBy, p.HeadSHA)
	}
	if got, _ := emu.File(mergeRepo, "main", "dns/web-api.yaml"); got != "weights:\n  old: 75\n  new: 25\n" {
		t.Errorf("main after the merge: %q", got)
	}
	// Merging it again, as a retry whose answer was lost would, is fine.
	if err := c.MergePR(ctx, mergeRepo, pr.Number, checks.SHA, "again"); err != nil {
		t.Errorf("merging the merged PR at its head again: %v", err)
	}
	// But not at another commit.
	if err := c.MergePR(ctx, mergeRepo, pr.Number, "0123456789012345678901234567890123456789", "again"); err == nil {
		t.Error("merging the merged PR at another sha: no error")
	}
	if err := c.MergePR(ctx, mergeRepo, pr.Number, "", "no sha"); err == nil {
		t.Error("merge without a sha: no error")
	}
}
