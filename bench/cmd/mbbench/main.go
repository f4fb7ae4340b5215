// Command mbbench runs migratebot's benchmarks (see BENCHMARKS.md) and
// prints the figures as Markdown. `./scripts/bench.sh` builds it and
// cmd/migratebot and runs it.
//
//	mbbench -migratebot BIN [-measure 10s] [-warmup 2s] [-rates 200,1000]
//
// It also serves, as its own child processes, the pieces a run needs:
//
//	mbbench floor -listen ADDR                the floor: a net/http handler that answers 200
//	mbbench intake -config FILE -prefix P     the bot's handler (app.New) without workers
//	mbbench emulators -out FILE               the sandbox's emulators of GitHub, Slack and AWS
//
// and runs a command when the machine is quiet, saying how busy it was:
//
//	mbbench run-quiet [-quiet-wait 5s] -- CMD ARGS...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/migratebot/migratebot/app"
	"github.com/migratebot/migratebot/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "floor":
		err = floor(ctx, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "intake":
		err = intake(ctx, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "emulators":
		fs := flag.NewFlagSet("emulators", flag.ExitOnError)
		out := fs.String("out", "", "where to write the emulators' URLs and secrets (JSON)")
		_ = fs.Parse(os.Args[2:]) // ExitOnError
		err = bench.RunEmulators(ctx, *out)
	case len(os.Args) > 1 && os.Args[1] == "run-quiet":
		fs := flag.NewFlagSet("run-quiet", flag.ExitOnError)
		wait := fs.Duration("quiet-wait", 5*time.Second, "wait up to this long for other processes to leave the CPUs")
		_ = fs.Parse(os.Args[2:]) // ExitOnError
		if fs.NArg() == 0 {
			err = errors.New("run-quiet needs a command")
			break
		}
		err = bench.RunQuiet(ctx, *wait, os.Stdout, os.Stdout, os.Stderr, fs.Arg(0), fs.Args()[1:]...)
	default:
		err = run(ctx, os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mbbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("mbbench", flag.ContinueOnError)
	bin := fs.String("migratebot", "", "the built cmd/migratebot binary")
	repo := fs.String("repo", ".", "the repository's root")
	rates := fs.String("rates", "200,1000", "Slack command arrival rates, per second")
	warmup := fs.Duration("warmup", 2*time.Second, "unmeasured warm-up of each open-loop run")
	measure := fs.Duration("measure", 10*time.Second, "measured time of each run")
	hookRate := fs.Float64("webhook-rate", 2000, "the open-loop webhook rate, per second")
	hookConc := fs.Int("webhook-concurrency", 32, "the closed-loop webhook senders")
	migrations := fs.Int("migrations", 10_000, "migrations stored for the Redis bytes figure")
	workers := fs.Int("workers", 4, "serve's workers (the config's default is 4)")
	quiet := fs.Duration("quiet-wait", 3*time.Second, "before each load run, wait up to this long for other processes to leave the CPUs")
	retries := fs.Int("retries", 1, "run a load run again, up to this many times, when other processes took CPU during it (the quietest is kept)")
	budget := fs.Duration("retry-budget", 30*time.Second, "the most the retries of a whole run may take")
	only := fs.String("only", "", "run only these sections, comma-separated: commands, webhooks, startup, redis, calls (gobench is scripts/bench.sh's)")
	keep := fs.Bool("keep", false, "keep the work directory (configs, the processes' logs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bin == "" {
		return errors.New("-migratebot BIN is required (scripts/bench.sh builds it)")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	o := bench.Options{
		Migratebot: *bin, Self: self, RepoRoot: *repo, Warmup: *warmup, Measure: *measure,
		WebhookRate: *hookRate, WebhookConcurrency: *hookConc, Migrations: *migrations, Workers: *workers,
		QuietWait: *quiet, Retries: *retries, RetryBudget: *budget,
	}
	for _, s := range strings.Split(*only, ",") {
		switch s = strings.TrimSpace(s); s {
		case "", "gobench":
		case bench.SectionCommands, bench.SectionWebhooks, bench.SectionStartup, bench.SectionRedis, bench.SectionCalls:
			o.Only = append(o.Only, s)
		default:
			return fmt.Errorf("-only: no section %q", s)
		}
	}
	if *only != "" && len(o.Only) == 0 {
		return nil // only the Go benchmarks, which scripts/bench.sh runs
	}
	for _, r := range strings.Split(*rates, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("-rates: %q is not a rate", r)
		}
		o.Rates = append(o.Rates, v)
	}
	if o.WorkDir, err = os.MkdirTemp("", "mbbench-"); err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "mbbench: work directory", o.WorkDir)
	} else {
		defer os.RemoveAll(o.WorkDir)
	}
	if o.RepoRoot, err = filepath.Abs(o.RepoRoot); err != nil {
		return err
	}
	report, err := bench.Run(ctx, o, os.Stderr)
	if err != nil {
		return err
	}
	report.Markdown(os.Stdout)
	return nil
}

// server is an http.Server with `migratebot serve`'s timeouts.
// listenUntilDone serves until ctx is done, then shuts down.
func listenUntilDone(ctx context.Context, srv *http.Server) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}

// floor answers every request 200 with an empty body: the least any Go
// HTTP server does, the floor the bot's answers are held to.
func floor(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return listenUntilDone(ctx, app.Server(*listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})))
}

// intake serves the bot's HTTP handler exactly as `migratebot serve` builds
// it (the same config, secrets, Redis, logs and server), but runs no
// workers and no timers: what the edge costs alone, and the jobs stay queued
// to be counted.
func intake(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("intake", flag.ContinueOnError)
	path := fs.String("config", "", "config file (YAML)")
	prefix := fs.String("prefix", "intake", "Redis key prefix")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	bot, closeRedis, err := app.Open(ctx, *path, os.Getenv, app.Options{Log: log, Replica: "intake", KeyPrefix: *prefix})
	if err != nil {
		return err
	}
	defer closeRedis()
	return listenUntilDone(ctx, app.Server(bot.Config.Listen, bot.Handler))
}
