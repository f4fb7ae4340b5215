// Package serveproc runs the real migratebot binary as `serve` processes
// against a sandbox's emulators, for tests of what only processes show:
// several replicas, a replica killed or stopped.
package serveproc

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/internal/testkit"
	"github.com/migratebot/migratebot/sandbox"
)

// ClaimAfter is redis.claim_after for the replicas: the least the config
// accepts, so a dead replica's job is taken over within seconds.
const ClaimAfter = 10 * time.Second

// Replica is one `migratebot serve` process.
type Replica struct {
	Name string
	URL  string
	Cmd  *exec.Cmd
	Logs *testkit.Buffer
	// Done is closed when the process has exited.
	Done chan struct{}
}

// Build builds cmd/migratebot for the test and returns the binary's path.
func Build(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "migratebot")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/migratebot/migratebot/cmd/migratebot").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Start runs `serve` from bin against sb's emulators (Slack at slackURL,
// which may be a proxy in front of the emulator; "" for the emulator) and
// the redis-server at redisAddr, and waits until it is ready. The process is
// killed when the test ends.
func Start(t testing.TB, bin, name string, sb *sandbox.Sandbox, slackURL, redisAddr string) *Replica {
	t.Helper()
	if slackURL == "" {
		slackURL = sb.Slack().APIURL()
	}
	listen := freeAddr(t)
	secrets := sb.Secrets()
	r := &Replica{Name: name, URL: "http://" + listen, Logs: &testkit.Buffer{}, Done: make(chan struct{})}
	r.Cmd = exec.Command(bin, "serve", "--config", writeConfig(t, sb, listen, slackURL))
	r.Cmd.Env = []string{
		"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
		"REDIS_URL=redis://" + redisAddr,
		"MIGRATEBOT_GITHUB_PRIVATE_KEY=" + string(secrets.GitHubPrivateKey),
		"MIGRATEBOT_GITHUB_WEBHOOK_SECRET=" + secrets.GitHubWebhookSecret,
		"MIGRATEBOT_SLACK_BOT_TOKEN=" + secrets.SlackBotToken,
		"MIGRATEBOT_SLACK_SIGNING_SECRET=" + secrets.SlackSigningSecret,
		"AWS_ACCESS_KEY_ID=AKIASANDBOX", "AWS_SECRET_ACCESS_KEY=sandbox-aws-secret", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
	r.Cmd.Stdout, r.Cmd.Stderr = r.Logs, r.Logs
	r.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.Cmd.Wait(); close(r.Done) }()
	t.Cleanup(func() {
		// Killed, not stopped: nothing is left to drain, and a graceful
		// stop costs each replica a second. It fails when already dead.
		_ = r.Kill()
		if t.Failed() {
			t.Logf("logs of %s:\n%s", r.Name, r.Logs)
		}
	})
	testkit.WaitFor(t, 20*time.Second, name+" ready", func() bool {
		resp, err := http.Get(r.URL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return r
}

// Kill SIGKILLs the replica and waits until it is gone.
func (r *Replica) Kill() error {
	if err := r.Cmd.Process.Kill(); err != nil {
		return err
	}
	<-r.Done
	return nil
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// writeConfig is the sandbox's config pointed at its emulators, without
// health summaries (no pipeline applies DNS here), with ClaimAfter.
func writeConfig(t testing.TB, sb *sandbox.Sandbox, listen, slackURL string) string {
	t.Helper()
	var cfg map[string]any
	if err := yaml.Unmarshal(config.SandboxYAML, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["listen"] = listen
	cfg["workers"] = 2
	cfg["github"].(map[string]any)["api_url"] = sb.GitHub().URL()
	cfg["slack"].(map[string]any)["api_url"] = slackURL
	cfg["aws"].(map[string]any)["endpoint"] = sb.AWS().URL()
	cfg["redis"] = map[string]any{"claim_after": ClaimAfter.String()}
	for _, env := range cfg["environments"].(map[string]any) {
		delete(env.(map[string]any), "health")
	}
	for _, svc := range cfg["services"].(map[string]any) {
		side := svc.(map[string]any)["new"].(map[string]any)
		side["health_url"] = sb.TargetsURL() + "/healthz"
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
