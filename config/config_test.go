package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSandboxAndExampleConfigsAreValid(t *testing.T) {
	if _, err := Parse(SandboxYAML); err != nil {
		t.Fatalf("sandbox.yaml: %v", err)
	}
	if _, err := Load("example.yaml"); err != nil {
		t.Fatalf("example.yaml: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`
github: {app_id: 1}
environments:
  kprod: {env_config_repo: acme/envs, proxy_repo: acme/proxy}
services:
  web-api:
    environment: kprod
    mode: proxy
    dns: {name: web-api.acme.example, entry: web-api-cutover.acme.example}
    old: {target: old.elb.example.com}
    new: {target: new.k8s.example.com}
    proxy: {path: nginx/web-api.conf, format: nginx, key: web_api}
    weights: {path: dns/web-api.yaml, old_source: a, new_source: b}
`))
	if err != nil {
		t.Fatal(err)
	}
	env := cfg.Environments["kprod"]
	if env.BaseBranch != "main" || time.Duration(env.Soak) != 30*time.Minute || env.StepLimit != 25 || env.Tickets.System != "github" || env.Tickets.Repo != "acme/envs" || env.AutoMerge {
		t.Errorf("environment defaults: %+v", env)
	}
	svc := cfg.Services["web-api"]
	if svc.Playbook != "default" || svc.Weights.Format != "yaml" || svc.DNS.TTL != 60 || svc.Proxy.Repo != "acme/proxy" {
		t.Errorf("service defaults: %+v", svc)
	}
	steps := cfg.Playbooks["default"].Steps
	kinds := make([]string, len(steps))
	for i, s := range steps {
		kinds[i] = s.Kind
	}
	if strings.Join(kinds, ",") != "preflight,dns-source,point-traffic,manual,weights,decommission" || steps[5].Soak != Duration(14*24*time.Hour) || !steps[5].Irreversible {
		t.Errorf("default playbook: %+v", steps)
	}
	if cfg.GitHub.APIURL != "https://api.github.com/" || cfg.Listen != ":8080" || cfg.Workers != 4 || cfg.MaxInFlight != 256 {
		t.Errorf("top-level defaults: %+v", cfg)
	}
}

// TestTicketsAndApproversProblems: the change-control settings are checked
// like the rest, every problem named at once.
func TestTicketsAndApproversProblems(t *testing.T) {
	base := `
github: {app_id: 1}
environments:
  kprod:
    env_config_repo: acme/envs
    %s
services:
  search:
    environment: kprod
    mode: proxy
    playbook: weights-only
    dns: {name: search.acme.example, entry: search.acme.example}
    old: {target: old.elb.example.com}
    new: {target: new.k8s.example.com}
    weights: {path: dns/search.yaml, old_source: a, new_source: b}
playbooks:
  weights-only: {steps: [preflight, {weights: [50, 100]}]}
`
	for _, tc := range []struct{ name, env, want string }{
		{"jira without a project", "tickets: {system: jira, jira: {url: https://jira.example, issue_type: Change}}", "environments.kprod.tickets.jira: needs url, project and issue_type"},
		{"jira transition to nowhere", "tickets: {system: jira, jira: {url: https://jira.example, project: CHG, issue_type: Change, transitions: {merged: Done}}}", `environments.kprod.tickets.jira.transitions: "merged" is not approved`},
		{"servicenow without a url", "tickets: {system: servicenow, servicenow: {assignment_group: x}}", "environments.kprod.tickets.servicenow: needs url"},
		{"servicenow state to nowhere", "tickets: {system: servicenow, servicenow: {url: https://sn.example, states: {done: '3'}}}", `environments.kprod.tickets.servicenow.states: "done" is not open`},
		{"slack group that is a user", "people: {slack_approver_group: U0CAROL}", `environments.kprod.people.slack_approver_group: "U0CAROL" is not a Slack user group id`},
		{"team with spaces", "people: {github_teams: [change approvers]}", `environments.kprod.people.github_teams: "change approvers" is not a team slug`},
		{"login with a slash", "people: {github_approvers: [acme/carol]}", `environments.kprod.people.github_approvers: "acme/carol" is not a GitHub login`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(fmt.Sprintf(base, tc.env)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
	for _, env := range []string{
		"tickets: {system: none}",
		"tickets: {system: jira, jira: {url: https://jira.example, project: CHG, issue_type: Change, transitions: {approved: Approve}, statuses: {approved: Approved}}}",
		"people: {slack_approver_group: S0APPROVERS, github_teams: [change-approvers, acme/network], github_approvers: [carol]}\n    auto_merge: true",
	} {
		if _, err := Parse([]byte(fmt.Sprintf(base, env))); err != nil {
			t.Errorf("%s: %v", env, err)
		}
	}
}

func TestUnknownKeysAreErrors(t *testing.T) {
	_, err := Parse([]byte("github: {app_id: 1, private_key: oops}\n"))
	if err == nil || !strings.Contains(err.Error(), "private_key") {
		t.Fatalf("a secret-looking unknown key was accepted: %v", err)
	}
}

// TestEveryProblemAtOnce: validation names each bad field, all in one error.
func TestEveryProblemAtOnce(t *testing.T) {
	_, err := Parse([]byte(`
workers: -1
max_in_flight: -5
github: {api_url: "ftp://x"}
playbooks:
  odd:
    steps: [{weights: [10, 5, 90]}, dns-source, teleport]
environments:
  kprod:
    env_config_repo: not-a-repo
    step_limit: 300
    timezone: Mars/Olympus
    change_windows: [{days: [funday], start: "17:00", end: "09:00"}]
    tickets: {system: email}
    soak: 1h
    people: {engineers: [alice]}
services:
  Web API:
    environment: nowhere
    playbook: missing
    mode: teleport
    weights: {path: /etc/passwd, format: json, old_source: x, new_source: x}
`))
	if err == nil {
		t.Fatal("a config full of problems was accepted")
	}
	for _, want := range []string{
		"workers:", "max_in_flight: must be between 1 and 100000, not -5", "github.app_id:", "github.api_url:",
		"playbooks.odd.steps[0].weights: must rise", "playbooks.odd.steps[0].weights: must end at 100",
		"playbooks.odd.steps[1]: dns-source must come before the weights", `playbooks.odd.steps[2]: "teleport" is not a step`,
		"environments.kprod.env_config_repo:", "environments.kprod.timezone:", `environments.kprod.change_windows[0].days: "funday"`, "environments.kprod.change_windows[0].end: must be after start", "environments.kprod.step_limit:", "environments.kprod.tickets.system:",
		`environments.kprod.people.engineers: "alice" is not a Slack user id`,
		`services.Web API: "Web API" is not a service name`, "services.Web API.environment:", "services.Web API.playbook:",
		"services.Web API.mode:", "services.Web API.weights.path:", "services.Web API.weights.format:", "services.Web API.weights.new_source: must differ",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestBadDuration(t *testing.T) {
	_, err := Parse([]byte("environments:\n  kprod: {soak: soon}\n"))
	if err == nil || !strings.Contains(err.Error(), `"soon" is not a duration`) {
		t.Fatalf("got %v", err)
	}
}

func TestSecretsFromEnvironmentAndFiles(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, []byte("PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		EnvGitHubPrivateKey + "_FILE": keyFile,
		EnvGitHubWebhookSecret:        "whsec",
		EnvSlackBotToken:              "xoxb-1",
		EnvSlackSigningSecret:         "sign",
	}
	s, err := LoadSecrets(func(k string) string { return env[k] }, SlackModeHTTP)
	if err != nil {
		t.Fatal(err)
	}
	if string(s.GitHubPrivateKey) != "PEM" || s.GitHubWebhookSecret != "whsec" || s.SlackBotToken != "xoxb-1" || s.SlackSigningSecret != "sign" {
		t.Errorf("secrets: %+v", s)
	}
}

func TestMissingSecretsNamedNotShown(t *testing.T) {
	env := map[string]string{EnvSlackBotToken: "xoxb-very-secret"}
	_, err := LoadSecrets(func(k string) string { return env[k] }, SlackModeHTTP)
	if err == nil {
		t.Fatal("missing secrets accepted")
	}
	for _, want := range []string{EnvGitHubPrivateKey, EnvGitHubWebhookSecret, EnvSlackSigningSecret} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "xoxb-very-secret") {
		t.Error("the error shows a secret's value")
	}
}

func TestChangeWindows(t *testing.T) {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	w := []ChangeWindow{{Days: []string{"mon", "tue"}, Start: "09:00", End: "17:00"}}
	tests := []struct {
		name string
		at   string // UTC
		open bool
		next string
	}{
		{"monday morning, summer time", "2026-06-01T08:30:00Z", true, "2026-06-01T08:30:00Z"},
		{"monday before nine local", "2026-06-01T07:59:00Z", false, "2026-06-01T08:00:00Z"},
		{"tuesday at five local is closed", "2026-06-02T16:00:00Z", false, "2026-06-08T08:00:00Z"},
		{"saturday", "2026-06-06T10:00:00Z", false, "2026-06-08T08:00:00Z"},
		{"winter monday noon", "2026-01-05T12:00:00Z", true, "2026-01-05T12:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, _ := time.Parse(time.RFC3339, tc.at)
			if got := w[0].Contains(at, loc); got != tc.open {
				t.Errorf("Contains = %v", got)
			}
			next, ok := NextOpen(w, at, loc)
			if want, _ := time.Parse(time.RFC3339, tc.next); !ok || !next.Equal(want) {
				t.Errorf("NextOpen = %v, want %v", next.UTC(), want)
			}
		})
	}
}

// TestSocketModeNeedsTheAppToken: in Socket Mode the app-level token is
// required and the signing secret is not.
func TestSocketModeNeedsTheAppToken(t *testing.T) {
	env := map[string]string{EnvGitHubPrivateKey: "PEM", EnvGitHubWebhookSecret: "whsec", EnvSlackBotToken: "xoxb-1"}
	_, err := LoadSecrets(func(k string) string { return env[k] }, SlackModeSocket)
	if err == nil || !strings.Contains(err.Error(), EnvSlackAppToken) || strings.Contains(err.Error(), EnvSlackSigningSecret) {
		t.Fatalf("error = %v, want only the app token named", err)
	}
	env[EnvSlackAppToken] = "xapp-1"
	s, err := LoadSecrets(func(k string) string { return env[k] }, SlackModeSocket)
	if err != nil || s.SlackAppToken != "xapp-1" {
		t.Fatalf("%+v %v", s.SlackAppToken, err)
	}
}
