// Package replicas runs the real migratebot binary as three `serve`
// processes on one real redis-server, against the sandbox's emulators, and
// shows that commands and webhooks sent to any of them, with duplicates and
// a replica killed mid-way, have every effect exactly once.
package replicas

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/redisstore"
	"github.com/migratebot/migratebot/internal/redistest"
	"github.com/migratebot/migratebot/internal/serveproc"
	"github.com/migratebot/migratebot/internal/testkit"
	"github.com/migratebot/migratebot/sandbox"
)

func TestMain(m *testing.M) { redistest.Main(m) }

const envRepo = "acme/envs-config"

// TestThreeReplicasEveryEffectOnce: commands and webhooks, with duplicates,
// spread over three replicas; one replica SIGKILLed while it holds jobs;
// every effect happens once and no job is lost.
func TestThreeReplicasEveryEffectOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx := context.Background()
	rdb, redisAddr, sb := serveWorld(t)
	store := redisstore.New(rdb, "mb") // serve's key prefix
	bin := serveproc.Build(t)
	rs := []*serveproc.Replica{
		serveproc.Start(t, bin, "r0", sb, "", redisAddr),
		serveproc.Start(t, bin, "r1", sb, "", redisAddr),
		serveproc.Start(t, bin, "r2", sb, "", redisAddr),
	}
	gh, slack := sb.GitHub(), sb.Slack()
	alice := sb.UserID("alice")

	command := func(r *serveproc.Replica, text string) {
		t.Helper()
		slack.SetBotURLs(r.URL+"/slack/commands", r.URL+"/slack/interactions")
		resp, err := slack.SlashCommand(alice, "C0MIGRATE", "/migrate", text)
		if err != nil || resp.Status != http.StatusOK {
			t.Fatalf("%s to %s: %v %+v", text, r.Name, err, resp)
		}
	}
	load := func(env, service string) *bot.Migration {
		m, err := store.Load(ctx, bot.ServiceKey{Env: env, Service: service})
		if err != nil {
			return nil
		}
		return m
	}
	hooksTo := func(r *serveproc.Replica) { gh.SetWebhookURL(r.URL + "/github/webhooks") }

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
			if strings.Contains(p.Consumer, fmt.Sprintf("-%d-", rs[2].Cmd.Process.Pid)) {
				killedHolding = true
			}
		}
		if !killedHolding {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := rs[2].Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-rs[2].Done
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
		took := rs[0].Logs.String() + rs[1].Logs.String()
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
	rdb, redisAddr, sb := serveWorld(t)
	r := serveproc.Start(t, serveproc.Build(t), "r0", sb, "", redisAddr)
	sb.GitHub().SetLatency(300 * time.Millisecond) // the start takes a few seconds
	sb.Slack().SetBotURLs(r.URL+"/slack/commands", r.URL+"/slack/interactions")
	if resp, err := sb.Slack().SlashCommand(sb.UserID("alice"), "C0MIGRATE", "/migrate", "start search"); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("%+v %v", resp, err)
	}
	stream := "mb:{queue}:jobs"
	testkit.WaitFor(t, 10*time.Second, "the job in hand", func() bool {
		p, err := rdb.XPending(ctx, stream, "workers").Result()
		return err == nil && p.Count == 1
	})
	if err := r.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.Done:
	case <-time.After(30 * time.Second):
		t.Fatal("the replica did not exit after SIGTERM")
	}
	if code := r.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0:\n%s", code, r.Logs)
	}
	m, err := redisstore.New(rdb, "mb").Load(ctx, bot.ServiceKey{Env: "kprod", Service: "search"})
	if err != nil || m.Thread.TS == "" {
		t.Errorf("the job in hand was not finished: %+v %v", m, err)
	}
	if p, err := rdb.XPending(ctx, stream, "workers").Result(); err != nil || p.Count != 0 {
		t.Errorf("left unacknowledged: %+v %v", p, err)
	}
}

// serveWorld is the package's redis-server, emptied (serve's keys have no
// per-test prefix), with a client on it, and the sandbox's emulators for
// serve processes to talk to (the sandbox's own bot keeps its keys apart).
func serveWorld(t *testing.T) (rdb *goredis.Client, redisAddr string, sb *sandbox.Sandbox) {
	t.Helper()
	redisAddr = redistest.Shared().Addr
	rdb = goredis.NewClient(&goredis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.New(context.Background(), sandbox.Options{RedisURL: "redis://" + redisAddr, KeyPrefix: "emulators-only"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return rdb, redisAddr, sb
}
