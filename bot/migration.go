// Package bot is migratebot's domain: migrations, their steps, the command
// grammar and the engine that runs commands and reacts to merges. It knows
// nothing of HTTP, Slack, GitHub or Redis: it talks to them through the small
// interfaces in ports.go, which the adapter packages under bot/ implement.
package bot

import (
	"fmt"
	"strings"
	"time"
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

// Statuses.
const (
	StatusActive    Status = "active"
	StatusCompleted Status = "completed"
)

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

// Change is what one step writes: for a weight step, one PR to the
// env-config repo.
type Change struct {
	Step   string      `json:"step"` // "weights-25"
	From   Weights     `json:"from"`
	To     Weights     `json:"to"`
	State  ChangeState `json:"state"`
	Repo   string      `json:"repo"`
	Branch string      `json:"branch"`
	Number int         `json:"number,omitempty"`
	URL    string      `json:"url,omitempty"`
	// RequestedBy is the Slack user who asked for the change.
	RequestedBy string    `json:"requested_by"`
	OpenedAt    time.Time `json:"opened_at"`
	// ClosedAt is when it was merged or closed; ClosedBy by whom (GitHub login).
	ClosedAt time.Time `json:"closed_at,omitzero"`
	ClosedBy string    `json:"closed_by,omitempty"`
	// MessageTS is the step's one Slack message in the thread, updated in place.
	MessageTS string `json:"message_ts,omitempty"`
}

// Thread is the Slack conversation of a migration: the plan message and its
// replies.
type Thread struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// Migration is one run of a playbook for one service.
type Migration struct {
	ID      string     `json:"id"`
	Key     ServiceKey `json:"key"`
	Status  Status     `json:"status"`
	Targets []int64    `json:"targets"` // the playbook's weight targets for the new side
	// Weights are the applied (merged) weights.
	Weights Weights `json:"weights"`
	// Open is the change in flight, if any.
	Open *Change `json:"open,omitempty"`
	// History holds the finished changes, oldest first.
	History   []Change  `json:"history,omitempty"`
	Thread    Thread    `json:"thread"`
	StartedBy string    `json:"started_by"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version is bumped by every save; a save with a stale version fails.
	Version int64 `json:"version"`
}

// NextTarget returns the playbook's next weight above the applied one.
func (m *Migration) NextTarget() (int64, bool) {
	for _, t := range m.Targets {
		if t > m.Weights.New {
			return t, true
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
