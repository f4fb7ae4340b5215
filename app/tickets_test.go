package app

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/migratebot/migratebot/bot/github"
	"github.com/migratebot/migratebot/bot/jira"
	"github.com/migratebot/migratebot/bot/servicenow"
	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/metrics"
)

// TestTicketSystemsPerEnvironment: each environment gets the system its
// config names, and a missing credential stops the bot at start, naming
// the variable to set and never a secret.
func TestTicketSystemsPerEnvironment(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	gh, err := github.New(github.Config{AppID: 1, APIURL: "https://api.github.com/", PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Environments: map[string]*config.Environment{
		"kprod":  {Tickets: config.Tickets{System: "github", Repo: "acme/change-requests"}},
		"kstage": {Tickets: config.Tickets{System: "none"}},
		"kjira": {Tickets: config.Tickets{System: "jira", Jira: &config.Jira{
			URL: "https://acme.atlassian.net", Project: "CHG", IssueType: "Change", Transitions: map[string]string{"approved": "Approve"},
		}}},
		"ksnow": {Tickets: config.Tickets{System: "servicenow", ServiceNow: &config.ServiceNow{URL: "https://acme.service-now.com"}}},
	}}
	secrets := config.Secrets{JiraEmail: "bot@acme.example", JiraToken: "jira-token", ServiceNowUsername: "bot", ServiceNowPassword: "snow-password"}
	systems, err := ticketSystems(cfg, secrets, gh, 0, metrics.New())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := systems["kprod"].(*github.IssueTickets); !ok {
		t.Errorf("kprod: %T, want GitHub issues", systems["kprod"])
	}
	if _, ok := systems["kstage"]; ok {
		t.Error("kstage files tickets although its system is none")
	}
	if _, ok := systems["kjira"].(*jira.Client); !ok {
		t.Errorf("kjira: %T, want Jira", systems["kjira"])
	}
	if _, ok := systems["ksnow"].(*servicenow.Client); !ok {
		t.Errorf("ksnow: %T, want ServiceNow", systems["ksnow"])
	}

	for _, tc := range []struct {
		name    string
		secrets config.Secrets
		want    string
	}{
		{"no Jira token", config.Secrets{ServiceNowUsername: "bot", ServiceNowPassword: "snow-password"}, config.EnvJiraToken},
		{"no ServiceNow password", config.Secrets{JiraToken: "jira-token", ServiceNowUsername: "bot"}, config.EnvServiceNowPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ticketSystems(cfg, tc.secrets, gh, 0, metrics.New())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to name %s", err, tc.want)
			}
			for _, secret := range []string{"jira-token", "snow-password"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows a secret: %v", err)
				}
			}
		})
	}
}
