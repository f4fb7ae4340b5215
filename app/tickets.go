package app

import (
	"fmt"
	"net/http"
	"time"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/github"
	"github.com/migratebot/migratebot/bot/jira"
	"github.com/migratebot/migratebot/bot/servicenow"
	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/metrics"
)

// ticketSystems builds each environment's change-ticket system. An
// environment with system "none" files no tickets. A missing credential
// fails here, at start, rather than at the first change.
func ticketSystems(cfg *config.Config, s config.Secrets, gh *github.Client, retryWait time.Duration, m *metrics.Metrics) (map[string]bot.Tickets, error) {
	out := map[string]bot.Tickets{}
	for name, env := range cfg.Environments {
		t := env.Tickets
		switch t.System {
		case "none":
			continue
		case "github":
			out[name] = gh.Tickets(t.Repo)
		case "jira":
			c, err := jira.New(jira.Config{
				URL: t.Jira.URL, Project: t.Jira.Project, IssueType: t.Jira.IssueType, Fields: t.Jira.Fields,
				Transitions: states(t.Jira.Transitions), Statuses: states(t.Jira.Statuses),
				Email: s.JiraEmail, Token: s.JiraToken, Timeout: 10 * time.Second, RetryWait: retryWait,
				HTTPClient: &http.Client{Transport: m.Transport(metrics.SystemJira, nil)},
			})
			if err != nil {
				return nil, fmt.Errorf("environment %s: tickets: %w (the token comes from %s)", name, err, config.EnvJiraToken)
			}
			out[name] = c
		case "servicenow":
			c, err := servicenow.New(servicenow.Config{
				URL: t.ServiceNow.URL, AssignmentGroup: t.ServiceNow.AssignmentGroup, Fields: t.ServiceNow.Fields,
				States: states(t.ServiceNow.States), Username: s.ServiceNowUsername, Password: s.ServiceNowPassword,
				Timeout: 10 * time.Second, RetryWait: retryWait,
				HTTPClient: &http.Client{Transport: m.Transport(metrics.SystemServiceNow, nil)},
			})
			if err != nil {
				return nil, fmt.Errorf("environment %s: tickets: %w (the user comes from %s and %s)", name, err, config.EnvServiceNowUsername, config.EnvServiceNowPassword)
			}
			out[name] = c
		default:
			return nil, fmt.Errorf("environment %s: unknown ticket system %q", name, t.System)
		}
	}
	return out, nil
}

// states turns a config map keyed by state name into one keyed by state.
func states(m map[string]string) map[bot.TicketState]string {
	if m == nil {
		return nil
	}
	out := make(map[bot.TicketState]string, len(m))
	for k, v := range m {
		out[bot.TicketState(k)] = v
	}
	return out
}
