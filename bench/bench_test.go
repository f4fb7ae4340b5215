package bench

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/sandbox"
)

// These tests check that the bench measures what it says, quickly and
// without asserting any timing: go test ./... runs them; the figures come
// from scripts/bench.sh.

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"none", nil, 99, 0},
		{"one", ms(7), 50, 7 * time.Millisecond},
		{"median of four", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p100", ms(1, 2, 3), 100, 3 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestOpenLoopMeasuresAfterWarmup(t *testing.T) {
	fail := errors.New("no")
	r := OpenLoop(context.Background(), 2000, 10*time.Millisecond, 50*time.Millisecond, func(_ context.Context, i int) error {
		if i%10 == 0 {
			return fail
		}
		return nil
	})
	// 2000/s: 20 requests in the warm-up, 100 measured (10 of them failing).
	if r.Sent != 120 || r.Count != 100 || r.Errors != 10 || !errors.Is(r.FirstError, fail) {
		t.Errorf("sent %d, measured %d, errors %d (%v); want 120, 100, 10", r.Sent, r.Count, r.Errors, r.FirstError)
	}
}

func TestClosedLoopSendsEach(t *testing.T) {
	seen := make([]int, 50)
	r := ClosedLoop(context.Background(), 4, 50, time.Minute, func(_ context.Context, i int) error {
		seen[i]++
		return nil
	})
	if r.Sent != 50 || r.Count != 50 {
		t.Errorf("sent %d, measured %d; want 50", r.Sent, r.Count)
	}
	for i, n := range seen {
		if n != 1 {
			t.Errorf("request %d sent %d times", i, n)
		}
	}
}

func TestPlanWebhooksRedelivers(t *testing.T) {
	w, err := PlanWebhooks("..", BenchSecret, 8, 1000, 0.3, 1)
	if err != nil {
		t.Fatal(err)
	}
	redeliveries := 0
	first := map[string]int{}
	for i, d := range w.Deliveries {
		if d.Redelivery {
			redeliveries++
			j, ok := first[d.ID]
			if !ok || w.Deliveries[j].Body != d.Body {
				t.Fatalf("delivery %d redelivers %s, which was not sent before with the same body", i, d.ID)
			}
			continue
		}
		if _, dup := first[d.ID]; dup {
			t.Fatalf("delivery %d: id %s reused", i, d.ID)
		}
		first[d.ID] = i
	}
	if redeliveries < 250 || redeliveries > 350 || len(w.Distinct(1000)) != 1000-redeliveries {
		t.Errorf("%d redeliveries of 1000, %d distinct ids", redeliveries, len(w.Distinct(1000)))
	}
}

// TestWebhookIntakeExactlyOnce runs a small webhook load through the bot's
// real handler and Redis, and counts what was queued.
func TestWebhookIntakeExactlyOnce(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testRedis(t)
	a, err := NewApp(ctx, rdb, prefix, "http://127.0.0.1:1/api/")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	w, err := PlanWebhooks("..", BenchSecret, 8, 300, 0.3, 3)
	if err != nil {
		t.Fatal(err)
	}
	answers := &Answers{}
	r := ClosedLoop(ctx, 8, 300, time.Minute, w.Sender(http.DefaultClient, srv.URL+"/github/webhooks", answers))
	if r.Errors != 0 {
		t.Fatalf("%d errors: %v", r.Errors, r.FirstError)
	}
	distinct := w.Distinct(300)
	if answers.ByStatus[http.StatusAccepted] != len(distinct) || answers.ByStatus[http.StatusOK] != 300-len(distinct) {
		t.Errorf("answers %v; want %d×202 and %d×200", answers.ByStatus, len(distinct), 300-len(distinct))
	}
	qc, err := CountQueue(ctx, rdb, prefix, distinct, answers.Taken)
	if err != nil {
		t.Fatal(err)
	}
	if !qc.ExactlyOnce() || qc.Distinct != len(distinct) {
		t.Errorf("queue: %s; want one job for each of %d ids", qc, len(distinct))
	}
}

func TestSlashCommandsQueued(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testRedis(t)
	a, err := NewApp(ctx, rdb, prefix, "http://127.0.0.1:1/api/")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	send := CommandSender(http.DefaultClient, srv.URL+"/slack/commands", SlashCommands(BenchSecret, "status search", 4), true)
	for i := range 10 { // the last 6 are the first 4 sent again: taken once
		if err := send(ctx, i); err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
	}
	if n, err := rdb.XLen(ctx, prefix+":{queue}:jobs").Result(); err != nil || n != 4 {
		t.Errorf("%d jobs queued (%v), want 4: one per command", n, err)
	}
	wrong := CommandSender(http.DefaultClient, srv.URL+"/slack/commands", SlashCommands("not-the-secret", "status search", 1), true)
	if err := wrong(ctx, 0); err == nil {
		t.Error("a command signed with another secret was taken")
	}
}

func TestServeConfigLoads(t *testing.T) {
	o := Outside{GitHubURL: "http://127.0.0.1:1/", SlackAPIURL: "http://127.0.0.1:2/api/", AWSURL: "http://127.0.0.1:3/", TargetsURL: "http://127.0.0.1:4"}
	path, err := ServeConfig(o, t.TempDir(), "127.0.0.1:8080", 4)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8080" || cfg.Workers != 4 || cfg.Slack.APIURL != o.SlackAPIURL || cfg.Services["search"].New.HealthURL != "http://127.0.0.1:4/healthz" {
		t.Errorf("config: listen %s, workers %d, slack %s, search's health URL %s", cfg.Listen, cfg.Workers, cfg.Slack.APIURL, cfg.Services["search"].New.HealthURL)
	}
}

// TestFlowAndBytes runs the sandbox flow the calls and bytes figures come
// from, and stores a few copies of its mid-flight migration.
func TestFlowAndBytes(t *testing.T) {
	ctx := context.Background()
	sb, err := sandbox.New(ctx, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	f, err := RunFlow(ctx, sb, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := f.MidFlight; len(m.History) != 2 || m.Open == nil || m.Open.Ticket == nil {
		t.Errorf("mid-flight: %d changes in history, open %+v; want 2 and an open change with a ticket", len(m.History), m.Open)
	}
	if steps := f.Steps(); len(steps) != 3 {
		t.Errorf("%d weight steps, want 3: %+v", len(steps), steps)
	}
	if h := f.Health(); h.Summaries != 4 {
		t.Errorf("%d health summaries, want 4", h.Summaries)
	}
	rdb, prefix := testRedis(t)
	b, err := MeasureMigrationBytes(ctx, rdb, prefix, f.MidFlight, 20)
	if err != nil {
		t.Fatal(err)
	}
	if b.KeyBytes < float64(b.JSONBytes) || b.History != 2 || b.Tickets != 3 {
		t.Errorf("bytes: %+v", b)
	}
	groups, err := KeysByKind(ctx, rdb, prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if g.Pattern == "active:…" && g.Count != 1 {
			t.Errorf("%+v", g)
		}
	}
}

func TestKeyKind(t *testing.T) {
	for k, want := range map[string]string{
		"{kprod/search}:migration":         "{kprod/search}:migration",
		"{queue}:jobs":                     "{queue}:jobs",
		"{queue}:delivery:0b1c":            "{queue}:delivery:…",
		"pr:acme/envs-config#3":            "pr:…",
		"delivery:0b1c":                    "delivery:…",
		"conv:T0ACME:C0MIGRATE:U0ALICE":    "conv:…",
		"active":                           "active:…",
		"thread:C0MIGRATE:1700000000.0001": "thread:…",
	} {
		if got := keyKind(k); got != want {
			t.Errorf("keyKind(%q) = %q, want %q", k, got, want)
		}
	}
}

func TestReadOwnMemoryAndCPU(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil || m.RSS <= 0 || m.HWM < m.RSS {
		t.Errorf("memory %+v, %v", m, err)
	}
	s, err := sampleCPU(map[string]int{"self": os.Getpid()})
	if err != nil || s.busy <= 0 {
		t.Errorf("cpu %+v, %v", s, err)
	}
}
