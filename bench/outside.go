package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/sandbox"
)

// Outside is where a benchmarked bot finds the systems it talks to: the
// sandbox's emulators of GitHub, Slack and AWS and its health-URL targets,
// and the secrets they trust. The bench runs them in a process of their own
// (`mbbench emulators`), so that answering the bot's calls does not take
// CPU from the load generator.
type Outside struct {
	GitHubURL, SlackAPIURL, AWSURL, TargetsURL string
	GitHubPrivateKey                           string
	WebhookSecret, SlackBotToken               string
	SlackSigningSecret                         string
}

// RunEmulators starts the sandbox (its emulators, an embedded Redis for its
// own bot, which the bench does not use), writes where they are to outPath
// as JSON, and serves until ctx is done.
func RunEmulators(ctx context.Context, outPath string) error {
	sb, err := sandbox.New(ctx, sandbox.Options{KeyPrefix: "emulators-only"})
	if err != nil {
		return err
	}
	defer sb.Close()
	sec := sb.Secrets()
	o := Outside{
		GitHubURL: sb.GitHub().URL(), SlackAPIURL: sb.Slack().APIURL(), AWSURL: sb.AWS().URL(),
		TargetsURL:       sb.TargetsURL(),
		GitHubPrivateKey: string(sec.GitHubPrivateKey), WebhookSecret: sec.GitHubWebhookSecret,
		SlackBotToken: sec.SlackBotToken, SlackSigningSecret: sec.SlackSigningSecret,
	}
	data, err := json.Marshal(o)
	if err != nil {
		return err
	}
	tmp := outPath + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, outPath); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// ReadOutside waits up to limit for RunEmulators's file and reads it.
func ReadOutside(ctx context.Context, path string, limit time.Duration) (Outside, error) {
	var o Outside
	err := waitUntil(ctx, limit, func() (bool, error) {
		data, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return true, json.Unmarshal(data, &o)
	})
	if err != nil {
		return o, fmt.Errorf("emulators: %w", err)
	}
	return o, nil
}

// ServeConfig writes, in dir, config/sandbox.yaml pointed at the emulators
// and listening on listen, with workers workers, as test/replicas does: no
// health summaries (no deploy pipeline applies DNS here), the services'
// health URLs at the targets server. It returns the file's path.
func ServeConfig(o Outside, dir, listen string, workers int) (string, error) {
	var cfg map[string]any
	if err := yaml.Unmarshal(config.SandboxYAML, &cfg); err != nil {
		return "", err
	}
	cfg["listen"] = listen
	cfg["workers"] = workers
	cfg["github"].(map[string]any)["api_url"] = o.GitHubURL
	cfg["slack"].(map[string]any)["api_url"] = o.SlackAPIURL
	cfg["aws"].(map[string]any)["endpoint"] = o.AWSURL
	for _, env := range cfg["environments"].(map[string]any) {
		delete(env.(map[string]any), "health")
	}
	for _, svc := range cfg["services"].(map[string]any) {
		svc.(map[string]any)["new"].(map[string]any)["health_url"] = o.TargetsURL + "/healthz"
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	if _, err := config.Parse(out); err != nil {
		return "", fmt.Errorf("bench config: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("config-%d.yaml", time.Now().UnixNano()))
	return path, os.WriteFile(path, out, 0o600)
}

// ServeEnv is the environment of a `migratebot serve` (or `mbbench
// intake`) process: its secrets, Redis, and AWS's static test credentials.
func ServeEnv(o Outside, redisURL, home string) []string {
	return []string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"REDIS_URL=" + redisURL,
		"MIGRATEBOT_GITHUB_PRIVATE_KEY=" + o.GitHubPrivateKey,
		"MIGRATEBOT_GITHUB_WEBHOOK_SECRET=" + o.WebhookSecret,
		"MIGRATEBOT_SLACK_BOT_TOKEN=" + o.SlackBotToken,
		"MIGRATEBOT_SLACK_SIGNING_SECRET=" + o.SlackSigningSecret,
		"AWS_ACCESS_KEY_ID=AKIASANDBOX", "AWS_SECRET_ACCESS_KEY=sandbox-aws-secret", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}
