package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Secrets are what the config file never holds. Each comes from an
// environment variable, or from the file named by the same variable with
// _FILE appended (the way Kubernetes and Docker mount secrets).
type Secrets struct {
	GitHubPrivateKey    []byte // PEM of the GitHub App's private key
	GitHubWebhookSecret string
	SlackBotToken       string
	SlackSigningSecret  string
}

// The environment variables secrets are read from.
const (
	EnvGitHubPrivateKey    = "MIGRATEBOT_GITHUB_PRIVATE_KEY"
	EnvGitHubWebhookSecret = "MIGRATEBOT_GITHUB_WEBHOOK_SECRET"
	EnvSlackBotToken       = "MIGRATEBOT_SLACK_BOT_TOKEN"
	EnvSlackSigningSecret  = "MIGRATEBOT_SLACK_SIGNING_SECRET"
)

// LoadSecrets reads every secret through getenv (os.Getenv in production),
// reporting every missing one at once by variable name, never by value.
func LoadSecrets(getenv func(string) string) (Secrets, error) {
	var errs []error
	read := func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		if path := getenv(name + "_FILE"); path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
				return ""
			}
			return strings.TrimSpace(string(b))
		}
		errs = append(errs, fmt.Errorf("%s (or %s_FILE) is not set", name, name))
		return ""
	}
	s := Secrets{
		GitHubPrivateKey:    []byte(read(EnvGitHubPrivateKey)),
		GitHubWebhookSecret: read(EnvGitHubWebhookSecret),
		SlackBotToken:       read(EnvSlackBotToken),
		SlackSigningSecret:  read(EnvSlackSigningSecret),
	}
	return s, errors.Join(errs...)
}
