package sandbox

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/test/jiraemu"
	"github.com/migratebot/migratebot/test/servicenowemu"
)

// The sandbox reports change tickets the way it reports PRs: by watching
// the ticket system (GitHub issues in the tickets repo, the Jira emulator or
// the ServiceNow emulator) and turning each change into a "ticket" event.

// TicketView is a ticket as the sandbox reports it, whatever its system.
type TicketView struct {
	ID, System, Title, State, URL string
	Labels                        []string
	// Notes are the comments or work notes, oldest first.
	Notes []string
	Body  string
}

// Ticket systems the sandbox can run; see Options.Tickets.
const (
	TicketsGitHub     = "github"
	TicketsJira       = "jira"
	TicketsServiceNow = "servicenow"
)

// useTicketSystem points kprod's tickets at the chosen system's emulator.
func (s *Sandbox) useTicketSystem(cfg *config.Config, system string) error {
	env := cfg.Environments["kprod"]
	switch system {
	case "", TicketsGitHub:
		s.ticketRepo = env.Tickets.Repo
	case TicketsJira:
		s.jira = jiraemu.New(jiraemu.Options{Project: "CHG", IssueTypes: []string{"Change"}, Email: "migratebot@acme.example", Token: "sandbox-jira-token"})
		env.Tickets = config.Tickets{System: "jira", Jira: &config.Jira{
			URL: s.jira.URL(), Project: "CHG", IssueType: "Change",
			Transitions: map[string]string{"approved": "Approve", "implemented": "Implement", "closed": "Close", "cancelled": "Cancel"},
		}}
	case TicketsServiceNow:
		s.snow = servicenowemu.New(servicenowemu.Options{})
		env.Tickets = config.Tickets{System: "servicenow", ServiceNow: &config.ServiceNow{
			URL: s.snow.URL(), AssignmentGroup: "platform-change",
		}}
	default:
		return fmt.Errorf("%q is not a sandbox ticket system (github, jira, servicenow)", system)
	}
	return nil
}

// snowStates names ServiceNow's change states by what they mean to
// migratebot (its default mapping: New, Scheduled, Implement, Closed,
// Canceled).
var snowStates = map[string]string{"-5": "open", "-2": "approved", "-1": "implemented", "3": "closed", "4": "cancelled"}

// Tickets lists every ticket the ticket system holds now.
func (s *Sandbox) Tickets() []TicketView {
	var out []TicketView
	switch {
	case s.jira != nil:
		for _, is := range s.jira.Issues() {
			v := TicketView{ID: is.Key, System: TicketsJira, Title: is.Summary, State: strings.ToLower(is.Status), URL: s.jira.URL() + "/browse/" + is.Key, Labels: is.Labels, Body: is.Description}
			for _, c := range is.Comments {
				v.Notes = append(v.Notes, c.Body)
			}
			out = append(out, v)
		}
	case s.snow != nil:
		for _, c := range s.snow.Changes() {
			state := snowStates[c.State]
			if state == "" {
				state = c.State
			}
			out = append(out, TicketView{
				ID: c.Number, System: TicketsServiceNow, Title: c.Fields["short_description"], State: state,
				URL: s.snow.URL() + "/nav_to.do?uri=change_request.do?sys_id=" + c.SysID, Notes: c.WorkNotes, Body: c.Fields["description"],
			})
		}
	case s.ticketRepo != "":
		for _, is := range s.gh.Issues(s.ticketRepo) {
			if is.IsPR {
				continue
			}
			v := TicketView{ID: fmt.Sprintf("%s#%d", s.ticketRepo, is.Number), System: TicketsGitHub, Title: is.Title, URL: is.HTMLURL, Labels: is.Labels, Body: is.Body}
			switch {
			case is.State == "closed" && is.StateReason == "not_planned":
				v.State = "cancelled"
			case is.State == "closed":
				v.State = "closed"
			default:
				v.State = "open"
				for _, l := range is.Labels {
					if st, ok := strings.CutPrefix(l, "change:"); ok {
						v.State = st
					}
				}
			}
			for _, c := range is.Comments {
				v.Notes = append(v.Notes, c.Body)
			}
			out = append(out, v)
		}
	}
	return out
}

// observeTickets records what changed in the ticket system since it last
// looked, one event per ticket.
func (s *Sandbox) observeTickets() {
	for _, t := range s.Tickets() {
		seen, known := s.seenTickets[t.ID]
		s.seenTickets[t.ID] = t
		fields := map[string]any{"state": t.State}
		action := "updated"
		switch {
		case !known:
			action = "created"
			fields["title"], fields["url"], fields["body"] = t.Title, t.URL, t.Body
			if len(t.Labels) > 0 {
				fields["labels"] = t.Labels
			}
			if len(t.Notes) > 0 {
				fields["notes"] = t.Notes
			}
		case seen.State == t.State && slices.Equal(seen.Labels, t.Labels) && len(seen.Notes) == len(t.Notes):
			continue
		default:
			if t.State != seen.State && (t.State == "closed" || t.State == "cancelled") {
				action = t.State
			}
			if !slices.Equal(seen.Labels, t.Labels) {
				fields["labels"] = t.Labels
			}
			if len(t.Notes) > len(seen.Notes) {
				fields["notes"] = t.Notes[len(seen.Notes):]
			}
		}
		s.record(Event{Kind: "ticket", Action: action, ID: t.ID, System: t.System, Fields: fields})
	}
}

// ticketTranscript writes a ticket event for people.
func ticketTranscript(b *strings.Builder, e Event) {
	fmt.Fprintf(b, "      ticket %s %s %s", e.System, e.ID, e.Action)
	if st, ok := e.Fields["state"].(string); ok && e.Action != st {
		fmt.Fprintf(b, " (%s)", st)
	}
	b.WriteString("\n")
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		switch v := e.Fields[k].(type) {
		case string:
			if k == "state" {
				continue
			}
			if k == "body" {
				b.WriteString(indent(v, "        │ "))
				continue
			}
			fmt.Fprintf(b, "        %s: %s\n", k, v)
		case []string:
			if k == "notes" {
				for _, n := range v {
					b.WriteString(indent(n, "        │ "))
				}
				continue
			}
			fmt.Fprintf(b, "        %s: %s\n", k, strings.Join(v, ", "))
		}
	}
}
