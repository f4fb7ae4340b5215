// Package replicas runs the real migratebot binary as three `serve`
// processes on one real redis-server, against the sandbox's emulators, and
// shows that commands and webhooks sent to any of them, with duplicates and
// a replica killed mid-way, have every effect exactly once.
package replicas

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/redisstore"
	"github.com/migratebot/migratebot/internal/redistest"
	"github.com/migratebot/migratebot/internal/testkit"
	"github.com/migratebot/migratebot/sandbox"
)

func TestMain(m *testing.M) { redistest.Main(m) }

const envRepo = "acme/envs-config"

// replica is one `migratebot serve` process.
type replica struct {
	name string
	url  string
	cmd  *exec.Cmd
	logs *testkit.Buffer
	done chan struct{}
}

// buildBinary builds cmd/migratebot once for the test.
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

// serveConfig is config/sandbox.yaml pointed at the sandbox's emulators,
// without health summaries (no pipeline applies DNS here), with a short
// claim timeout so the test sees a dead replica's jobs taken over.
func serveConfig(t *testing.T, sb *sandbox.Sandbox, listen string) string {
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
	cfg["slack"].(map[string]any)["api_url"] = sb.Slack().APIURL()
	cfg["aws"].(map[string]any)["endpoint"] = sb.AWS().URL()
	cfg["redis"] = map[string]any{"claim_after": "10s"}
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

func startReplica(t *testing.T, bin, name string, sb *sandbox.Sandbox, redisAddr string) *replica {
	t.Helper()
	listen := freeAddr(t)
	secrets := sb.Secrets()
	r := &replica{name: name, url: "http://" + listen, logs: &testkit.Buffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(bin, "serve", "--config", serveConfig(t, sb, listen))
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
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			_ = r.cmd.Process.Kill()
		}
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

// TestThreeReplicasEveryEffectOnce: commands and webhooks, with duplicates,
// spread over three replicas; one replica SIGKILLed while it holds jobs;
// every effect happens once and no job is lost.
func TestThreeReplicasEveryEffectOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx := context.Background()
	redisAddr := redistest.Shared().Addr
	rdb := goredis.NewClient(&goredis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.FlushAll(ctx).Err(); err != nil { // serve's keys have no per-test prefix
		t.Fatal(err)
	}
	store := redisstore.New(rdb, "mb") // serve's key prefix
	sb, err := sandbox.New(ctx, sandbox.Options{RedisURL: "redis://" + redisAddr, KeyPrefix: "emulators-only"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	bin := buildBinary(t)
	rs := []*replica{
		startReplica(t, bin, "r0", sb, redisAddr),
		startReplica(t, bin, "r1", sb, redisAddr),
		startReplica(t, bin, "r2", sb, redisAddr),
	}
	gh, slack := sb.GitHub(), sb.Slack()
	alice := sb.UserID("alice")

	command := func(r *replica, text string) {
		t.Helper()
		slack.SetBotURLs(r.url+"/slack/commands", r.url+"/slack/interactions")
		resp, err := slack.SlashCommand(alice, "C0MIGRATE", "/migrate", text)
		if err != nil || resp.Status != http.StatusOK {
			t.Fatalf("%s to %s: %v %+v", text, r.name, err, resp)
		}
	}
	load := func(env, service string) *bot.Migration {
		m, err := store.Load(ctx, bot.ServiceKey{Env: env, Service: service})
		if err != nil {
			return nil
		}
		return m
	}
	hooksTo := func(r *replica) { gh.SetWebhookURL(r.url + "/github/webhooks") }

	// Starts, one of them sent twice to two replicas at once.
	var wg sync.WaitGroup
	for _, r := range rs[:2] {
		wg.Go(func() { command(r, "start search") })
	}
	wg.Wait()
	command(rs[2], "start catalog")
	testkit.WaitFor(t, 20*time.Second, "search and catalog started", func() bool {
		s, c := load("kprod", "search"), load("kdev", "catalog")
		return s != nil && s.Thread.TS != "" && c != nil && c.Thread.TS != ""
	})

	// The same next, to two replicas at once: one PR.
	for _, r := range rs[:2] {
		wg.Go(func() { command(r, "next search") })
	}
	wg.Wait()
	command(rs[2], "next catalog")
	testkit.WaitFor(t, 20*time.Second, "the weights-10 PRs", func() bool {
		s, c := load("kprod", "search"), load("kdev", "catalog")
		return s != nil && s.Open != nil && s.Open.State == bot.ChangeOpen && c != nil && c.Open != nil && c.Open.State == bot.ChangeOpen
	})
	searchPR, catalogPR := load("kprod", "search").Open.Number, load("kdev", "catalog").Open.Number

	// Webhooks, each redelivered to another replica.
	hooksTo(rs[1])
	if err := gh.Review(envRepo, searchPR, "carol", "APPROVED", ""); err != nil {
		t.Fatal(err)
	}
	hooksTo(rs[2])
	if err := gh.Redeliver(); err != nil {
		t.Fatal(err)
	}
	if err := gh.Merge(envRepo, searchPR, "bob"); err != nil {
		t.Fatal(err)
	}
	hooksTo(rs[0])
	if err := gh.Redeliver(); err != nil {
		t.Fatal(err)
	}
	if err := gh.Merge(envRepo, catalogPR, "bob"); err != nil {
		t.Fatal(err)
	}
	hooksTo(rs[1])
	if err := gh.Redeliver(); err != nil {
		t.Fatal(err)
	}
	for _, d := range gh.Deliveries() {
		if d.Redelivery && d.Status != http.StatusOK {
			t.Errorf("a redelivery of %s %s was answered %d, want 200 (a duplicate)", d.Event, d.Action, d.Status)
		}
	}

	// Slow GitHub down, give r2 a burst, and SIGKILL it while it holds
	// jobs it has read and not finished.
	gh.SetLatency(150 * time.Millisecond)
	for _, text := range []string{"start web-api", "start billing", "status search", "plan search", "status catalog", "list"} {
		command(rs[2], text)
	}
	stream := "mb:{queue}:jobs"
	killedHolding := false
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !killedHolding {
		pending, err := rdb.XPendingExt(ctx, &goredis.XPendingExtArgs{Stream: stream, Group: "workers", Start: "-", End: "+", Count: 100}).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pending {
			if strings.Contains(p.Consumer, fmt.Sprintf("-%d-", rs[2].cmd.Process.Pid)) {
				killedHolding = true
			}
		}
		if !killedHolding {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := rs[2].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-rs[2].done
	if !killedHolding {
		t.Log("r2 took none of the burst before the kill: the takeover path is not exercised this run")
	}
	gh.SetLatency(0)
	hooksTo(rs[0])

	testkit.WaitFor(t, 60*time.Second, "web-api and billing started and every job done", func() bool {
		w, b := load("kprod", "web-api"), load("kprod", "billing")
		if w == nil || w.Thread.TS == "" || b == nil || b.Thread.TS == "" {
			return false
		}
		n, err := rdb.XLen(ctx, stream).Result()
		return err == nil && n == 0
	})
	if pending, err := rdb.XPending(ctx, stream, "workers").Result(); err != nil || pending.Count != 0 {
		t.Errorf("jobs left pending: %+v %v", pending, err)
	}
	if killedHolding {
		took := rs[0].logs.String() + rs[1].logs.String()
		if !strings.Contains(took, "took over a job a stopped replica had started") {
			t.Error("r2 was killed holding a job, but no replica says it took one over")
		}
	}

	// Every effect once.
	prs := gh.PRs(envRepo)
	heads := map[string]int{}
	for _, pr := range prs {
		heads[pr.Head]++
	}
	if len(prs) != 2 || heads["migratebot/search/weights-10"] != 1 || heads["migratebot/catalog/weights-10"] != 1 {
		t.Errorf("PRs by branch: %v, want one weights-10 PR each for search and catalog", heads)
	}
	if n := len(gh.Issues("acme/change-requests")); n != 2 {
		t.Errorf("%d tickets, want one per PR (2)", n)
	}
	plans := map[string]int{}
	for _, m := range slack.Messages() {
		if m.ThreadTS == "" && !m.Ephemeral && strings.HasPrefix(m.Text, "*Migration of `") {
			svc := strings.TrimPrefix(m.Text, "*Migration of `")
			plans[svc[:strings.Index(svc, "`")]]++
		}
	}
	for _, svc := range []string{"search", "catalog", "web-api", "billing"} {
		if plans[svc] != 1 {
			t.Errorf("%d plan messages for %s, want 1 (all: %v)", plans[svc], svc, plans)
		}
	}
	s, c := load("kprod", "search"), load("kdev", "catalog")
	if s.Weights != (bot.Weights{Old: 90, New: 10}) || len(s.History) != 1 || c.Weights != (bot.Weights{Old: 90, New: 10}) || len(c.History) != 1 {
		t.Errorf("after the merges: search %s (%d changes), catalog %s (%d changes)", s.Weights, len(s.History), c.Weights, len(c.History))
	}
	if r := s.History[0].Reviews["carol"]; r.State != "approved" {
		t.Errorf("carol's review on search: %+v", r)
	}
	var notes int
	for _, is := range gh.Issues("acme/change-requests") {
		for _, cm := range is.Comments {
			notes += strings.Count(cm.Body, "Approved by carol")
		}
	}
	if notes != 1 {
		t.Errorf("carol's approval is noted %d times on the tickets, want once", notes)
	}
}

// TestSIGTERMDrains: a replica told to stop while it runs a job stops
// taking requests, finishes the job, acknowledges it, and exits cleanly.
func TestSIGTERMDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx := context.Background()
	redisAddr := redistest.Shared().Addr
	rdb := goredis.NewClient(&goredis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.FlushAll(ctx).Err(); err != nil { // serve's keys have no per-test prefix
		t.Fatal(err)
	}
	sb, err := sandbox.New(ctx, sandbox.Options{RedisURL: "redis://" + redisAddr, KeyPrefix: "emulators-only"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	r := startReplica(t, buildBinary(t), "r0", sb, redisAddr)
	sb.GitHub().SetLatency(300 * time.Millisecond) // the start takes a few seconds
	sb.Slack().SetBotURLs(r.url+"/slack/commands", r.url+"/slack/interactions")
	if resp, err := sb.Slack().SlashCommand(sb.UserID("alice"), "C0MIGRATE", "/migrate", "start search"); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("%+v %v", resp, err)
	}
	stream := "mb:{queue}:jobs"
	testkit.WaitFor(t, 10*time.Second, "the job in hand", func() bool {
		p, err := rdb.XPending(ctx, stream, "workers").Result()
		return err == nil && p.Count == 1
	})
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the replica did not exit after SIGTERM")
	}
	if code := r.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0:\n%s", code, r.logs)
	}
	m, err := redisstore.New(rdb, "mb").Load(ctx, bot.ServiceKey{Env: "kprod", Service: "search"})
	if err != nil || m.Thread.TS == "" {
		t.Errorf("the job in hand was not finished: %+v %v", m, err)
	}
	if p, err := rdb.XPending(ctx, stream, "workers").Result(); err != nil || p.Count != 0 {
		t.Errorf("left unacknowledged: %+v %v", p, err)
	}
}
