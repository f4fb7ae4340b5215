package handlers

import (
	"encoding/json"
	"strings"

	fastjson "github.com/segmentio/encoding/json"
)

// webhook is the part of a handled event's body the bot reads. go-github's
// event types decode every field of a 10–30 KB payload (the repository,
// the PR with its head and base repositories, …) in some 800 allocations;
// this keeps the few fields the jobs need and skips the rest, which halves
// the handler's cost (BENCHMARKS.md, What to fix 2). The field names are
// GitHub's, as in the payloads under
// ../test/githubemu/testdata/github-webhooks/.
type webhook struct {
	Action       string        `json:"action"`
	Number       int           `json:"number"` // pull_request
	Repository   *repository   `json:"repository"`
	Installation *installation `json:"installation"`
	Sender       *account      `json:"sender"`
	PullRequest  *pullRequest  `json:"pull_request"` // pull_request, pull_request_review
	Review       *review       `json:"review"`       // pull_request_review
	Issue        *issue        `json:"issue"`        // issue_comment
	Comment      *comment      `json:"comment"`      // issue_comment
	HookID       int64         `json:"hook_id"`      // ping
}

type account struct {
	Login string `json:"login"`
	Type  string `json:"type"` // "User", "Bot", "Organization"
}

type repository struct {
	FullName string   `json:"full_name"`
	Owner    *account `json:"owner"`
}

type installation struct {
	ID int64 `json:"id"`
}

type pullRequest struct {
	Number   int      `json:"number"`
	Merged   bool     `json:"merged"`
	MergedBy *account `json:"merged_by"`
	Head     *struct {
		Repo *repository `json:"repo"`
	} `json:"head"`
}

type review struct {
	ID    int64    `json:"id"`
	State string   `json:"state"`
	User  *account `json:"user"`
}

type issue struct {
	Number int `json:"number"`
	// PullRequest is present (links) only on an issue that is a PR.
	PullRequest json.RawMessage `json:"pull_request"`
}

type comment struct {
	ID   int64    `json:"id"`
	Body string   `json:"body"`
	User *account `json:"user"`
}

// decodePayload reads a handled event's body; it refuses anything that is
// not a JSON object of GitHub's shape. It decodes with segmentio's
// encoding/json, a drop-in for the standard library's that reads a 28 KB
// payload in about a tenth of the time (the standard library validates
// the whole body, then scans it again); FuzzWebhookDecode holds it to the
// standard library's answers.
func decodePayload(body []byte) (*webhook, error) {
	var p webhook
	if err := fastjson.Unmarshal(body, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// The getters below are nil-safe, as go-github's are, so a payload missing
// a part reads as empty rather than panicking.

func (a *account) login() string {
	if a == nil {
		return ""
	}
	return a.Login
}

// isBot reports whether a GitHub account is an app, the bot itself included.
func (a *account) isBot() bool {
	return a != nil && (a.Type == "Bot" || strings.HasSuffix(a.Login, "[bot]"))
}

func (r *repository) fullName() string {
	if r == nil {
		return ""
	}
	return r.FullName
}

func (r *repository) ownerLogin() string {
	if r == nil {
		return ""
	}
	return r.Owner.login()
}

func (i *installation) id() int64 {
	if i == nil {
		return 0
	}
	return i.ID
}

func (p *pullRequest) number() int {
	if p == nil {
		return 0
	}
	return p.Number
}

// headRepo is the repository the PR's branch lives in: another one for a
// PR from a fork.
func (p *pullRequest) headRepo() string {
	if p == nil || p.Head == nil {
		return ""
	}
	return p.Head.Repo.fullName()
}

func (i *issue) number() int {
	if i == nil {
		return 0
	}
	return i.Number
}

// isPullRequest: GitHub sends "pull_request" links only for a PR's issue
// (and null, or nothing, otherwise).
func (i *issue) isPullRequest() bool {
	return i != nil && len(i.PullRequest) > 0 && string(i.PullRequest) != "null"
}
