// Package bot is migratebot's domain: migrations, their steps and gates, the
// command grammar, and the engine that runs commands and reacts to merges and
// timers. It knows nothing of HTTP, Slack, GitHub, AWS or Redis: it talks to
// them through the small interfaces in ports.go, which the adapter packages
// under bot/ implement.
package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/migratebot/migratebot/config"
)

// ServiceKey names one service in one environment: "kprod/web-api". At most
// one migration per service is active, so it also names the migration.
type ServiceKey struct {
	Env     string `json:"env"`
	Service string `json:"service"`
}

func (k ServiceKey) String() string { return k.Env + "/" + k.Service }

// ParseServiceKey reads "env/service".
func ParseServiceKey(s string) (ServiceKey, error) {
	env, svc, ok := strings.Cut(s, "/")
	if !ok || env == "" || svc == "" {
		return ServiceKey{}, fmt.Errorf("%q is not env/service", s)
	}
	return ServiceKey{Env: env, Service: svc}, nil
}

// Weights is the share of traffic on the old and the new side, in percent.
// Both fields are always written: 0 is a real weight, never "unset".
type Weights struct {
	Old int64 `json:"old"`
	New int64 `json:"new"`
}

// WeightsForNew returns the split that puts n percent on the new side.
// Old+New is always 100, so the bot can never write 0/0.
func WeightsForNew(n int64) Weights { return Weights{Old: 100 - n, New: n} }

func (w Weights) String() string { return fmt.Sprintf("old %d / new %d", w.Old, w.New) }

// Status is where a migration is in its life.
type Status string

// Statuses. Only active and aborting migrations keep the service frozen.
const (
	StatusActive    Status = "active"
	StatusAborting  Status = "aborting" // revert PRs are open or to come
	StatusCompleted Status = "completed"
	StatusAborted   Status = "aborted"
)

// Finished reports whether the migration is over (and so archived).
func (s Status) Finished() bool { return s == StatusCompleted || s == StatusAborted }

// StepTTL is the step preflight inserts when the records' TTL is above 60 s.
const StepTTL = "ttl"

// StepStatus is where a non-weight step is. Weight steps are done when the
// applied weight has reached their target, so that a rollback reopens them.
type StepStatus string

// Step statuses.
const (
	StepPending StepStatus = "pending"
	StepDone    StepStatus = "done"
	StepSkipped StepStatus = "skipped" // already in place when the migration started
)

// Step is one step of a migration's playbook.
type Step struct {
	ID   string `json:"id"`   // "dns-source", "manual-deployed", "weights-25", "decommission"
	Kind string `json:"kind"` // a config.Step* kind, or StepTTL
	// Target is a weights step's weight for the new side.
	Target int64 `json:"target,omitempty"`
	// Item and Text describe a manual step.
	Item         string        `json:"item,omitempty"`
	Text         string        `json:"text,omitempty"`
	Soak         time.Duration `json:"soak,omitempty"`
	Irreversible bool          `json:"irreversible,omitempty"`
	Status       StepStatus    `json:"status"`
	DoneBy       string        `json:"done_by,omitempty"`
	DoneAt       time.Time     `json:"done_at,omitzero"`
}

// ChangeState is where a change is in its life.
type ChangeState string

// Change states.
const (
	// ChangeOpening: the bot has begun writing the change; a crash here is
	// resumed from the deterministic branch, never opened twice.
	ChangeOpening ChangeState = "opening"
	ChangeOpen    ChangeState = "open"
	ChangeMerged  ChangeState = "merged"
	ChangeClosed  ChangeState = "closed"
)

// ChangeKind says why a change was made.
type ChangeKind string

// Change kinds.
const (
	KindStep     ChangeKind = "step"     // a playbook step, or a bump
	KindRollback ChangeKind = "rollback" // traffic back towards the old side, urgent
	KindRevert   ChangeKind = "revert"   // abort: files back as they were before the migration
)

// Change is what one step writes: one PR to one repo.
type Change struct {
	Kind ChangeKind `json:"kind"`
	// Step is the step's id ("weights-25"); a rollback's is "rollback-N" and
	// a revert's "revert-N".
	Step   string      `json:"step"`
	From   Weights     `json:"from"`
	To     Weights     `json:"to"`
	State  ChangeState `json:"state"`
	Repo   string      `json:"repo"`
	Branch string      `json:"branch"`
	Number int         `json:"number,omitempty"`
	URL    string      `json:"url,omitempty"`
	// Before holds each changed file's content before the change (nil: the
	// file did not exist), so abort can put it back.
	Before map[string]*string `json:"before,omitempty"`
	// RequestedBy is the Slack user who asked for the change.
	RequestedBy string    `json:"requested_by"`
	OpenedAt    time.Time `json:"opened_at"`
	// ClosedAt is when it was merged or closed; ClosedBy by whom (GitHub login).
	ClosedAt time.Time `json:"closed_at,omitzero"`
	ClosedBy string    `json:"closed_by,omitempty"`
	// MessageTS is the change's one Slack message in the thread, updated in place.
	MessageTS string `json:"message_ts,omitempty"`
	// MessageKey is carried by that message, and saved before it is
	// posted: when MessageTS is still empty, a post may have been made
	// whose ts was never saved (a lost answer, a replica killed), and the
	// bot finds the message by its key before posting another.
	MessageKey string `json:"message_key,omitempty"`
	// unposted is set while a new change's message is known never to have
	// been posted, which spares the lookup.
	unposted bool
	// Summary and Rollback are what the PR says it changes and how to undo
	// it; the ticket says the same.
	Summary  string `json:"summary,omitempty"`
	Rollback string `json:"rollback,omitempty"`
	// Reviews are the reviews of the change, by reviewer: GitHub logins,
	// and "slack:<user id>" for approvals given in Slack.
	Reviews map[string]Review `json:"reviews,omitempty"`
	// Owners are the CODEOWNERS of the changed files (logins, and
	// org/team for teams); they are requested as reviewers and count as
	// approvers.
	Owners []string `json:"owners,omitempty"`
	// AutoMerge is where auto-merge stands ("" when the environment does
	// not auto-merge or nothing was tried yet), as the step message says it.
	AutoMerge string `json:"auto_merge,omitempty"`
	// MergeCheckAt is when the next auto-merge check is due, if one is.
	MergeCheckAt time.Time `json:"merge_check_at,omitzero"`
	// PRCheckAt is when the PR is next looked at on GitHub (prCheckDue);
	// a timer due at another time was superseded.
	PRCheckAt time.Time `json:"pr_check_at,omitzero"`
	// AppliedAt is when the merged change was seen live, and ApplyNote
	// how; Health is its health summary.
	AppliedAt time.Time      `json:"applied_at,omitzero"`
	ApplyNote string         `json:"apply_note,omitempty"`
	Health    *HealthSummary `json:"health,omitempty"`
	// Ticket is the change's ticket, when the environment keeps tickets.
	Ticket *TicketLink `json:"ticket,omitempty"`
}

// TicketLink follows a change's ticket: what the ticket system has, what it
// should have, and what is still to tell it. The bot brings the ticket up
// to date in the background, retrying while the system is down.
type TicketLink struct {
	Ticket *Ticket     `json:"ticket,omitempty"`
	State  TicketState `json:"state,omitempty"`
	Want   TicketState `json:"want"`
	Notes  []string    `json:"notes,omitempty"`
	// Attempts counts failed tries since the last success.
	Attempts int `json:"attempts,omitempty"`
}

// Review is one reviewer's latest word on a change.
type Review struct {
	// State is approved, changes_requested or dismissed.
	State string `json:"state"`
	// Approver is true when the reviewer is one of the environment's change
	// approvers (or a code owner of the change) at the time of the review.
	Approver bool `json:"approver,omitempty"`
	// InSlack is true for an approval given with the Slack button.
	InSlack bool `json:"in_slack,omitempty"`
}

// Approved reports whether a change approver approved the change on GitHub
// and nobody's latest review asks for changes: what auto-merge needs.
func (c *Change) Approved() bool {
	ok := false
	for _, r := range c.Reviews {
		switch {
		case r.State == "changes_requested":
			return false
		case r.State == "approved" && r.Approver && !r.InSlack:
			ok = true
		}
	}
	return ok
}

// approvedByAnyone reports whether a change approver approved the change,
// on GitHub or in Slack.
func (c *Change) approvedByAnyone() bool {
	for _, r := range c.Reviews {
		if r.State == "approved" && r.Approver {
			return true
		}
	}
	return false
}

// Thread is the Slack conversation of a migration: the plan message and its
// replies.
type Thread struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// Pause records who paused a migration.
type Pause struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// Confirmation is an action waiting for its requester's button press: a
// forced step beyond the step limit, or an irreversible step.
type Confirmation struct {
	Verb    Verb      `json:"verb"`
	Target  int64     `json:"target,omitempty"`
	Step    string    `json:"step,omitempty"`
	Reason  string    `json:"reason"`
	By      string    `json:"by"`
	Expires time.Time `json:"expires"`
}

// Migration is one run of a playbook for one service.
type Migration struct {
	ID       string     `json:"id"`
	Key      ServiceKey `json:"key"`
	Status   Status     `json:"status"`
	Playbook string     `json:"playbook"`
	Steps    []Step     `json:"steps"`
	// Weights are the applied (merged) weights.
	Weights Weights `json:"weights"`
	// TTL of the service's records, in seconds, as preflight found it.
	TTL int `json:"ttl"`
	// Open is the change in flight, if any.
	Open *Change `json:"open,omitempty"`
	// History holds the finished changes, oldest first.
	History []Change `json:"history,omitempty"`
	// LastMergeAt is when the last change merged; soaks count from it.
	LastMergeAt time.Time `json:"last_merge_at,omitzero"`
	// Health is the last health verdict ("" when there is none, nor any
	// due): pending, healthy, degraded, unknown or failing. LastHealth is
	// the last summary.
	Health     string         `json:"health,omitempty"`
	LastHealth *HealthSummary `json:"last_health,omitempty"`
	Paused     *Pause         `json:"paused,omitempty"`
	Pending    *Confirmation  `json:"pending,omitempty"`
	// Reverts are the revert changes abort still has to open, in order.
	Reverts []Change `json:"reverts,omitempty"`
	// Preflight is what preflight reported, shown atop the thread.
	Preflight []string `json:"preflight,omitempty"`
	// Reminded is set once the decommission reminder was posted.
	Reminded  bool      `json:"reminded,omitempty"`
	Thread    Thread    `json:"thread"`
	StartedBy string    `json:"started_by"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version is bumped by every save; a save with a stale version fails.
	Version int64 `json:"version"`
	// archived is set on a finished migration read from the history.
	archived bool
}

// Done reports whether a step is behind the migration.
func (m *Migration) Done(s Step) bool {
	if s.Kind == config.StepWeights {
		return s.Target <= m.Weights.New
	}
	return s.Status == StepDone || s.Status == StepSkipped
}

// Current returns the first step not done, or false when all are.
func (m *Migration) Current() (*Step, bool) {
	for i := range m.Steps {
		if !m.Done(m.Steps[i]) {
			return &m.Steps[i], true
		}
	}
	return nil, false
}

// Step returns the step with that id.
func (m *Migration) Step(id string) (*Step, bool) {
	for i := range m.Steps {
		if m.Steps[i].ID == id {
			return &m.Steps[i], true
		}
	}
	return nil, false
}

// Manual returns the manual step for an item.
func (m *Migration) Manual(item string) (*Step, bool) {
	for i := range m.Steps {
		if m.Steps[i].Kind == config.StepManual && m.Steps[i].Item == item {
			return &m.Steps[i], true
		}
	}
	return nil, false
}

// InWeights reports whether every step before the weights is done, so
// weights may be bumped freely.
func (m *Migration) InWeights() bool {
	cur, ok := m.Current()
	return ok && cur.Kind == config.StepWeights || !ok
}

// NextTarget returns the playbook's next weight above the applied one.
func (m *Migration) NextTarget() (int64, bool) {
	for _, s := range m.Steps {
		if s.Kind == config.StepWeights && s.Target > m.Weights.New {
			return s.Target, true
		}
	}
	return 0, false
}

// StepName is the name of the step that sets the new side to n percent. It is
// part of the branch name, so it must be stable.
func StepName(n int64) string { return fmt.Sprintf("weights-%d", n) }

// BranchName is the deterministic branch of a step: a crashed or retried step
// finds its branch and PR again instead of opening a second one.
func BranchName(service, step string) string { return "migratebot/" + service + "/" + step }

// BuildSteps expands a playbook into a migration's steps.
func BuildSteps(p config.Playbook) []Step {
	var steps []Step
	for _, s := range p.Steps {
		switch s.Kind {
		case config.StepWeights:
			for _, w := range s.Weights {
				steps = append(steps, Step{ID: StepName(w), Kind: s.Kind, Target: w, Status: StepPending, Irreversible: s.Irreversible})
			}
		case config.StepManual:
			steps = append(steps, Step{ID: "manual-" + s.Item, Kind: s.Kind, Item: s.Item, Text: s.Text, Status: StepPending, Irreversible: s.Irreversible})
		default:
			steps = append(steps, Step{ID: s.Kind, Kind: s.Kind, Soak: time.Duration(s.Soak), Status: StepPending, Irreversible: s.Irreversible})
		}
	}
	return steps
}
