package githubemu

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v88/github"
)

const (
	testAppID   = 4242
	testInstID  = 77
	testSecret  = "s3cret"
	testOrg     = "acme"
	testRepo    = "acme/envs-config"
	testBotName = "migratebot[bot]"
)

// Generating RSA keys is slow under -race; every test shares two.
var (
	appKey   = sync.OnceValue(func() *rsa.PrivateKey { return mustKey() })
	otherKey = sync.OnceValue(func() *rsa.PrivateKey { return mustKey() })
)

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func keyPEM(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

// received is one webhook as the test receiver verified and parsed it.
type received struct {
	id, event string
	payload   []byte
	parsed    any
}

// receiver is a webhook endpoint that checks signatures as a real bot
// does, with go-github's ValidatePayload, and parses with ParseWebHook.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	got []received
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, err := github.ValidatePayload(r, []byte(testSecret))
		if err != nil {
			t.Errorf("webhook signature: %v", err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		event := github.WebHookType(r)
		parsed, err := github.ParseWebHook(event, payload)
		if err != nil {
			t.Errorf("parse %s webhook: %v", event, err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.got = append(rc.got, received{id: github.DeliveryID(r), event: event, payload: payload, parsed: parsed})
		rc.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (rc *receiver) last() received {
	all := rc.all()
	if len(all) == 0 {
		rc.t.Fatal("no webhook received")
	}
	return all[len(all)-1]
}

// eventLog collects OnEvent calls.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) all() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

type fixture struct {
	emu    *Server
	hooks  *receiver
	events *eventLog
}

// newFixture starts an emulator with the app installed on acme, one repo
// acme/envs-config, users with roles, and a verifying webhook receiver.
func newFixture(t *testing.T, mutate ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{hooks: newReceiver(t), events: &eventLog{}}
	opts := Options{
		AppID:         testAppID,
		AppPublicKey:  &appKey().PublicKey,
		BotLogin:      testBotName,
		WebhookURL:    f.hooks.srv.URL,
		WebhookSecret: testSecret,
		OnEvent:       f.events.add,
	}
	for _, m := range mutate {
		m(&opts)
	}
	f.emu = New(opts)
	t.Cleanup(func() {
		// Let webhooks still on their way arrive whole: closing cuts a
		// delivery mid-body, which the receiver would report.
		f.emu.WaitIdle()
		f.emu.Close()
	})
	f.emu.AddInstallation(testInstID, testOrg)
	if err := f.emu.AddRepo(testRepo, "main", map[string]string{
		"README.md":              "# envs\n",
		"dns/kprod/web-api.yaml": "weights:\n  old: 100\n  new: 0\n",
		"dns/kprod/billing.yaml": "weights:\n  old: 100\n",
	}); err != nil {
		t.Fatal(err)
	}
	for login, perm := range map[string]string{"alice": "write", "bob": "write", "carol": "admin", "eve": "none"} {
		f.emu.SetPermission(testRepo, login, perm)
	}
	return f
}

// client is go-github authenticated as the installation through the real
// ghinstallation transport. enterprise selects WithEnterpriseURLs (the
// "/api/v3/" prefix) over a plain base URL.
func (f *fixture) client(t *testing.T, enterprise bool) *github.Client {
	t.Helper()
	tr, err := ghinstallation.New(http.DefaultTransport, testAppID, testInstID, keyPEM(appKey()))
	if err != nil {
		t.Fatal(err)
	}
	base := f.emu.URL()
	opt := github.WithURLs(&base, &base)
	if enterprise {
		tr.BaseURL = f.emu.URL() + "api/v3"
		opt = github.WithEnterpriseURLs(f.emu.URL(), f.emu.URL())
	} else {
		tr.BaseURL = f.emu.URL()
	}
	c, err := github.NewClient(github.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second}), opt)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// appClient is go-github authenticated as the app (JWT) with key.
func (f *fixture) appClient(t *testing.T, key *rsa.PrivateKey) *github.Client {
	t.Helper()
	atr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, testAppID, keyPEM(key))
	if err != nil {
		t.Fatal(err)
	}
	atr.BaseURL = f.emu.URL()
	base := f.emu.URL()
	c, err := github.NewClient(github.WithHTTPClient(&http.Client{Transport: atr}), github.WithURLs(&base, &base))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// openChange writes files on a new branch the way the bot does (one tree
// on the base, one commit, one ref) and opens a PR; nil content deletes.
func openChange(t *testing.T, gh *github.Client, branch string, files map[string]*string) *github.PullRequest {
	t.Helper()
	ctx := context.Background()
	owner, repo := testOrg, "envs-config"
	base, _, err := gh.Repositories.GetBranch(ctx, owner, repo, "main", 0)
	if err != nil {
		t.Fatalf("get branch: %v", err)
	}
	var entries []*github.TreeEntry
	for p, content := range files {
		e := &github.TreeEntry{Path: github.Ptr(p), Mode: github.Ptr("100644"), Type: github.Ptr("blob"), Content: content}
		entries = append(entries, e)
	}
	tree, _, err := gh.Git.CreateTree(ctx, owner, repo, base.GetCommit().GetCommit().GetTree().GetSHA(), entries)
	if err != nil {
		t.Fatalf("create tree: %v", err)
	}
	commit, _, err := gh.Git.CreateCommit(ctx, owner, repo, github.Commit{
		Message: github.Ptr("migratebot: " + branch),
		Tree:    &github.Tree{SHA: tree.SHA},
		Parents: []*github.Commit{{SHA: base.GetCommit().SHA}},
	}, nil)
	if err != nil {
		t.Fatalf("create commit: %v", err)
	}
	if _, _, err := gh.Git.CreateRef(ctx, owner, repo, github.CreateRef{Ref: "refs/heads/" + branch, SHA: commit.GetSHA()}); err != nil {
		t.Fatalf("create ref: %v", err)
	}
	pr, _, err := gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{
		Title: github.Ptr("Shift web-api to 25%"),
		Head:  github.Ptr(branch),
		Base:  github.Ptr("main"),
		Body:  github.Ptr("weights 10 -> 25"),
	})
	if err != nil {
		t.Fatalf("create pull: %v", err)
	}
	return pr
}

func ptr(s string) *string { return &s }
