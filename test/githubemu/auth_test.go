package githubemu

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v88/github"
)

func TestTokenExchange(t *testing.T) {
	tests := []struct {
		name       string
		otherKey   bool          // sign the JWT with a key the app doesn't have
		authShift  time.Duration // how far the emulator's AuthNow is ahead
		instID     int64
		wantStatus int
	}{
		{name: "good JWT", instID: testInstID, wantStatus: http.StatusCreated},
		{name: "JWT signed by another key", instID: testInstID, otherKey: true, wantStatus: http.StatusUnauthorized},
		{name: "expired JWT", instID: testInstID, authShift: time.Hour, wantStatus: http.StatusUnauthorized},
		{name: "JWT from the future", instID: testInstID, authShift: -time.Hour, wantStatus: http.StatusUnauthorized},
		{name: "unknown installation", instID: 999, wantStatus: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) {
				o.AuthNow = func() time.Time { return time.Now().Add(tt.authShift) }
			})
			key := appKey()
			if tt.otherKey {
				key = otherKey()
			}
			app := f.appClient(t, key)
			tok, resp, err := app.Apps.CreateInstallationToken(context.Background(), tt.instID, nil)
			if got := statusOf(resp); got != tt.wantStatus {
				t.Fatalf("status = %d, want %d (err %v)", got, tt.wantStatus, err)
			}
			if tt.wantStatus != http.StatusCreated {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.GetToken() == "" || tok.GetExpiresAt().Before(time.Now().Add(59*time.Minute)) {
				t.Errorf("token %q expires %v, want a token valid for an hour", tok.GetToken(), tok.GetExpiresAt())
			}
			// The token works for the installation's repos.
			gh, err := github.NewClient(github.WithAuthToken(tok.GetToken()), github.WithURLs(ptr(f.emu.URL()), ptr(f.emu.URL())))
			if err != nil {
				t.Fatal(err)
			}
			repo, _, err := gh.Repositories.Get(context.Background(), testOrg, "envs-config")
			if err != nil {
				t.Fatal(err)
			}
			if repo.GetDefaultBranch() != "main" || repo.GetOwner().GetLogin() != testOrg {
				t.Errorf("repo = %s default %s, want acme/envs-config default main", repo.GetFullName(), repo.GetDefaultBranch())
			}
		})
	}
}

func statusOf(resp *github.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

func TestBadCredentials(t *testing.T) {
	f := newFixture(t)
	if err := f.emu.AddRepo("other/repo", "main", nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		token      string
		repo       string
		wantStatus int
		wantMsg    string
	}{
		{name: "unknown token", token: "ghs_bogus", repo: "envs-config", wantStatus: 401, wantMsg: "Bad credentials"},
		{name: "repo outside the installation", token: "", repo: "other/repo", wantStatus: 404, wantMsg: "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gh *github.Client
			if tt.token != "" {
				var err error
				gh, err = github.NewClient(github.WithAuthToken(tt.token), github.WithURLs(ptr(f.emu.URL()), ptr(f.emu.URL())))
				if err != nil {
					t.Fatal(err)
				}
			} else {
				gh = f.client(t, false)
			}
			owner, name := testOrg, tt.repo
			if tt.repo == "other/repo" {
				owner, name = "other", "repo"
			}
			_, resp, err := gh.Repositories.Get(context.Background(), owner, name)
			var er *github.ErrorResponse
			if !errors.As(err, &er) {
				t.Fatalf("err = %v, want an ErrorResponse", err)
			}
			if statusOf(resp) != tt.wantStatus || er.Message != tt.wantMsg {
				t.Errorf("got %d %q, want %d %q", statusOf(resp), er.Message, tt.wantStatus, tt.wantMsg)
			}
			if er.DocumentationURL == "" {
				t.Error("error has no documentation_url")
			}
		})
	}
}

func TestExpiredTokenIsRefused(t *testing.T) {
	var ahead atomic.Int64 // how far AuthNow runs ahead of the wall clock
	f := newFixture(t, func(o *Options) {
		o.AuthNow = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	app := f.appClient(t, appKey())
	tok, _, err := app.Apps.CreateInstallationToken(context.Background(), testInstID, nil)
	if err != nil {
		t.Fatal(err)
	}
	gh, err := github.NewClient(github.WithAuthToken(tok.GetToken()), github.WithURLs(ptr(f.emu.URL()), ptr(f.emu.URL())))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Repositories.Get(context.Background(), testOrg, "envs-config"); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	ahead.Store(int64(61 * time.Minute))
	_, resp, err := gh.Repositories.Get(context.Background(), testOrg, "envs-config")
	if statusOf(resp) != http.StatusUnauthorized {
		t.Errorf("expired token: status %d (err %v), want 401", statusOf(resp), err)
	}
}

func TestAppEndpoints(t *testing.T) {
	f := newFixture(t)
	app := f.appClient(t, appKey())
	ctx := context.Background()

	insts, _, err := app.Apps.ListInstallations(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != 1 || insts[0].GetID() != testInstID || insts[0].GetAccount().GetLogin() != testOrg {
		t.Fatalf("installations = %v", insts)
	}
	for name, find := range map[string]func() (*github.Installation, *github.Response, error){
		"repo": func() (*github.Installation, *github.Response, error) {
			return app.Apps.GetRepositoryInstallation(ctx, testOrg, "envs-config")
		},
		"org": func() (*github.Installation, *github.Response, error) {
			return app.Apps.GetOrganizationInstallation(ctx, testOrg)
		},
		"user": func() (*github.Installation, *github.Response, error) {
			return app.Apps.GetUserInstallation(ctx, testOrg)
		},
	} {
		inst, _, err := find()
		if err != nil {
			t.Errorf("%s installation: %v", name, err)
			continue
		}
		if inst.GetID() != testInstID || inst.GetAppID() != testAppID {
			t.Errorf("%s installation = %d (app %d)", name, inst.GetID(), inst.GetAppID())
		}
	}
	if _, resp, err := app.Apps.GetOrganizationInstallation(ctx, "nobody"); statusOf(resp) != 404 {
		t.Errorf("unknown org: %d %v, want 404", statusOf(resp), err)
	}
	// An installation token is not an app JWT.
	gh := f.client(t, false)
	if _, resp, _ := gh.Apps.ListInstallations(ctx, nil); statusOf(resp) != 401 {
		t.Errorf("installation token on /app/installations: %d, want 401", statusOf(resp))
	}
}

func TestRateLimitHeaders(t *testing.T) {
	f := newFixture(t)
	gh := f.client(t, false)
	ctx := context.Background()
	_, first, err := gh.Repositories.Get(ctx, testOrg, "envs-config")
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := gh.Repositories.Get(ctx, testOrg, "envs-config")
	if err != nil {
		t.Fatal(err)
	}
	if first.Rate.Limit != 5000 || first.Rate.Resource != "core" {
		t.Errorf("rate = %+v, want limit 5000 on core", first.Rate)
	}
	if second.Rate.Remaining != first.Rate.Remaining-1 || second.Rate.Used != first.Rate.Used+1 {
		t.Errorf("remaining %d -> %d, used %d -> %d: want one call charged", first.Rate.Remaining, second.Rate.Remaining, first.Rate.Used, second.Rate.Used)
	}
	if first.Rate.Reset.Before(time.Now()) {
		t.Errorf("reset %v is in the past", first.Rate.Reset)
	}
	if first.Header.Get("X-GitHub-Request-Id") == "" {
		t.Error("no X-GitHub-Request-Id")
	}
	if ct := first.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
}
