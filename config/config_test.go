package config

import (
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
  kprod: {env_config_repo: acme/envs}
services:
  web-api:
    environment: kprod
    mode: proxy
    weights: {path: dns/web-api.yaml, old_source: a, new_source: b}
`))
	if err != nil {
		t.Fatal(err)
	}
	env := cfg.Environments["kprod"]
	if env.BaseBranch != "main" || time.Duration(env.Soak) != 30*time.Minute || env.StepLimit != 25 || env.Tickets.System != "github" {
		t.Errorf("environment defaults: %+v", env)
	}
	svc := cfg.Services["web-api"]
	if svc.Playbook != "default" || svc.Weights.Format != "yaml" {
		t.Errorf("service defaults: %+v", svc)
	}
	if got := cfg.Playbooks["default"].Weights; len(got) != 5 || got[0] != 10 || got[4] != 100 {
		t.Errorf("default playbook: %v", got)
	}
	if cfg.GitHub.APIURL != "https://api.github.com/" || cfg.Listen != ":8080" || cfg.Workers != 4 {
		t.Errorf("top-level defaults: %+v", cfg)
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
github: {api_url: "ftp://x"}
playbooks:
  odd: {weights: [10, 5, 90]}
environments:
  kprod:
    env_config_repo: not-a-repo
    step_limit: 300
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
		"workers:", "github.app_id:", "github.api_url:",
		"playbooks.odd.weights: must rise", "playbooks.odd.weights: must end at 100",
		"environments.kprod.env_config_repo:", "environments.kprod.step_limit:", "environments.kprod.tickets.system:",
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
	s, err := LoadSecrets(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if string(s.GitHubPrivateKey) != "PEM" || s.GitHubWebhookSecret != "whsec" || s.SlackBotToken != "xoxb-1" || s.SlackSigningSecret != "sign" {
		t.Errorf("secrets: %+v", s)
	}
}

func TestMissingSecretsNamedNotShown(t *testing.T) {
	env := map[string]string{EnvSlackBotToken: "xoxb-very-secret"}
	_, err := LoadSecrets(func(k string) string { return env[k] })
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
