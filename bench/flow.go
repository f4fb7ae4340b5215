package bench

import (
	"context"
	"fmt"
	"strings"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/sandbox"
)

// FlowScript is a short migration of search in the sandbox: three weight
// steps, each approved by carol on GitHub and in Slack, merged, and
// followed by its health summary (apply, 2×TTL, a 10-minute window), then
// an on-demand summary. Each "/migrate next" begins a step. After line
// MidFlightLine the migration is mid-flight: two changes merged with their
// tickets, reviews and summaries, a third open with its ticket and an
// approval.
var FlowScript = []string{
	"as alice",
	"/migrate start search",
	"/migrate next", // weights-10
	"as carol",
	"click migrate:approve",
	"github review last approve by carol",
	"github merge last",
	"clock +15m", // the summary of weights-10
	"clock +15m", // the soak ends
	"as alice",
	"/migrate next", // weights-25
	"github review last approve by carol",
	"github review last approve by eve",
	"github merge last",
	"clock +15m",
	"clock +15m",
	"/migrate next", // weights-50
	"github review last approve by carol",
	// mid-flight
	"github merge last",
	"clock +15m",
	"clock +15m",
	"/migrate health", // on demand
}

// MidFlightLine is the index in FlowScript after which the migration is
// mid-flight.
const MidFlightLine = 17

// FlowLine is what one script line cost in calls to Slack and AWS.
type FlowLine struct {
	Line  string
	Slack map[string]int
	AWS   map[string]int
	// Messages are the Slack messages the line posted or changed.
	Messages []MessageEvent
}

// MessageEvent is a Slack message posted or updated: Thread is empty for
// a top-level message (the migration's plan), TS names the message.
type MessageEvent struct {
	Action, Thread, TS string
	Ephemeral          bool
}

// Flow is a run of FlowScript.
type Flow struct {
	Lines []FlowLine
	// MidFlight is the migration as it stood after MidFlightLine; End as
	// it stands at the end.
	MidFlight, End *bot.Migration
}

// RunFlow runs FlowScript on sb and records the emulators' call counters
// around each line. midFlight is called after MidFlightLine.
func RunFlow(ctx context.Context, sb *sandbox.Sandbox, midFlight func() error) (*Flow, error) {
	key := bot.ServiceKey{Env: "kprod", Service: "search"}
	f := &Flow{}
	for i, line := range FlowScript {
		slack0, aws0 := sb.Slack().Calls(), sb.AWS().Calls()
		events, err := sb.Exec(ctx, i+1, line)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			if e.Kind == "error" {
				return nil, fmt.Errorf("line %q: %s", line, e.Message)
			}
		}
		fl := FlowLine{Line: line, Slack: delta(slack0, sb.Slack().Calls()), AWS: delta(aws0, sb.AWS().Calls())}
		for _, e := range events {
			if e.Kind == "slack.message" {
				fl.Messages = append(fl.Messages, MessageEvent{Action: e.Action, Thread: e.Thread, TS: e.TS, Ephemeral: e.Ephemeral != nil && *e.Ephemeral})
			}
		}
		f.Lines = append(f.Lines, fl)
		if i == MidFlightLine {
			if f.MidFlight, err = sb.App().Store.Load(ctx, key); err != nil {
				return nil, err
			}
			if midFlight != nil {
				if err := midFlight(); err != nil {
					return nil, err
				}
			}
		}
	}
	var err error
	f.End, err = sb.App().Store.Load(ctx, key)
	return f, err
}

func delta(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// StepCalls are the Slack calls of one weight step, from its "/migrate
// next" to the line before the next step's (its approvals, merge and health
// summary included).
type StepCalls struct {
	Step string
	// PostMessage, Update and Ephemeral count chat.postMessage, chat.update
	// and chat.postEphemeral calls; Other the step's other Web API calls.
	PostMessage, Update, Ephemeral int
	Other                          map[string]int
	// Posted counts the messages the step posted; StepUpdates the updates
	// of the step's own message, PlanUpdates those of the migration's plan
	// message atop the thread, OtherUpdates those of any other message.
	Posted, StepUpdates, PlanUpdates, OtherUpdates int
}

// Steps splits the flow's Slack calls by weight step.
func (f *Flow) Steps() []StepCalls {
	var out []StepCalls
	var cur *StepCalls
	stepTS := ""
	for _, l := range f.Lines {
		if l.Line == "/migrate next" {
			out = append(out, StepCalls{Step: fmt.Sprintf("step %d", len(out)+1), Other: map[string]int{}})
			cur = &out[len(out)-1]
			stepTS = ""
		}
		if cur == nil || l.Line == "/migrate health" {
			continue
		}
		for k, v := range l.Slack {
			switch k {
			case "chat.postMessage":
				cur.PostMessage += v
			case "chat.update":
				cur.Update += v
			case "chat.postEphemeral":
				cur.Ephemeral += v
			default:
				cur.Other[k] += v
			}
		}
		for _, m := range l.Messages {
			switch {
			case m.Action == "posted":
				cur.Posted++
				if stepTS == "" && m.Thread != "" && !m.Ephemeral {
					stepTS = m.TS
				}
			case m.Action != "updated":
			case m.TS == stepTS:
				cur.StepUpdates++
			case m.Thread == "":
				cur.PlanUpdates++
			default:
				cur.OtherUpdates++
			}
		}
	}
	return out
}

// HealthCalls are the AWS calls of the flow's health summaries.
type HealthCalls struct {
	// Summaries is how many summaries the bot made: one per merged change,
	// and the on-demand one.
	Summaries int
	Calls     map[string]int
}

// Health counts the summaries the migration holds and every AWS call the
// flow made after preflight.
func (f *Flow) Health() HealthCalls {
	h := HealthCalls{Calls: map[string]int{}}
	for _, c := range f.End.History {
		if c.Health != nil {
			h.Summaries++
		}
	}
	for _, l := range f.Lines {
		if strings.HasPrefix(l.Line, "/migrate health") {
			h.Summaries++
		}
		if strings.HasPrefix(l.Line, "/migrate start") {
			continue // preflight checks the certificate, not health
		}
		for k, v := range l.AWS {
			h.Calls[k] += v
		}
	}
	return h
}
