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
	// Ticket systems, needed only by environments that use them.
	JiraEmail, JiraToken                   string
	ServiceNowUsername, ServiceNowPassword string
	// PrometheusToken is a bearer token for environments measuring with a
	// Prometheus behind authentication.
	PrometheusToken string
	// RedisPassword, when set, authenticates to Redis (Sentinel, Cluster,
	// or a server whose URL carries none).
	RedisPassword string
	// SlackAppToken (xapp-…) opens Socket Mode connections.
	SlackAppToken string
}

// The environment variables secrets are read from.
const (
	EnvGitHubPrivateKey    = "MIGRATEBOT_GITHUB_PRIVATE_KEY"
	EnvGitHubWebhookSecret = "MIGRATEBOT_GITHUB_WEBHOOK_SECRET"
	EnvSlackBotToken       = "MIGRATEBOT_SLACK_BOT_TOKEN"
	EnvSlackSigningSecret  = "MIGRATEBOT_SLACK_SIGNING_SECRET"
	EnvJiraEmail           = "MIGRATEBOT_JIRA_EMAIL"
	EnvJiraToken           = "MIGRATEBOT_JIRA_TOKEN"
	EnvServiceNowUsername  = "MIGRATEBOT_SERVICENOW_USERNAME"
	EnvServiceNowPassword  = "MIGRATEBOT_SERVICENOW_PASSWORD"
	EnvPrometheusToken     = "MIGRATEBOT_PROMETHEUS_TOKEN"
	EnvRedisPassword       = "MIGRATEBOT_REDIS_PASSWORD"
	EnvSlackAppToken       = "MIGRATEBOT_SLACK_APP_TOKEN"
)

// LoadSecrets reads every secret through getenv (os.Getenv in production),
// reporting every missing one at once by variable name, never by value.
// slackMode (the config's slack.mode) says which Slack secret is needed:
// the signing secret over HTTP, the app-level token in Socket Mode.
func LoadSecrets(getenv func(string) string, slackMode string) (Secrets, error) {
	var errs []error
	optional := func(name string) string {
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
		return ""
	}
	read := func(name string) string {
		failed := len(errs)
		v := optional(name)
		switch {
		case v != "" || len(errs) > failed: // set, or its file's error is said
		case getenv(name+"_FILE") != "":
			// An empty secret is no secret: an empty webhook secret would
			// let unsigned webhooks in.
			errs = append(errs, fmt.Errorf("%s_FILE names an empty file", name))
		default:
			errs = append(errs, fmt.Errorf("%s (or %s_FILE) is not set", name, name))
		}
		return v
	}
	s := Secrets{
		GitHubPrivateKey:    []byte(read(EnvGitHubPrivateKey)),
		GitHubWebhookSecret: read(EnvGitHubWebhookSecret),
		SlackBotToken:       read(EnvSlackBotToken),
		SlackSigningSecret:  optional(EnvSlackSigningSecret),
		JiraEmail:           optional(EnvJiraEmail),
		JiraToken:           optional(EnvJiraToken),
		ServiceNowUsername:  optional(EnvServiceNowUsername),
		ServiceNowPassword:  optional(EnvServiceNowPassword),
		PrometheusToken:     optional(EnvPrometheusToken),
		RedisPassword:       optional(EnvRedisPassword),
		SlackAppToken:       optional(EnvSlackAppToken),
	}
	if slackMode == SlackModeSocket {
		s.SlackAppToken = read(EnvSlackAppToken)
	} else {
		s.SlackSigningSecret = read(EnvSlackSigningSecret)
	}
	return s, errors.Join(errs...)
}
