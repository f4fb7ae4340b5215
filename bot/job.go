package bot

// JobKind says what a queued job is.
type JobKind string

// Job kinds.
const (
	JobCommand     JobKind = "command"
	JobPullRequest JobKind = "pull_request"
	JobTimer       JobKind = "timer"
)

// Job is one unit of work taken from the queue by a worker: a command or a
// GitHub event. The HTTP handlers enqueue jobs and answer at once.
type Job struct {
	Kind        JobKind           `json:"kind"`
	Command     *CommandRequest   `json:"command,omitempty"`
	PullRequest *PullRequestEvent `json:"pull_request,omitempty"`
	Timer       *Timer            `json:"timer,omitempty"`
	// DeliveryID is GitHub's X-GitHub-Delivery, for logs.
	DeliveryID string `json:"delivery_id,omitempty"`
}

// CommandRequest is a command someone typed or clicked in Slack.
type CommandRequest struct {
	Team    string `json:"team"`
	Channel string `json:"channel"`
	User    string `json:"user"` // Slack user id
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
