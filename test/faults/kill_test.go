package faults

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/redisstore"
	"github.com/migratebot/migratebot/internal/redistest"
	"github.com/migratebot/migratebot/internal/serveproc"
	"github.com/migratebot/migratebot/internal/testkit"
	"github.com/migratebot/migratebot/sandbox"
	"github.com/migratebot/migratebot/test/githubemu"
)

// killWorld is two `migratebot serve` replicas on a redis-server of their
// own, against the sandbox's emulators, with Slack reached through a proxy
// that can stop the world at a chosen message.
type killWorld struct {
	t     *testing.T
	sb    *sandbox.Sandbox
	rdb   *goredis.Client
	store *redisstore.Store
	rs    []*serveproc.Replica
	// posted, when set, runs once, after Slack posted a message that
	// postMatch accepts (by its form) and before the answer goes back to
	// the bot.
	mu        sync.Mutex
	postMatch func(form url.Values) bool
	posted    func()
}

// killAfterPosting kills with kill once Slack has posted a message match
// accepts, before the bot hears back.
func (w *killWorld) killAfterPosting(match func(form url.Values) bool, kill func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.postMatch, w.posted = match, kill
}

func newKillWorld(t *testing.T, bin string) *killWorld {
	t.Helper()
	ctx := context.Background()
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	w := &killWorld{t: t}
	w.rdb = goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	t.Cleanup(func() { w.rdb.Close() })
	w.store = redisstore.New(w.rdb, "mb") // serve's key prefix
	// The sandbox's own bot only answers what is sent to it (nothing
	// here): its keys are apart from serve's.
	w.sb, err = sandbox.New(ctx, sandbox.Options{RedisURL: "redis://" + srv.Addr, KeyPrefix: "emulators-only"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.sb.Close)
	slackProxy := httptest.NewServer(w.slackFront())
	t.Cleanup(slackProxy.Close)
	for _, name := range []string{"r0", "r1"} {
		w.rs = append(w.rs, serveproc.Start(t, bin, name, w.sb, slackProxy.URL+"/", srv.Addr))
	}
	w.sb.Slack().SetBotURLs(w.rs[0].URL+"/slack/commands", w.rs[0].URL+"/slack/interactions")
	return w
}

// slackFront proxies the replicas' Slack calls to the emulator.
func (w *killWorld) slackFront() http.Handler {
	emu, err := url.Parse(w.sb.Slack().APIURL())
	if err != nil {
		w.t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(emu)
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body)) // slack-go posts forms; anything else is not the step
		w.mu.Lock()
		hook := w.posted
		if hook != nil && strings.HasSuffix(r.URL.Path, "/chat.postMessage") && w.postMatch(form) {
			w.posted = nil
		} else {
			hook = nil
		}
		w.mu.Unlock()
		if hook == nil {
			proxy.ServeHTTP(rw, r)
			return
		}
		proxy.ServeHTTP(httptest.NewRecorder(), r) // posted; the answer is kept from the bot
		hook()
		http.Error(rw, "lost", http.StatusBadGateway)
	})
}

// command sends a slash command as alice.
func (w *killWorld) command(text string) {
	w.t.Helper()
	resp, err := w.sb.Slack().SlashCommand(w.sb.UserID("alice"), "C0MIGRATE", "/migrate", text)
	if err != nil || resp.Status != http.StatusOK {
		w.t.Fatalf("/migrate %s: %v %+v", text, err, resp)
	}
}

func (w *killWorld) migration() *bot.Migration {
	m, err := w.store.Load(context.Background(), searchKey)
	if err != nil {
		return nil
	}
	return m
}

// idle says whether every queued job is done.
func (w *killWorld) idle() bool {
	n, err := w.rdb.XLen(context.Background(), "mb:{queue}:jobs").Result()
	return err == nil && n == 0
}

// TestReplicaKilledMidStep: the replica running a weight step is SIGKILLed
// at each point of it, and the other replica, already running, takes the
// job over once the claim timeout has passed. The step completes exactly
// once: one PR from the branch, one commit on it, one ticket, one step
// message, and the migration holding the PR open.
//
// No one reruns the command: the takeover is what the queue is for, and a
// rerun would meet the dead replica's lock (refused as in progress) or,
// after the takeover, the open PR (refused as such).
//
// Each point has a world of its own (Redis, emulators, two replicas). The
// worlds are set up and their replicas killed first, then each is checked
// as a subtest: so the claim timeouts run out together, whatever
// -parallel is.
func TestReplicaKilledMidStep(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := serveproc.Build(t)
	gitHubPoint := func(route string, at githubemu.Moment) func(w *killWorld, kill func()) {
		return func(w *killWorld, kill func()) {
			w.sb.GitHub().OnNextCall(route, at, func() int {
				kill()
				if at == githubemu.BeforeServing {
					return http.StatusBadGateway // not served: the replica is dead anyway
				}
				return 0
			})
		}
	}
	cases := []struct {
		name string
		// arm makes kill run at the point.
		arm func(w *killWorld, kill func())
	}{
		{name: "before the commit", arm: gitHubPoint(routeCommit, githubemu.BeforeServing)},
		{name: "after the ref", arm: gitHubPoint(routePulls, githubemu.BeforeServing)},
		{name: "after the PR, before the state save", arm: gitHubPoint(routePulls, githubemu.AfterServing)},
		{
			name: "after the step message, before the state save",
			arm: func(w *killWorld, kill func()) {
				w.killAfterPosting(func(form url.Values) bool { return strings.Contains(form.Get("text"), "*"+stepName+"*") }, kill)
			},
		},
	}
	type run struct {
		w       *killWorld
		killed  chan struct{}
		victim  *serveproc.Replica
		killErr error
	}
	runs := make([]*run, len(cases))
	for i := range cases {
		runs[i] = &run{w: newKillWorld(t, bin), killed: make(chan struct{})}
		runs[i].w.command("start search")
	}
	for i, tc := range cases {
		r := runs[i]
		testkit.WaitFor(t, 20*time.Second, tc.name+": search started", func() bool {
			m := r.w.migration()
			return m != nil && m.Thread.TS != "" && r.w.idle()
		})
		tc.arm(r.w, func() {
			r.victim, r.killErr = holder(context.Background(), r.w.rdb, r.w.rs)
			if r.killErr == nil {
				r.killErr = r.victim.Kill()
			}
			close(r.killed)
		})
		r.w.command("next search")
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runs[i]
			select {
			case <-r.killed:
			case <-time.After(20 * time.Second):
				t.Fatal("the step never reached the point")
			}
			if r.killErr != nil {
				t.Fatalf("kill the replica running the step: %v", r.killErr)
			}
			survivor := r.w.rs[0]
			if survivor == r.victim {
				survivor = r.w.rs[1]
			}
			testkit.WaitFor(t, 3*serveproc.ClaimAfter, "the step taken over and done", func() bool {
				m := r.w.migration()
				return m != nil && m.Open != nil && m.Open.State == bot.ChangeOpen &&
					m.Open.Ticket != nil && m.Open.Ticket.Ticket != nil && m.Open.MessageTS != "" && r.w.idle()
			})
			if !strings.Contains(survivor.Logs.String(), "took over a job a stopped replica had started") {
				t.Errorf("%s does not say it took the job over", survivor.Name)
			}
			report(t, onceEach(r.w.sb.GitHub(), r.w.sb.Slack(), r.w.migration()))
		})
	}
}

// TestReplicaKilledAfterPostingThePlan: the replica starting a migration
// is SIGKILLed after Slack posted the plan and before the bot saved its
// ts. The other replica takes the start over and finds the plan in the
// channel: one plan, and it is the migration's thread.
func TestReplicaKilledAfterPostingThePlan(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	w := newKillWorld(t, serveproc.Build(t))
	killed := make(chan error, 1)
	var victim *serveproc.Replica
	w.killAfterPosting(func(form url.Values) bool {
		return form.Get("thread_ts") == "" && strings.HasPrefix(form.Get("text"), "*Migration of `search`")
	}, func() {
		v, err := holder(context.Background(), w.rdb, w.rs)
		if err == nil {
			victim, err = v, v.Kill()
		}
		killed <- err
	})
	w.command("start search")
	select {
	case err := <-killed:
		if err != nil {
			t.Fatalf("kill the replica starting the migration: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the plan was never posted")
	}
	testkit.WaitFor(t, 3*serveproc.ClaimAfter, "the start taken over and done", func() bool {
		m := w.migration()
		return m != nil && m.Thread.TS != "" && w.idle()
	})
	survivor := w.rs[0]
	if survivor == victim {
		survivor = w.rs[1]
	}
	if !strings.Contains(survivor.Logs.String(), "took over a job a stopped replica had started") {
		t.Errorf("%s does not say it took the job over", survivor.Name)
	}
	plans := planMessages(w.sb.Slack().Messages(), "search")
	if len(plans) != 1 {
		t.Fatalf("%d plans of search in the channel, want 1", len(plans))
	}
	if m := w.migration(); m.Thread.TS != plans[0].TS {
		t.Errorf("the migration's thread is %s, the plan is %s", m.Thread.TS, plans[0].TS)
	}
}
