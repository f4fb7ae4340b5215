package bot

// JobKind says what a queued job is.
type JobKind string

// Job kinds.
const (
	JobCommand     JobKind = "command"
	JobPullRequest JobKind = "pull_request"
	JobTimer       JobKind = "timer"
	JobReview      JobKind = "review"
	JobPRComment   JobKind = "pr_comment"
)

// Job is one unit of work taken from the queue by a worker: a command or a
// GitHub event. The HTTP handlers enqueue jobs and answer at once.
type Job struct {
	Kind        JobKind           `json:"kind"`
	Command     *CommandRequest   `json:"command,omitempty"`
	PullRequest *PullRequestEvent `json:"pull_request,omitempty"`
	Timer       *Timer            `json:"timer,omitempty"`
	Review      *ReviewEvent      `json:"review,omitempty"`
	PRComment   *PRCommentEvent   `json:"pr_comment,omitempty"`
	// DeliveryID is GitHub's X-GitHub-Delivery, for logs.
	DeliveryID string `json:"delivery_id,omitempty"`
}

// CommandRequest is a command someone typed or clicked in Slack, or wrote
// in a comment on one of the bot's PRs.
type CommandRequest struct {
	// Source is "" for Slack, or "github" for a PR comment.
	Source string `json:"source,omitempty"`
	// Repo and Number are the PR of a PR comment.
	Repo    string `json:"repo,omitempty"`
	Number  int    `json:"number,omitempty"`
	Team    string `json:"team"`
	Channel string `json:"channel"`
	// User is the Slack user id, or "github:<login>" for a PR comment.
	User string `json:"user"`
	// Text is the command's text after /migrate, e.g. "bump 25 web-api".
	Text string `json:"text"`
	// Service is set when a button names the migration it belongs to.
	Service string `json:"service,omitempty"`
}

// PullRequestEvent is a pull request closing, merged or not.
type PullRequestEvent struct {
	Repo           string `json:"repo"`
	Number         int    `json:"number"`
	Merged         bool   `json:"merged"`
	By             string `json:"by"` // GitHub login of who merged or closed it
	InstallationID int64  `json:"installation_id"`
}

// ReviewEvent is a review submitted or dismissed on a PR.
type ReviewEvent struct {
	Repo     string `json:"repo"`
	Number   int    `json:"number"`
	ReviewID int64  `json:"review_id"`
	Reviewer string `json:"reviewer"`
	// Bot is true when the reviewer is an app: the bot never counts itself.
	Bot bool `json:"bot,omitempty"`
	// State is approved, changes_requested, commented or dismissed.
	State string `json:"state"`
}

// PRCommentEvent is a comment on a PR.
type PRCommentEvent struct {
	Repo      string `json:"repo"`
	Number    int    `json:"number"`
	CommentID int64  `json:"comment_id"`
	Author    string `json:"author"`
	Bot       bool   `json:"bot,omitempty"`
	Body      string `json:"body"`
}
