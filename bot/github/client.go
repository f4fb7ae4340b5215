// Package github is migratebot's adapter to GitHub: it authenticates as a
// GitHub App (a JWT for the app, an installation token per installation),
// reads files and writes each change as one tree, one commit, one ref and one
// pull request. It implements bot.Repos.
//
// It uses go-github v88 because that is the major ghinstallation v2.19 is
// built on: one major in the module graph means one copy and matching types.
package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v88/github"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/migratebot/migratebot/bot"
)

// Config is how to reach GitHub as the app.
type Config struct {
	AppID      int64
	PrivateKey []byte // PEM
	// APIURL is https://api.github.com/ or a GitHub Enterprise Server's
	// https://HOST/api/v3/.
	APIURL string
	// Timeout bounds each HTTP call, retries included.
	Timeout time.Duration
	// Transport is the base transport; nil means http.DefaultTransport.
	Transport http.RoundTripper
	Log       *slog.Logger
}

// Client is a GitHub App client that makes one API client per installation
// and caches it, along with which installation owns which account.
type Client struct {
	cfg  Config
	apps *ghinstallation.AppsTransport
	app  *gh.Client // authenticated as the app (JWT), for installation look-ups
	base http.RoundTripper
	log  *slog.Logger

	mu      sync.Mutex
	byOwner map[string]int64     // account login -> installation id
	clients map[int64]*gh.Client // installation id -> client
}

var _ bot.Repos = (*Client)(nil)

// New returns a client; it does not call GitHub.
func New(cfg Config) (*Client, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	base := cfg.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	// Bounded retries with backoff for connection errors, 429 and 5xx,
	// honouring Retry-After; comments and issues are sent once (retry.go).
	// After the last try, GitHub's own answer is passed on, so errors name
	// its status.
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{Transport: base}
	rc.RetryMax = 3
	rc.RetryWaitMin = 200 * time.Millisecond
	rc.RetryWaitMax = 3 * time.Second
	rc.Logger = nil
	rc.CheckRetry = retryPolicy
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.Backoff = backoff
	retrying := newETagCache(onceTagger{next: &retryablehttp.RoundTripper{Client: rc}}, 2000)

	apps, err := ghinstallation.NewAppsTransport(retrying, cfg.AppID, cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("github app key: %w", err)
	}
	apps.BaseURL = strings.TrimRight(cfg.APIURL, "/")
	c := &Client{cfg: cfg, apps: apps, base: retrying, log: cfg.Log,
		byOwner: map[string]int64{}, clients: map[int64]*gh.Client{}}
	c.app, err = c.newAPIClient(apps)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) newAPIClient(tr http.RoundTripper) (*gh.Client, error) {
	opts := []gh.ClientOptionsFunc{
		gh.WithHTTPClient(&http.Client{Transport: tr, Timeout: c.cfg.Timeout}),
		gh.WithUserAgent("migratebot"),
	}
	if !strings.HasPrefix(c.cfg.APIURL, "https://api.github.com") {
		opts = append(opts, gh.WithEnterpriseURLs(c.cfg.APIURL, c.cfg.APIURL))
	}
	client, err := gh.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("github client: %w", err)
	}
	return client, nil
}

// installationKey keys the installation a call is made as in its context.
type installationKey struct{}

// InstallationOf returns the installation a GitHub call is made as, as a
// decimal id, read from the call's context by the transports beneath the
// client (the metrics label each installation's rate limit with it); ""
// for a call made as the app itself.
func InstallationOf(ctx context.Context) string {
	id, _ := ctx.Value(installationKey{}).(int64)
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// asInstallation puts its installation in each call's context.
type asInstallation struct {
	id   int64
	next http.RoundTripper
}

func (t asInstallation) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.next.RoundTrip(req.WithContext(context.WithValue(req.Context(), installationKey{}, t.id)))
}

// RememberInstallation records that an installation owns an account, as
// learnt from a webhook, so that no look-up is needed later.
func (c *Client) RememberInstallation(owner string, id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byOwner[strings.ToLower(owner)] = id
}

// clientFor returns the installation client for a repo "owner/name".
func (c *Client) clientFor(ctx context.Context, repo string) (*gh.Client, string, string, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		return nil, "", "", fmt.Errorf("%q is not owner/name", repo)
	}
	c.mu.Lock()
	id, known := c.byOwner[strings.ToLower(owner)]
	c.mu.Unlock()
	if !known {
		inst, _, err := c.app.Apps.GetRepositoryInstallation(ctx, owner, name)
		if err != nil {
			return nil, "", "", fmt.Errorf("find the app's installation on %s: %w", repo, err)
		}
		id = inst.GetID()
		c.RememberInstallation(owner, id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	client, ok := c.clients[id]
	if !ok {
		var err error
		client, err = c.newAPIClient(asInstallation{id: id, next: ghinstallation.NewFromAppsTransport(c.apps, id)})
		if err != nil {
			return nil, "", "", err
		}
		c.clients[id] = client
	}
	return client, owner, name, nil
}

// ReadFile implements bot.Repos.
func (c *Client) ReadFile(ctx context.Context, repo, ref, path string) ([]byte, error) {
	client, owner, name, err := c.clientFor(ctx, repo)
	if err != nil {
		return nil, err
	}
	fc, _, _, err := client.Repositories.GetContents(ctx, owner, name, path, &gh.RepositoryContentGetOptions{Ref: ref})
	if isStatus(err, http.StatusNotFound) {
		return nil, fmt.Errorf("%s:%s@%s: %w", repo, path, ref, bot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s:%s@%s: %w", repo, path, ref, err)
	}
	if fc == nil {
		return nil, fmt.Errorf("%s:%s is a directory, not a file", repo, path)
	}
	content, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("decode %s:%s: %w", repo, path, err)
	}
	return []byte(content), nil
}

// OpenChange implements bot.Repos: one tree, one commit, one ref, one PR.
// An open PR for the branch is returned as it is (Resumed), so a retried or
// crashed step never opens a second one.
func (c *Client) OpenChange(ctx context.Context, spec bot.ChangeSpec) (bot.PullRequest, error) {
	client, owner, name, err := c.clientFor(ctx, spec.Repo)
	if err != nil {
		return bot.PullRequest{}, err
	}
	base := spec.Base
	if base == nil {
		b, err := c.readBase(ctx, client, owner, name, spec.Repo, spec.BaseBranch)
		if err != nil {
			return bot.PullRequest{}, err
		}
		base = &b
	}
	baseSHA, baseTree := base.SHA, base.Tree

	entries := make([]*gh.TreeEntry, 0, len(spec.Files)+len(spec.Delete))
	// Sorted so the same change always makes the same tree request.
	for _, path := range slices.Sorted(maps.Keys(spec.Files)) {
		entries = append(entries, &gh.TreeEntry{
			Path: gh.Ptr(path), Mode: gh.Ptr("100644"), Type: gh.Ptr("blob"),
			Content: gh.Ptr(string(spec.Files[path])),
		})
	}
	for _, path := range spec.Delete {
		// No content and no sha: go-github sends "sha": null, which deletes.
		entries = append(entries, &gh.TreeEntry{Path: gh.Ptr(path), Mode: gh.Ptr("100644"), Type: gh.Ptr("blob")})
	}
	tree, _, err := client.Git.CreateTree(ctx, owner, name, baseTree, entries)
	if err != nil {
		return bot.PullRequest{}, fmt.Errorf("write tree on %s: %w", spec.Repo, err)
	}
	commit, _, err := client.Git.CreateCommit(ctx, owner, name, gh.Commit{
		Message: gh.Ptr(spec.CommitMessage),
		Tree:    &gh.Tree{SHA: tree.SHA},
		Parents: []*gh.Commit{{SHA: gh.Ptr(baseSHA)}},
	}, nil)
	if err != nil {
		return bot.PullRequest{}, fmt.Errorf("write commit on %s: %w", spec.Repo, err)
	}
	ref := "refs/heads/" + spec.Branch
	_, _, err = client.Git.CreateRef(ctx, owner, name, gh.CreateRef{Ref: ref, SHA: commit.GetSHA()})
	if isStatus(err, http.StatusUnprocessableEntity) {
		// The branch is left from an earlier run of this step. With its PR
		// open (a crash after opening it), that PR is the step's: the
		// branch stays as it is. Otherwise (a closed PR, a crash before
		// it) it is the bot's own, so point it at the new commit.
		if pr, ok, findErr := c.findOpenPR(ctx, client, owner, name, spec.Branch); findErr != nil || ok {
			return pr, findErr
		}
		_, _, err = client.Git.UpdateRef(ctx, owner, name, "heads/"+spec.Branch, gh.UpdateRef{SHA: commit.GetSHA(), Force: gh.Ptr(true)})
	}
	if err != nil {
		return bot.PullRequest{}, fmt.Errorf("write branch %s on %s: %w", spec.Branch, spec.Repo, err)
	}
	created, _, err := client.PullRequests.Create(ctx, owner, name, &gh.NewPullRequest{
		Title: gh.Ptr(spec.Title), Head: gh.Ptr(spec.Branch), Base: gh.Ptr(spec.BaseBranch),
		Body: gh.Ptr(spec.Body), MaintainerCanModify: gh.Ptr(false),
	})
	if isStatus(err, http.StatusUnprocessableEntity) {
		// Opened meanwhile (a retry whose first answer was lost).
		if pr, ok, findErr := c.findOpenPR(ctx, client, owner, name, spec.Branch); findErr == nil && ok {
			return pr, nil
		}
	}
	if err != nil {
		return bot.PullRequest{}, fmt.Errorf("open PR on %s: %w", spec.Repo, err)
	}
	return bot.PullRequest{Number: created.GetNumber(), URL: created.GetHTMLURL()}, nil
}

// Base implements bot.Repos.
func (c *Client) Base(ctx context.Context, repo, branch string) (bot.BaseCommit, error) {
	client, owner, name, err := c.clientFor(ctx, repo)
	if err != nil {
		return bot.BaseCommit{}, err
	}
	return c.readBase(ctx, client, owner, name, repo, branch)
}

func (c *Client) readBase(ctx context.Context, client *gh.Client, owner, name, repo, branch string) (bot.BaseCommit, error) {
	b, _, err := client.Repositories.GetBranch(ctx, owner, name, branch, 1)
	if err != nil {
		return bot.BaseCommit{}, fmt.Errorf("read branch %s of %s: %w", branch, repo, err)
	}
	return bot.BaseCommit{SHA: b.GetCommit().GetSHA(), Tree: b.GetCommit().GetCommit().GetTree().GetSHA()}, nil
}

// Decorate implements bot.Repos: labels, then reviewers, each tried even
// if the other fails.
func (c *Client) Decorate(ctx context.Context, repo string, number int, labels, reviewers, teams []string) error {
	client, owner, name, err := c.clientFor(ctx, repo)
	if err != nil {
		return err
	}
	var errs []error
	if len(labels) > 0 {
		if _, _, err := client.Issues.AddLabelsToIssue(ctx, owner, name, number, labels); err != nil {
			errs = append(errs, fmt.Errorf("label PR #%d on %s: %w", number, repo, err))
		}
	}
	if len(reviewers) > 0 || len(teams) > 0 {
		if _, _, err := client.PullRequests.RequestReviewers(ctx, owner, name, number, gh.ReviewersRequest{Reviewers: reviewers, TeamReviewers: teams}); err != nil {
			errs = append(errs, fmt.Errorf("request reviewers on PR #%d on %s: %w", number, repo, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Client) findOpenPR(ctx context.Context, client *gh.Client, owner, name, branch string) (bot.PullRequest, bool, error) {
	prs, _, err := client.PullRequests.List(ctx, owner, name, &gh.PullRequestListOptions{State: "open", Head: owner + ":" + branch})
	if err != nil {
		return bot.PullRequest{}, false, fmt.Errorf("look for an open PR from %s: %w", branch, err)
	}
	if len(prs) == 0 {
		return bot.PullRequest{}, false, nil
	}
	return bot.PullRequest{Number: prs[0].GetNumber(), URL: prs[0].GetHTMLURL(), Resumed: true}, true, nil
}

func isStatus(err error, code int) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == code
}

// ClosePR implements bot.Repos: a comment saying why, the PR closed, its
// branch deleted. Each part tolerates having been done already.
func (c *Client) ClosePR(ctx context.Context, repo string, number int, branch, comment string) error {
	client, owner, name, err := c.clientFor(ctx, repo)
	if err != nil {
		return err
	}
	pr, _, err := client.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return fmt.Errorf("read PR #%d on %s: %w", number, repo, err)
	}
	if pr.GetState() == "open" {
		if comment != "" {
			if _, _, err := client.Issues.CreateComment(ctx, owner, name, number, &gh.IssueComment{Body: gh.Ptr(comment)}); err != nil {
				return fmt.Errorf("comment on PR #%d on %s: %w", number, repo, err)
			}
		}
		if _, _, err := client.PullRequests.Edit(ctx, owner, name, number, &gh.PullRequest{State: gh.Ptr("closed")}); err != nil {
			return fmt.Errorf("close PR #%d on %s: %w", number, repo, err)
		}
	}
	if branch != "" {
		_, err := client.Git.DeleteRef(ctx, owner, name, "heads/"+branch)
		if err != nil && !isStatus(err, http.StatusNotFound) && !isStatus(err, http.StatusUnprocessableEntity) {
			return fmt.Errorf("delete branch %s on %s: %w", branch, repo, err)
		}
	}
	return nil
}

// EditPRBody implements bot.Repos.
func (c *Client) EditPRBody(ctx context.Context, repo string, number int, edit func(string) string) error {
	client, owner, name, err := c.clientFor(ctx, repo)
	if err != nil {
		return err
	}
	pr, _, err := client.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return fmt.Errorf("read PR #%d on %s: %w", number, repo, err)
	}
	body := edit(pr.GetBody())
	if body == pr.GetBody() {
		return nil
	}
	if _, _, err := client.PullRequests.Edit(ctx, owner, name, number, &gh.PullRequest{Body: gh.Ptr(body)}); err != nil {
		return fmt.Errorf("edit PR #%d on %s: %w", number, repo, err)
	}
	return nil
}

// Comment implements bot.Repos.
func (c *Client) Comment(ctx context.Context, repo string, number int, id int64, body string) (int64, error) {
	client, owner, name, err := c.clientFor(ctx, repo)
	if err != nil {
		return 0, err
	}
	if id != 0 {
		_, _, err := client.Issues.EditComment(ctx, owner, name, id, &gh.IssueComment{Body: gh.Ptr(body)})
		if err == nil {
			return id, nil
		}
		if !isStatus(err, http.StatusNotFound) {
			return 0, fmt.Errorf("edit comment %d on %s: %w", id, repo, err)
		}
		// Deleted by someone: post a new one.
	}
	cm, _, err := client.Issues.CreateComment(ctx, owner, name, number, &gh.IssueComment{Body: gh.Ptr(body)})
	if err != nil {
		return 0, fmt.Errorf("comment on PR #%d on %s: %w", number, repo, err)
	}
	return cm.GetID(), nil
}

// React implements bot.Repos.
func (c *Client) React(ctx context.Context, repo string, commentID int64, reaction string) error {
	client, owner, name, err := c.clientFor(ctx, repo)
	if err != nil {
		return err
	}
	if _, _, err := client.Reactions.CreateIssueCommentReaction(ctx, owner, name, commentID, reaction); err != nil {
		return fmt.Errorf("react to comment %d on %s: %w", commentID, repo, err)
	}
	return nil
}

// Permission implements bot.Repos.
func (c *Client) Permission(ctx context.Context, repo, login string) (string, error) {
	client, owner, name, err := c.clientFor(ctx, repo)
	if err != nil {
		return "", err
	}
	p, _, err := client.Repositories.GetPermissionLevel(ctx, owner, name, login)
	if isStatus(err, http.StatusNotFound) {
		return "none", nil
	}
	if err != nil {
		return "", fmt.Errorf("permission of %s on %s: %w", login, repo, err)
	}
	return p.GetPermission(), nil
}
