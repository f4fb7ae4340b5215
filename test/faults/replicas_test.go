package faults

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"github.com/migratebot/migratebot/internal/testkit"
	"github.com/migratebot/migratebot/sandbox"
)

// The recipe of test/replicas, for `migratebot serve` processes run
// against the sandbox's emulators: build the binary once, write a config
// pointing at the emulators, start a process and wait until it is ready.

// replica is one `migratebot serve` process.
type replica struct {
	name string
	url  string
	cmd  *exec.Cmd
	logs *testkit.Buffer
	done chan struct{}
}

// buildBinary builds cmd/migratebot for the test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "migratebot")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/migratebot/migratebot/cmd/migratebot").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serveConfig is config/sandbox.yaml pointed at the sandbox's emulators
// (Slack at slackURL, which may be a proxy in front of the emulator),
// without health summaries (no pipeline applies DNS here), with the
// shortest claim timeout the config allows, so a dead replica's job is
// taken over within seconds.
func serveConfig(t *testing.T, sb *sandbox.Sandbox, listen, slackURL string) string {
	t.Helper()
	raw, err := os.ReadFile("../../config/sandbox.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["listen"] = listen
	cfg["workers"] = 2
	cfg["github"].(map[string]any)["api_url"] = sb.GitHub().URL()
	cfg["slack"].(map[string]any)["api_url"] = slackURL
	cfg["aws"].(map[string]any)["endpoint"] = sb.AWS().URL()
	cfg["redis"] = map[string]any{"claim_after": claimAfter.String()}
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

// claimAfter is redis.claim_after for the replicas: the least the config
// accepts.
const claimAfter = 10 * time.Second

func startReplica(t *testing.T, bin, name string, sb *sandbox.Sandbox, slackURL, redisAddr string) *replica {
	t.Helper()
	listen := freeAddr(t)
	secrets := sb.Secrets()
	r := &replica{name: name, url: "http://" + listen, logs: &testkit.Buffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(bin, "serve", "--config", serveConfig(t, sb, listen, slackURL))
	r.cmd.Env = []string{
		"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
		"REDIS_URL=redis://" + redisAddr,
		"MIGRATEBOT_GITHUB_PRIVATE_KEY=" + string(secrets.GitHubPrivateKey),
		"MIGRATEBOT_GITHUB_WEBHOOK_SECRET=" + secrets.GitHubWebhookSecret,
		"MIGRATEBOT_SLACK_BOT_TOKEN=" + secrets.SlackBotToken,
		"MIGRATEBOT_SLACK_SIGNING_SECRET=" + secrets.SlackSigningSecret,
		"AWS_ACCESS_KEY_ID=AKIASANDBOX", "AWS_SECRET_ACCESS_KEY=sandbox-aws-secret", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		// Killed, not stopped: nothing is left to drain, and a graceful
		// stop costs each replica a second. It fails when already dead.
		_ = r.kill()
		if t.Failed() {
			t.Logf("logs of %s:\n%s", r.name, r.logs)
		}
	})
	testkit.WaitFor(t, 20*time.Second, name+" ready", func() bool {
		resp, err := http.Get(r.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return r
}

// kill SIGKILLs the replica and waits until it is gone.
func (r *replica) kill() error {
	if err := r.cmd.Process.Kill(); err != nil {
		return err
	}
	<-r.done
	return nil
}

// holder returns the replica whose worker holds a job read and not
// acknowledged: the queue's consumers are named "<host>-<pid>-<worker>".
func holder(ctx context.Context, rdb *goredis.Client, rs []*replica) (*replica, error) {
	pending, err := rdb.XPendingExt(ctx, &goredis.XPendingExtArgs{Stream: "mb:{queue}:jobs", Group: "workers", Start: "-", End: "+", Count: 100}).Result()
	if err != nil {
		return nil, err
	}
	for _, p := range pending {
		for _, r := range rs {
			if strings.Contains(p.Consumer, fmt.Sprintf("-%d-", r.cmd.Process.Pid)) {
				return r, nil
			}
		}
	}
	return nil, fmt.Errorf("no replica holds a job (pending: %+v)", pending)
}
