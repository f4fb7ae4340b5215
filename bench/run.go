package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/redisstore"
	"github.com/migratebot/migratebot/internal/redistest"
	"github.com/migratebot/migratebot/sandbox"
)

// Options say what to run.
type Options struct {
	// Migratebot is the built cmd/migratebot binary; Self the built mbbench
	// (it serves the floor, the intake-only bot and the emulators).
	Migratebot, Self string
	// RepoRoot is the repository's root, for GitHub's payloads.
	RepoRoot string
	// Rates are the Slack command arrival rates; Warmup and Measure how
	// long each runs, unmeasured then measured.
	Rates           []float64
	Warmup, Measure time.Duration
	// WebhookRate is the open-loop webhook rate; WebhookConcurrency the
	// closed loop's senders.
	WebhookRate        float64
	WebhookConcurrency int
	// Migrations is how many copies the Redis bytes figure stores.
	Migrations int
	// Workers is the serve processes' workers (config's default: 4).
	Workers int
	// WorkDir holds configs and the processes' logs.
	WorkDir string
	// QuietWait is how long, before each load run, the bench waits for the
	// machine's other processes to use less than a tenth of a core.
	QuietWait time.Duration
	// Retries is how many times a load run is run again when other
	// processes took CPU during it; the quietest attempt is kept. The
	// retries of a whole run take at most RetryBudget.
	Retries     int
	RetryBudget time.Duration
	// Only lists the sections to run (Section*); empty runs them all.
	Only []string
}

// Report is every figure of a run.
type Report struct {
	Machine  Machine
	Options  Options
	Commands []CommandRun
	// ServeAfterCommands and ServeAfterWebhooks are the serve replica's
	// memory after the command runs and after the webhook runs.
	ServeAfterCommands, ServeAfterWebhooks Memory
	// Race is the replay of a redelivery during a disconnect.
	Race          DisconnectRace
	Webhooks      []WebhookRun
	Startups      []time.Duration
	IdleMemory    Memory
	MidFlightKeys []KeyGroup
	Bytes         MigrationBytes
	Scans         []ScanCost
	Steps         []StepCalls
	Health        HealthCalls
}

// CommandRun is one target at one rate.
type CommandRun struct {
	Target string
	OpenLoopResult
	// Queued is how many commands were seen queued (or run), and How how
	// they were counted ("" for the floor).
	Queued int
	How    string
	// Backlogs are how long the serve replica's workers took, after each
	// part of the run, to finish the jobs still queued.
	Backlogs []time.Duration
	// CPU is where CPU went from the first request to the last answer (and
	// the backlog's end), warm-up included.
	CPU CPUUse
	// Proc names the target's process in CPU.
	Proc string
}

// WebhookRun is one webhook intake run.
type WebhookRun struct {
	Name        string
	Target      string
	Sent        int
	Distinct    int
	PerSecond   float64
	Latencies   Latencies
	Answers     map[int]int
	Queue       string
	ExactlyOnce bool
	CPU         CPUUse
	Proc        string
}

const (
	targetFloor  = "floor: bare net/http 200"
	targetIntake = "bot handler (app.New, no workers)"
)

// env is what the load runs share: the servers, Redis and the emulators.
type env struct {
	o                    Options
	say                  func(string, ...any)
	out                  Outside
	rdb, rdbIntake       *goredis.Client
	floor, intake, serve *Proc
	pids                 map[string]int
	// retried is how long retries took so far.
	retried time.Duration
}

// serveName names the serve target in the figures.
func (e *env) serveName() string {
	return fmt.Sprintf("`migratebot serve` (%d workers)", e.o.Workers)
}

// measure runs f up to 1+o.Retries times, each after waiting for a quiet
// machine, and keeps the attempt during which other processes took the
// least CPU: a neighbour's build must not land in the figures unseen, and
// every figure reports how busy the others were.
func measure[T any](ctx context.Context, e *env, f func() (T, error)) (T, CPUUse, error) {
	var best T
	var bestUse CPUUse
	for attempt := 0; attempt <= e.o.Retries; attempt++ {
		if err := waitQuiet(ctx, e.pids, e.o.QuietWait, e.say); err != nil {
			return best, bestUse, err
		}
		a, err := sampleCPU(e.pids)
		if err != nil {
			return best, bestUse, err
		}
		t0 := time.Now()
		res, err := f()
		if err != nil {
			return best, bestUse, err
		}
		took := time.Since(t0)
		if attempt > 0 {
			e.retried += took
		}
		b, err := sampleCPU(e.pids)
		if err != nil {
			return best, bestUse, err
		}
		use := cpuBetween(a, b)
		if attempt == 0 || use.Others < bestUse.Others {
			best, bestUse = res, use
		}
		if use.Others < 0.1 || attempt == e.o.Retries {
			break
		}
		if e.retried+took > e.o.RetryBudget {
			e.say("  other processes took %.2f cores during the run; no retry budget left", use.Others)
			break
		}
		e.say("  other processes took %.2f cores during the run; again", use.Others)
	}
	return best, bestUse, nil
}

// Run runs every benchmark but the Go benchmarks, printing progress to log,
// and returns the figures.
func Run(ctx context.Context, o Options, log io.Writer) (*Report, error) {
	r := &Report{Machine: ReadMachine(), Options: o}
	e := &env{o: o, say: func(format string, args ...any) { fmt.Fprintf(log, "mbbench: "+format+"\n", args...) }}
	e.pids = map[string]int{"loader": os.Getpid()}
	if o.Wants(SectionCommands) || o.Wants(SectionWebhooks) || o.Wants(SectionStartup) {
		if err := e.servers(ctx, r); err != nil {
			return nil, err
		}
	}
	if o.Wants(SectionWebhooks) {
		e.say("a redelivery while the first delivery's sender gives up (replayed)")
		srv, err := redistest.Start()
		if err != nil {
			return nil, err
		}
		defer srv.Stop()
		rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
		defer rdb.Close()
		if r.Race, err = RedeliveryDuringDisconnect(ctx, rdb, "race", o.RepoRoot); err != nil {
			return nil, err
		}
		e.say("  %s", r.Race)
	}
	if o.Wants(SectionRedis) || o.Wants(SectionCalls) {
		if err := e.flow(ctx, r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// The sections of a run, for Options.Only.
const (
	SectionCommands = "commands" // 1. Slack command latency
	SectionWebhooks = "webhooks" // 2. webhook intake, exactly once
	SectionStartup  = "startup"  // 3. serve's startup and memory
	SectionRedis    = "redis"    // 4. Redis bytes, and reads of every migration
	SectionCalls    = "calls"    // 6. Slack and AWS calls in a flow
)

// Wants says whether the run includes a section.
func (o Options) Wants(section string) bool {
	return len(o.Only) == 0 || slices.Contains(o.Only, section)
}

// servers runs the sections that need the bot's processes: it starts a
// redis-server, the emulators, the floor, the intake-only bot and serve,
// and stops them all when done.
func (e *env) servers(ctx context.Context, r *Report) error {
	o := e.o
	home := filepath.Join(o.WorkDir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	redis, err := redistest.Start()
	if err != nil {
		return err
	}
	defer redis.Stop()
	e.say("redis-server on %s", redis.Addr)
	e.rdb = goredis.NewClient(&goredis.Options{Addr: redis.Addr})
	defer e.rdb.Close()
	e.rdbIntake = goredis.NewClient(&goredis.Options{Addr: redis.Addr, DB: 1})
	defer e.rdbIntake.Close()
	redisPid, err := redisPID(ctx, e.rdb)
	if err != nil {
		return err
	}
	e.pids["redis"] = redisPid

	outsidePath := filepath.Join(o.WorkDir, "outside.json")
	emu, err := StartProc("emulators", "", filepath.Join(o.WorkDir, "emulators.log"), os.Environ(), o.Self, "emulators", "-out", outsidePath)
	if err != nil {
		return err
	}
	defer emu.Stop()
	e.pids["emulators"] = emu.Pid()
	if e.out, err = ReadOutside(ctx, outsidePath, 30*time.Second); err != nil {
		return err
	}
	startServe := func(name, logName string) (*Proc, error) {
		return startServer(o, name, func(addr string) (*Proc, error) {
			cfg, err := ServeConfig(e.out, o.WorkDir, addr, o.Workers)
			if err != nil {
				return nil, err
			}
			return StartProc(name, "http://"+addr, filepath.Join(o.WorkDir, logName),
				ServeEnv(e.out, "redis://"+redis.Addr, home), o.Migratebot, "serve", "--config", cfg)
		})
	}

	if o.Wants(SectionCommands) || o.Wants(SectionWebhooks) {
		if e.floor, err = startServer(o, "floor", func(addr string) (*Proc, error) {
			return StartProc("floor", "http://"+addr, filepath.Join(o.WorkDir, "floor.log"), os.Environ(), o.Self, "floor", "-listen", addr)
		}); err != nil {
			return err
		}
		defer e.floor.Stop()
		if e.intake, err = startServer(o, "intake", func(addr string) (*Proc, error) {
			cfg, err := ServeConfig(e.out, o.WorkDir, addr, o.Workers)
			if err != nil {
				return nil, err
			}
			return StartProc("intake", "http://"+addr, filepath.Join(o.WorkDir, "intake.log"),
				ServeEnv(e.out, "redis://"+redis.Addr+"/1", home), o.Self, "intake", "-config", cfg, "-prefix", "intake")
		}); err != nil {
			return err
		}
		defer e.intake.Stop()
		if e.serve, err = startServe("serve", "serve.log"); err != nil {
			return err
		}
		defer e.serve.Stop()
		for p, path := range map[*Proc]string{e.floor: "/", e.intake: "/readyz", e.serve: "/readyz"} {
			if _, err := p.WaitOK(path, 30*time.Second); err != nil {
				return fmt.Errorf("%w (run with -keep for the logs)", err)
			}
			e.pids[p.Name] = p.Pid()
		}
		// search is migrating, so `status search` is a real status.
		start := SlashCommands(e.out.SlackSigningSecret, "start search", 1)
		if err := CommandSender(LoadClient(), e.serve.URL+"/slack/commands", start, true)(ctx, 0); err != nil {
			return fmt.Errorf("start search: %w", err)
		}
		store := redisstore.New(e.rdb, "mb")
		if err := waitUntil(ctx, 30*time.Second, func() (bool, error) {
			m, err := store.Load(ctx, bot.ServiceKey{Env: "kprod", Service: "search"})
			return err == nil && m.Thread.TS != "", nil
		}); err != nil {
			return fmt.Errorf("search never started: %w", err)
		}
	}

	// 1. Slack commands, open loop. Each target runs twice for half the
	// time, in the order floor, intake, serve, serve, intake, floor, and
	// its two halves are pooled: a drift over the run, or the first run's
	// start, weighs on every target alike.
	if o.Wants(SectionCommands) {
		for _, rate := range o.Rates {
			halves := map[*Proc]CommandRun{}
			for _, p := range []*Proc{e.floor, e.intake, e.serve, e.serve, e.intake, e.floor} {
				run, err := e.commands(ctx, p, rate, o.Measure/2)
				if err != nil {
					return err
				}
				if first, ok := halves[p]; ok {
					run = first.merge(run)
				}
				halves[p] = run
			}
			for _, p := range []*Proc{e.floor, e.intake, e.serve} {
				r.Commands = append(r.Commands, halves[p])
			}
		}
		if r.ServeAfterCommands, err = ReadMemory(e.serve.Pid()); err != nil {
			return err
		}
	}

	// 2. Webhook intake with 30% redeliveries.
	if o.Wants(SectionWebhooks) {
		run, err := e.webhooksClosed(ctx)
		if err != nil {
			return err
		}
		r.Webhooks = append(r.Webhooks, run)
		// serve twice: at 2,000/s it runs near what this machine's two
		// cores give it, and one run may keep up where another falls
		// behind.
		for i, p := range []*Proc{e.intake, e.serve, e.serve} {
			run, err := e.webhooksOpen(ctx, p, uint64(2+i))
			if err != nil {
				return err
			}
			r.Webhooks = append(r.Webhooks, run)
		}
		if r.ServeAfterWebhooks, err = ReadMemory(e.serve.Pid()); err != nil {
			return err
		}
	}
	for _, p := range []*Proc{e.floor, e.intake, e.serve} {
		if p != nil {
			p.Stop()
		}
	}

	// 3. Startup to ready, and idle memory.
	if o.Wants(SectionStartup) {
		for i := range 5 {
			if err := waitQuiet(ctx, e.pids, o.QuietWait, e.say); err != nil {
				return err
			}
			p, err := startServe("serve", fmt.Sprintf("serve-start-%d.log", i))
			if err != nil {
				return err
			}
			took, err := p.WaitOK("/readyz", 20*time.Second)
			if err != nil {
				p.Stop()
				return err
			}
			r.Startups = append(r.Startups, took)
			e.say("startup %d: ready after %s", i+1, ms(took))
			if i == 0 {
				time.Sleep(5 * time.Second)
				if r.IdleMemory, err = ReadMemory(p.Pid()); err != nil {
					p.Stop()
					return err
				}
				e.say("  idle 5 s: VmRSS %.1f MiB", mib(r.IdleMemory.RSS))
			}
			p.Stop()
		}
	}
	return nil
}

// flow runs sections 4 and 6: a short migration in the sandbox on a
// redis-server of its own, counting its calls; then its mid-flight
// migration copied N times on another, and what reads them all costs.
func (e *env) flow(ctx context.Context, r *Report) error {
	o := e.o
	flowRedis, err := redistest.Start()
	if err != nil {
		return err
	}
	defer flowRedis.Stop()
	flowRDB := goredis.NewClient(&goredis.Options{Addr: flowRedis.Addr})
	defer flowRDB.Close()
	sb, err := sandbox.New(ctx, sandbox.Options{RedisURL: "redis://" + flowRedis.Addr, KeyPrefix: "flow"})
	if err != nil {
		return err
	}
	defer sb.Close()
	e.say("sandbox flow: %d script lines", len(FlowScript))
	flow, err := RunFlow(ctx, sb, func() error {
		var err error
		r.MidFlightKeys, err = KeysByKind(ctx, flowRDB, "flow")
		return err
	})
	if err != nil {
		return err
	}
	r.Steps, r.Health = flow.Steps(), flow.Health()
	if !o.Wants(SectionRedis) {
		return nil
	}

	memRedis, err := redistest.Start()
	if err != nil {
		return err
	}
	defer memRedis.Stop()
	memRDB := goredis.NewClient(&goredis.Options{Addr: memRedis.Addr})
	defer memRDB.Close()
	e.say("redis bytes: %d copies of the mid-flight migration", o.Migrations)
	if r.Bytes, err = MeasureMigrationBytes(ctx, memRDB, "mem", flow.MidFlight, o.Migrations); err != nil {
		return err
	}
	e.say("  %.0f B per migration hash (MEMORY USAGE), %.0f B per migration (used_memory delta)", r.Bytes.KeyBytes, r.Bytes.PerMigration)
	e.say("reads of every active migration, with %d active", o.Migrations)
	if err := waitQuiet(ctx, e.pids, o.QuietWait, e.say); err != nil {
		return err
	}
	r.Scans, err = MeasureFullScans(ctx, memRedis.Addr, "mem", o.Migrations)
	return err
}

// commands sends signed `/migrate status search` commands to p at rate,
// open loop, and checks each was queued (intake) or run (serve).
func (e *env) commands(ctx context.Context, p *Proc, rate float64, measureFor time.Duration) (CommandRun, error) {
	name := map[*Proc]string{e.floor: targetFloor, e.intake: targetIntake, e.serve: e.serveName()}[p]
	e.say("slash commands: %s at %.0f/s for %s after %s", name, rate, measureFor, e.o.Warmup)
	jobsOK := `migratebot_jobs_total{kind="command",outcome="ok"}`
	run, use, err := measure(ctx, e, func() (CommandRun, error) {
		run := CommandRun{Target: name, Proc: p.Name}
		var before float64
		var beforeLen int64
		var err error
		switch p {
		case e.serve:
			before, err = metricValue(p.URL, jobsOK)
		case e.intake:
			beforeLen, err = e.rdbIntake.XLen(ctx, "intake:{queue}:jobs").Result()
		}
		if err != nil {
			return run, err
		}
		client := LoadClient()
		defer client.CloseIdleConnections()
		// One command per send: each has a trigger_id of its own, as Slack
		// gives each, and the bot takes a trigger once.
		cmds := SlashCommands(e.out.SlackSigningSecret, "status search", int(rate*(e.o.Warmup+measureFor).Seconds())+1)
		run.OpenLoopResult = OpenLoop(ctx, rate, e.o.Warmup, measureFor, CommandSender(client, p.URL+"/slack/commands", cmds, p != e.floor))
		switch p {
		case e.serve:
			t0 := time.Now()
			if err := waitDrained(ctx, e.rdb, "mb"); err != nil {
				return run, fmt.Errorf("serve's workers: %w", err)
			}
			run.Backlogs = []time.Duration{time.Since(t0)}
			after, err := metricValue(p.URL, jobsOK)
			if err != nil {
				return run, err
			}
			run.Queued, run.How = int(after-before), "run by the workers (jobs_total ok)"
		case e.intake:
			n, err := e.rdbIntake.XLen(ctx, "intake:{queue}:jobs").Result()
			if err != nil {
				return run, err
			}
			run.Queued, run.How = int(n-beforeLen), "in the stream (XLEN)"
		}
		return run, nil
	})
	run.CPU = use
	queued := ""
	if run.How != "" {
		queued = fmt.Sprintf("; %d of %d %s", run.Queued, run.Sent, run.How)
	}
	e.say("  p50 %s p99 %s max %s errors %d/%d%s; %s CPU per command, others %.2f cores",
		ms(run.P50), ms(run.P99), ms(run.Max), run.Errors, run.Count, queued, us(use.PerRequest(run.Proc, run.Sent)), use.Others)
	return run, err
}

// merge pools two runs of one target at one rate.
func (c CommandRun) merge(o CommandRun) CommandRun {
	c.OpenLoopResult = c.OpenLoopResult.Merge(o.OpenLoopResult)
	c.Queued += o.Queued
	c.Backlogs = append(c.Backlogs, o.Backlogs...)
	c.CPU = c.CPU.Merge(o.CPU)
	return c
}

// webhooksClosed sends as many deliveries as the intake-only bot answers
// with WebhookConcurrency in flight, 30% of them redelivered, then counts
// the queued jobs.
func (e *env) webhooksClosed(ctx context.Context) (WebhookRun, error) {
	e.say("webhooks: closed loop, %d senders, 30%% redelivered, up to %s", e.o.WebhookConcurrency, e.o.Measure)
	n := 100_000
	plan, err := PlanWebhooks(e.o.RepoRoot, e.out.WebhookSecret, 64, n, 0.3, 1)
	if err != nil {
		return WebhookRun{}, err
	}
	run, use, err := measure(ctx, e, func() (WebhookRun, error) {
		if err := e.rdbIntake.FlushDB(ctx).Err(); err != nil {
			return WebhookRun{}, err
		}
		answers := &Answers{}
		client := LoadClient()
		defer client.CloseIdleConnections()
		cl := ClosedLoop(ctx, e.o.WebhookConcurrency, n, e.o.Measure, plan.Sender(client, e.intake.URL+"/github/webhooks", answers))
		distinct := plan.Distinct(cl.Sent)
		qc, err := CountQueue(ctx, e.rdbIntake, "intake", distinct, answers.Taken)
		return WebhookRun{
			Name: fmt.Sprintf("closed loop, %d in flight", e.o.WebhookConcurrency), Target: targetIntake, Proc: "intake",
			Sent: cl.Sent, Distinct: len(distinct), PerSecond: cl.PerSecond, Latencies: cl.Latencies,
			Answers: answers.ByStatus, Queue: qc.String(), ExactlyOnce: qc.ExactlyOnce(),
		}, err
	})
	run.CPU = use
	e.say("  %.0f/s, p50 %s p99 %s, errors %d; answers %v; %s; %s CPU per delivery, loader %.2f cores, others %.2f cores",
		run.PerSecond, ms(run.Latencies.P50), ms(run.Latencies.P99), run.Latencies.Errors, run.Answers, run.Queue,
		us(use.PerRequest("intake", run.Sent)), use.ByProc["loader"], use.Others)
	return run, err
}

// webhooksOpen sends deliveries at WebhookRate to p, 30% redelivered, and
// checks that each delivery taken was queued once: in the stream (intake)
// or by the replica's counters (serve, whose workers run them).
func (e *env) webhooksOpen(ctx context.Context, p *Proc, seed uint64) (WebhookRun, error) {
	name := map[*Proc]string{e.intake: targetIntake, e.serve: e.serveName()}[p]
	e.say("webhooks: open loop at %.0f/s to %s, 30%% redelivered", e.o.WebhookRate, name)
	n := int(e.o.WebhookRate * (e.o.Warmup + e.o.Measure).Seconds())
	run, use, err := measure(ctx, e, func() (WebhookRun, error) {
		// A plan of its own each attempt: the replica remembers ids.
		seed += 100
		plan, err := PlanWebhooks(e.o.RepoRoot, e.out.WebhookSecret, 64, n, 0.3, seed)
		if err != nil {
			return WebhookRun{}, err
		}
		if err := e.rdbIntake.FlushDB(ctx).Err(); err != nil {
			return WebhookRun{}, err
		}
		var before map[string]float64
		if p == e.serve {
			if before, err = webhookMetrics(p.URL); err != nil {
				return WebhookRun{}, err
			}
		}
		answers := &Answers{}
		client := LoadClient()
		defer client.CloseIdleConnections()
		ol := OpenLoop(ctx, e.o.WebhookRate, e.o.Warmup, e.o.Measure, plan.Sender(client, p.URL+"/github/webhooks", answers))
		distinct := plan.Distinct(ol.Sent)
		run := WebhookRun{
			Name: fmt.Sprintf("open loop at %.0f/s", e.o.WebhookRate), Target: name, Proc: p.Name, Sent: ol.Sent, Distinct: len(distinct),
			PerSecond: e.o.WebhookRate, Latencies: ol.Latencies, Answers: answers.ByStatus,
		}
		// A replica that fell behind goes on with the requests whose
		// sender gave up: count once it is done with them.
		if p == e.intake {
			if err := settle(ctx, func() (float64, error) {
				n, err := e.rdbIntake.XLen(ctx, "intake:{queue}:jobs").Result()
				return float64(n), err
			}); err != nil {
				return run, err
			}
			qc, err := CountQueue(ctx, e.rdbIntake, "intake", distinct, answers.Taken)
			run.Queue, run.ExactlyOnce = qc.String(), qc.ExactlyOnce()
			return run, err
		}
		if err := settle(ctx, func() (float64, error) {
			m, err := webhookMetrics(p.URL)
			return m["queued"] + m["duplicate"] + m["jobs"], err
		}); err != nil {
			return run, err
		}
		if err := waitDrained(ctx, e.rdb, "mb"); err != nil {
			return run, fmt.Errorf("serve's workers: %w", err)
		}
		after, err := webhookMetrics(p.URL)
		if err != nil {
			return run, err
		}
		d := map[string]int{}
		for k := range after {
			d[k] = int(after[k] - before[k])
		}
		taken := len(answers.Taken)
		run.Queue = fmt.Sprintf("intake_total queued %d, duplicate %d; jobs_total pull_request ok %d (the workers ran them); %d ids answered 2xx",
			d["queued"], d["duplicate"], d["jobs"], taken)
		// Every id taken was queued, none twice (queued ≤ distinct ids
		// sent), and the workers ran each queued job once.
		run.ExactlyOnce = d["queued"] >= taken && d["queued"] <= len(distinct) && d["jobs"] == d["queued"]
		if taken == len(distinct) {
			run.ExactlyOnce = run.ExactlyOnce && d["queued"] == len(distinct) && d["duplicate"] == ol.Sent-len(distinct)
		}
		return run, nil
	})
	run.CPU = use
	e.say("  p50 %s p99 %s max %s, errors %d; answers %v; %s; %s CPU per delivery, loader %.2f cores, others %.2f cores",
		ms(run.Latencies.P50), ms(run.Latencies.P99), ms(run.Latencies.Max), run.Latencies.Errors, run.Answers, run.Queue,
		us(use.PerRequest(p.Name, run.Sent)), use.ByProc["loader"], use.Others)
	return run, err
}

// waitQuiet waits, up to limit, for a second in which the processes not
// in pids use less than 0.1 core, so a neighbour's build does not land in a
// run; after limit it goes on (the run's figures say how busy they were).
func waitQuiet(ctx context.Context, pids map[string]int, limit time.Duration, say func(string, ...any)) error {
	deadline := time.Now().Add(limit)
	for {
		a, err := sampleCPU(pids)
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		b, err := sampleCPU(pids)
		if err != nil {
			return err
		}
		others := cpuBetween(a, b).Others
		if others < 0.1 {
			return nil
		}
		if time.Now().After(deadline) {
			say("  other processes use %.2f cores; not waiting longer", others)
			return nil
		}
	}
}

// startServer starts a server on a free loopback port.
func startServer(o Options, name string, start func(addr string) (*Proc, error)) (*Proc, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	return start(addr)
}

// settle waits, up to a minute, until read gives the same figure twice a
// second apart.
func settle(ctx context.Context, read func() (float64, error)) error {
	last, err := read()
	if err != nil {
		return err
	}
	for range 60 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		now, err := read()
		if err != nil {
			return err
		}
		if now == last {
			return nil
		}
		last = now
	}
	return errors.New("still changing after a minute")
}

// waitDrained waits until the queue under prefix is empty and nothing is
// being worked on.
func waitDrained(ctx context.Context, rdb *goredis.Client, prefix string) error {
	stream := prefix + ":{queue}:jobs"
	return waitUntil(ctx, 3*time.Minute, func() (bool, error) {
		n, err := rdb.XLen(ctx, stream).Result()
		if err != nil {
			return false, err
		}
		if n > 0 {
			return false, nil
		}
		p, err := rdb.XPending(ctx, stream, "workers").Result()
		if err != nil {
			return false, err
		}
		return p.Count == 0, nil
	})
}

// metricValue reads one series of the bot's /metrics (0 when absent).
func metricValue(base, series string) (float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, nil
}

// webhookMetrics reads the serve replica's webhook counters.
func webhookMetrics(base string) (map[string]float64, error) {
	out := map[string]float64{}
	for k, series := range map[string]string{
		"queued":    `migratebot_intake_total{event="pull_request",outcome="queued",source="github"}`,
		"duplicate": `migratebot_intake_total{event="pull_request",outcome="duplicate",source="github"}`,
		"jobs":      `migratebot_jobs_total{kind="pull_request",outcome="ok"}`,
	} {
		v, err := metricValue(base, series)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// Median returns the median of ds.
func Median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// redisPID is the redis-server's process id, as it reports it.
func redisPID(ctx context.Context, rdb *goredis.Client) (int, error) {
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("no process_id in INFO server")
}

// us formats a duration in microseconds.
func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

// RunQuiet waits up to quietWait for the machine's other processes to
// leave the CPUs, runs name with args (its output to stdout and stderr),
// and says on note how many cores processes other than this one and its
// children used meanwhile: how much a neighbour disturbed the figures.
func RunQuiet(ctx context.Context, quietWait time.Duration, note io.Writer, stdout, stderr io.Writer, name string, args ...string) error {
	self := map[string]int{"self": os.Getpid()}
	if err := waitQuiet(ctx, self, quietWait, func(format string, a ...any) { fmt.Fprintf(note, "mbbench: "+format+"\n", a...) }); err != nil {
		return err
	}
	a, err := sampleCPU(self)
	if err != nil {
		return err
	}
	children0, err := childrenCPU()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	runErr := cmd.Run()
	b, err := sampleCPU(self)
	if err != nil {
		return err
	}
	children1, err := childrenCPU()
	if err != nil {
		return err
	}
	use := cpuBetween(a, b)
	others := max(0, use.Others-(children1-children0)/use.Wall.Seconds())
	fmt.Fprintf(note, "other processes used %.2f cores (of %d) during this run, which used %.2f\n",
		others, runtime.NumCPU(), (children1-children0)/use.Wall.Seconds())
	return runErr
}

// childrenCPU is the CPU-seconds of this process's children (and theirs)
// that have exited and been waited for.
func childrenCPU() (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), nil
}
