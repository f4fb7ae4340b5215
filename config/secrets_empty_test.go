package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmptySecretFilesAreErrors: a required secret read from a file that
// is empty (a Kubernetes Secret with an empty key, a mount that failed) is
// an error at start, as an unset one is. An empty webhook secret used to
// pass, and go-github then takes unsigned webhooks: anyone could forge a
// merge or a PR-comment command.
func TestEmptySecretFilesAreErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	full := map[string]string{
		EnvGitHubPrivateKey:    "PEM",
		EnvGitHubWebhookSecret: "whsec",
		EnvSlackBotToken:       "xoxb-1",
		EnvSlackSigningSecret:  "sign",
		EnvSlackAppToken:       "xapp-1",
	}
	for _, tc := range []struct {
		name, mode string
	}{
		{EnvGitHubPrivateKey, SlackModeHTTP},
		{EnvGitHubWebhookSecret, SlackModeHTTP},
		{EnvSlackBotToken, SlackModeHTTP},
		{EnvSlackSigningSecret, SlackModeHTTP},
		{EnvSlackAppToken, SlackModeSocket},
	} {
		for _, content := range []string{"", "\n", "  \n\t"} {
			t.Run(tc.name+" "+strings.ReplaceAll(content, "\n", `\n`), func(t *testing.T) {
				env := map[string]string{}
				for k, v := range full {
					env[k] = v
				}
				delete(env, tc.name)
				env[tc.name+"_FILE"] = write(tc.name, content)
				s, err := LoadSecrets(func(k string) string { return env[k] }, tc.mode)
				if err == nil || !strings.Contains(err.Error(), tc.name+"_FILE names an empty file") {
					t.Fatalf("LoadSecrets = %+v, %v; want an error naming the empty %s_FILE", s, err, tc.name)
				}
				if strings.Count(err.Error(), "\n") != 0 {
					t.Errorf("want that one problem, got %v", err)
				}
			})
		}
	}
	t.Run("a file that cannot be read is said once", func(t *testing.T) {
		env := map[string]string{}
		for k, v := range full {
			env[k] = v
		}
		delete(env, EnvGitHubWebhookSecret)
		env[EnvGitHubWebhookSecret+"_FILE"] = filepath.Join(dir, "missing")
		_, err := LoadSecrets(func(k string) string { return env[k] }, SlackModeHTTP)
		if err == nil || strings.Count(err.Error(), EnvGitHubWebhookSecret) != 1 {
			t.Errorf("got %v, want one error about the webhook secret's file", err)
		}
	})
}
