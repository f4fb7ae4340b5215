package bot

import (
	"context"
	"errors"
	"time"
)

// The errors adapters return that the domain acts on.
var (
	// ErrNotFound: no such migration, index entry or file.
	ErrNotFound = errors.New("not found")
	// ErrExists: a migration for the service is already active (it is frozen).
	ErrExists = errors.New("already exists")
	// ErrConflict: a save lost to another writer (stale version).
	ErrConflict = errors.New("saved by someone else meanwhile")
	// ErrLocked: another worker holds the migration's lock.
	ErrLocked = errors.New("locked")
	// ErrDuplicate: a webhook delivery id already seen (a redelivery).
	ErrDuplicate = errors.New("duplicate delivery")
)

// Store keeps migrations and the indexes that find them. Every method is safe
// for concurrent use by several replicas.
type Store interface {
	// Create saves a new active migration, or returns ErrExists.
	Create(ctx context.Context, m *Migration) error
	// Load returns the active migration of a service, or ErrNotFound.
	Load(ctx context.Context, key ServiceKey) (*Migration, error)
	// Save writes m if its Version is the stored one, then bumps m.Version;
	// otherwise ErrConflict. A finished migration (completed, aborted) is
	// archived and the service unfrozen.
	Save(ctx context.Context, m *Migration) error
	// Active lists the services with an active migration.
	Active(ctx context.Context) ([]ServiceKey, error)
	// LoadMany returns the active migrations of keys, in the order of keys,
	// in a few round trips rather than one per key. A key with no active
	// migration (finished since Active listed it) is skipped, not an error.
	LoadMany(ctx context.Context, keys []ServiceKey) ([]*Migration, error)
	// History returns a service's finished migrations, newest first, and
	// UpdateHistory rewrites one of them (for its tickets, settled after
	// it finished).
	History(ctx context.Context, key ServiceKey) ([]Migration, error)
	UpdateHistory(ctx context.Context, m *Migration) error

	// Lock takes the migration's lock for at most ttl, or returns ErrLocked.
	// The returned func releases it, only if still held by this caller.
	Lock(ctx context.Context, key ServiceKey, ttl time.Duration) (unlock func(), err error)

	// IndexPR and FindPR map a pull request to its migration.
	IndexPR(ctx context.Context, repo string, number int, key ServiceKey) error
	FindPR(ctx context.Context, repo string, number int) (ServiceKey, error)
	// SetPRComment and PRComment remember the bot's comments on a PR, one
	// of each kind ("reply" to commands, "health" summaries), each edited
	// in place by later ones.
	SetPRComment(ctx context.Context, repo string, number int, kind string, id int64) error
	PRComment(ctx context.Context, repo string, number int, kind string) (int64, error)
	// IndexThread and FindThread map a Slack thread to its migration.
	IndexThread(ctx context.Context, t Thread, key ServiceKey) error
	FindThread(ctx context.Context, t Thread) (ServiceKey, error)
	// SetLastUsed and LastUsed remember the migration a Slack user last
	// worked on in a channel.
	SetLastUsed(ctx context.Context, team, channel, user string, key ServiceKey) error
	LastUsed(ctx context.Context, team, channel, user string) (ServiceKey, error)
}

// BaseCommit is the head of a base branch: the commit a change's commit
// goes on, and its tree.
type BaseCommit struct {
	SHA, Tree string
}

// ChangeSpec is a change to write as one commit on one branch and one PR.
type ChangeSpec struct {
	Repo       string // owner/name
	BaseBranch string
	// Base is the base branch's head when already read (alongside the
	// files, to save a call in sequence); nil reads it.
	Base   *BaseCommit
	Branch string
	// Files maps a path to its whole new content; Delete lists paths to
	// remove.
	Files         map[string][]byte
	Delete        []string
	CommitMessage string
	Title         string
	Body          string
	Labels        []string
	Reviewers     []string
	TeamReviewers []string
}

// PullRequest is what the repo host says about an opened PR.
type PullRequest struct {
	Number int
	URL    string
	// Resumed is true when the PR already existed (a retried or crashed step).
	Resumed bool
}

// Repos reads files from and writes changes to repos (GitHub).
type Repos interface {
	// ReadFile returns a file's content at ref, or an error wrapping ErrNotFound.
	ReadFile(ctx context.Context, repo, ref, path string) ([]byte, error)
	// Base reads the head of a branch.
	Base(ctx context.Context, repo, branch string) (BaseCommit, error)
	// OpenChange writes spec as one commit on spec.Branch and opens its PR,
	// without labels or reviewers (Decorate adds them). It is idempotent:
	// an open PR for the branch is returned, not duplicated.
	OpenChange(ctx context.Context, spec ChangeSpec) (PullRequest, error)
	// Decorate labels a PR and requests its reviewers (users, and teams by
	// slug). The PR stands without them.
	Decorate(ctx context.Context, repo string, number int, labels, reviewers, teams []string) error
	// ClosePR closes a PR with a comment saying why and deletes its branch.
	// Closing a closed PR is not an error.
	ClosePR(ctx context.Context, repo string, number int, branch, comment string) error
	// EditPRBody rewrites a PR's description with edit.
	EditPRBody(ctx context.Context, repo string, number int, edit func(string) string) error
	// Comment posts a PR comment, or edits comment id when it is not 0,
	// and returns the comment's id.
	Comment(ctx context.Context, repo string, number int, id int64, body string) (int64, error)
	// React adds a reaction ("eyes") to a comment.
	React(ctx context.Context, repo string, commentID int64, reaction string) error
	// Permission returns a user's permission on a repo: admin, maintain,
	// write, triage, read or none.
	Permission(ctx context.Context, repo, login string) (string, error)
	// TeamMember reports whether login is an active member of the team
	// (its slug) in org.
	TeamMember(ctx context.Context, org, team, login string) (bool, error)
	// PRChecks says how the checks of a PR's head commit stand (commit
	// statuses and check runs together) and returns the head's sha.
	PRChecks(ctx context.Context, repo string, number int) (Checks, error)
	// PRState reads whether a PR is still open, and if not whether it
	// merged and who merged it.
	PRState(ctx context.Context, repo string, number int) (PRState, error)
	// MergePR merges a PR as a merge commit, only if its head is still sha.
	MergePR(ctx context.Context, repo string, number int, sha, title string) error
}

// PRState is where a PR stands on GitHub.
type PRState struct {
	Open, Merged bool
	// MergedBy is the login that merged it, when it merged.
	MergedBy string
}

// Checks is the state of a PR head's commit statuses and check runs.
type Checks struct {
	SHA string
	// State is ChecksPassing when every status and check run succeeded
	// (or was skipped or neutral), ChecksFailing when one failed, else
	// ChecksPending. A commit with no checks at all is passing.
	State ChecksState
	// Failing names the contexts and check runs that failed or are pending.
	Failing, Pending []string
}

// ChecksState sums up a commit's checks.
type ChecksState string

// Check states.
const (
	ChecksPassing ChecksState = "passing"
	ChecksPending ChecksState = "pending"
	ChecksFailing ChecksState = "failing"
)

// CertCheck is what the certificate authority says about a certificate.
type CertCheck struct {
	Domains  []string
	NotAfter time.Time
	Covers   bool // a name on it matches the host asked about
	Expired  bool
}

// Certificates checks TLS certificates (ACM).
type Certificates interface {
	CheckCertificate(ctx context.Context, arn, host string, now time.Time) (CertCheck, error)
}

// Prober checks that a health URL answers 2xx.
type Prober interface {
	Probe(ctx context.Context, url string) error
}

// Timer is work due at a time: it survives restarts, and fires once however
// many replicas are running.
type Timer struct {
	Kind TimerKind  `json:"kind"`
	Key  ServiceKey `json:"key"`
	// Migration is the id of the migration that set it: a timer outliving
	// its migration does nothing.
	Migration string    `json:"migration"`
	Due       time.Time `json:"due"`
	// Repo and Number name the change a ticket timer is about.
	Repo   string `json:"repo,omitempty"`
	Number int    `json:"number,omitempty"`
}

// TimerKind says what a timer is for.
type TimerKind string

// Timer kinds.
const (
	TimerDecommissionDue TimerKind = "decommission-due"
	// TimerTicket brings a change's ticket up to date (and retries).
	TimerTicket TimerKind = "ticket"
	// TimerAutoMerge looks again at an approved PR's checks.
	TimerAutoMerge TimerKind = "auto-merge"
	// TimerHealthApply checks that a merged change is live in DNS, and
	// TimerHealthMeasure makes its health summary.
	TimerHealthApply   TimerKind = "health-apply"
	TimerHealthMeasure TimerKind = "health-measure"
	// TimerPRCheck looks at an open change's PR on GitHub, in case the
	// webhook of its merge or close never came.
	TimerPRCheck TimerKind = "pr-check"
)

// Scheduler keeps timers.
type Scheduler interface {
	Schedule(ctx context.Context, t Timer) error
}

// Message is what the bot says in chat: mrkdwn text and optional buttons.
type Message struct {
	Text    string
	Buttons []Button
	// Key, when set, is carried with the message (Slack message metadata)
	// so that FindInThread and FindInChannel can find it again: a post
	// whose answer was lost, or whose ts a dead replica never saved, is
	// then updated, not repeated.
	Key string
}

// Button is a chat button that runs a command when pressed.
type Button struct {
	ActionID string // "migrate:next"
	Text     string
	Value    string // the service key the command applies to
	Style    string // "", "primary" or "danger"
}

// Chat is where the bot talks to people (Slack).
type Chat interface {
	// Post posts a message in a channel, in a thread when threadTS is set,
	// and returns its ts.
	Post(ctx context.Context, channel, threadTS string, m Message) (ts string, err error)
	// Update replaces a posted message.
	Update(ctx context.Context, channel, ts string, m Message) error
	// FindInThread returns the ts of the bot's message carrying key in the thread
	// threadTS, or "" when there is none.
	FindInThread(ctx context.Context, channel, threadTS, key string) (ts string, err error)
	// FindInChannel returns the ts of the bot's message carrying key among
	// the channel's latest messages (a thousand), or "" when there is none.
	FindInChannel(ctx context.Context, channel, key string) (ts string, err error)
	// Ephemeral shows a message to one user alone.
	Ephemeral(ctx context.Context, channel, user string, m Message) error
	// GroupMembers lists the user ids in a user group (its id, S…).
	GroupMembers(ctx context.Context, group string) ([]string, error)
	// UserName is how people know a user outside Slack (tickets): the
	// display name, else the real name, else the handle.
	UserName(ctx context.Context, user string) (string, error)
}

// Observer counts what the bot does, for operators (Prometheus).
type Observer interface {
	// Command counts a command by verb and outcome: ok, refused,
	// bad_input or failed.
	Command(verb, outcome string)
}

// Clock tells the time; the sandbox and tests use a fake one.
type Clock interface {
	Now() time.Time
}

// Queue takes jobs for the workers.
type Queue interface {
	Enqueue(ctx context.Context, job Job) error
	// EnqueueDelivery enqueues a webhook's job unless its delivery id was
	// already seen, in which case it returns ErrDuplicate.
	EnqueueDelivery(ctx context.Context, deliveryID string, job Job) error
}

// TicketSpec is the content of one change ticket, rendered by the engine.
type TicketSpec struct {
	// Key names the change ("web-api-20260105-090000/weights-25"). Creating
	// a ticket with a key that already has one returns that ticket: a retry
	// after a lost answer never files a second ticket.
	Key string
	// Title is one line; Body is plain text with Markdown-style lists, which
	// every backend shows readably.
	Title, Body string
	Service     string
	Environment string
	// ChangeType is "normal", or "emergency" for rollbacks and reverts.
	ChangeType string
	// PlannedStart and PlannedEnd bound when the change is expected to land.
	PlannedStart, PlannedEnd time.Time
}

// Ticket is a change ticket as its system knows it.
type Ticket struct {
	System string `json:"system"` // "github", "jira", "servicenow"
	ID     string `json:"id"`     // issue number, issue key, sys_id
	URL    string `json:"url"`    // for people
	// Number is what people call it (ServiceNow's CHG0030001); may equal ID.
	Number string `json:"number,omitempty"`
}

// TicketState is where a change ticket is in its life.
type TicketState string

// Ticket states, in lifecycle order.
const (
	TicketOpen        TicketState = "open"
	TicketApproved    TicketState = "approved"
	TicketImplemented TicketState = "implemented"
	TicketClosed      TicketState = "closed"
	TicketCancelled   TicketState = "cancelled"
)

// Tickets is a change-control system (GitHub Issues, Jira, ServiceNow).
type Tickets interface {
	// Create files a ticket, or returns the one already filed for spec.Key.
	Create(ctx context.Context, spec TicketSpec) (Ticket, error)
	// Move puts the ticket in a state, with a comment saying why. Moving a
	// ticket to the state it is in only adds the comment.
	Move(ctx context.Context, t Ticket, to TicketState, comment string) error
	// Comment adds a comment.
	Comment(ctx context.Context, t Ticket, text string) error
}

// What the bot asks the world after a merge, for its health summary.

// DNSRecords reads weighted records as DNS serves them (Route53).
type DNSRecords interface {
	// Weights returns the weight of each weighted record named name in the
	// hosted zone, by set identifier; none gives an empty map.
	Weights(ctx context.Context, zoneID, name string) (map[string]int64, error)
}

// SideRef says where one side of a service is measured.
type SideRef struct {
	// Side is "old" or "new".
	Side string
	// LoadBalancer is the side's CloudWatch dimension: "app/name/id" for
	// an application load balancer (AWS/ApplicationELB), or a classic
	// load balancer's name when Classic (AWS/ELB).
	LoadBalancer string
	Classic      bool
	// Selector is the side's Prometheus label selector, e.g.
	// `service="web-api",platform="k8s"`.
	Selector string
}

// Figures are what one side served over a window. A nil field had no data,
// which is never read as healthy.
type Figures struct {
	Requests *float64 `json:"requests"`
	// Errors counts 5xx answers (the load balancer's and the targets').
	Errors *float64 `json:"errors"`
	// P95Ms is the 95th percentile of response time, in milliseconds.
	P95Ms *float64 `json:"p95_ms"`
}

// Traffic measures both sides of a service over [from, to): CloudWatch in
// one GetMetricData call, or Prometheus.
type Traffic interface {
	Measure(ctx context.Context, old, new SideRef, from, to time.Time) (oldFigures, newFigures Figures, err error)
}

// Alarms reads alarms (CloudWatch).
type Alarms interface {
	// Firing returns the alarms in ALARM among names, and among those whose
	// name starts with prefix when prefix is not empty.
	Firing(ctx context.Context, names []string, prefix string) ([]string, error)
}

// HealthChecks reads DNS health checks (Route53).
type HealthChecks interface {
	// Healthy reports whether most of a health check's checkers see the
	// endpoint healthy.
	Healthy(ctx context.Context, id string) (bool, error)
}
