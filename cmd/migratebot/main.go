// Command migratebot moves services to new infrastructure by weighted DNS
// cutover, from Slack and from pull requests.
//
//	migratebot serve --config FILE       run the bot (secrets from the environment)
//	migratebot sandbox [--script FILE] [--json] [--tickets github|jira|servicenow]
//	                                     run the bot against emulators, from a script or the terminal
//	migratebot plan --config FILE --service S --step STEP [--repo DIR]
//	                                     print the diff a step would make on a local checkout
//	migratebot setup --url https://HOST  print the GitHub App and Slack app manifests to create the apps
//	migratebot version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // change windows name time zones; the image has no zoneinfo

	"github.com/migratebot/migratebot/app"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage:
  migratebot serve --config FILE
  migratebot sandbox [--script FILE] [--json] [--tickets github|jira|servicenow]
  migratebot setup --url https://HOST [--org ORG] [--socket] [--name NAME] [--github https://GHE-HOST]
  migratebot plan --config FILE --service S --step dns-source|point-traffic|ttl|decommission|bump:N|rollback:N [--repo DIR]
  migratebot version`

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "migratebot:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("no command\n" + usage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "sandbox":
		return runSandbox(ctx, args[1:], stdin, stdout, stderr)
	case "plan":
		return runPlan(ctx, args[1:], stdout, stderr)
	case "setup":
		return runSetup(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "migratebot", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		return errors.New("serve needs --config FILE\n" + usage)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	host, _ := os.Hostname()
	bot, closeRedis, err := app.Open(ctx, *path, os.Getenv, app.Options{Log: log, Replica: fmt.Sprintf("%s-%d", host, os.Getpid())})
	if err != nil {
		return err
	}
	defer closeRedis()
	cfg := bot.Config
	srv := app.Server(cfg.Listen, bot.Handler)
	workersDone := make(chan error, 1)
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	go func() { workersDone <- bot.RunWorkers(workCtx) }()
	go bot.RunTimers(workCtx)
	socketErr := make(chan error, 1)
	if bot.Socket != nil {
		// Slack over Socket Mode: it stops taking commands at SIGTERM, as
		// the HTTP server does; a refused token stops the bot.
		go func() { socketErr <- bot.Socket.Run(ctx) }()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.ListenAndServe() }()
	log.Info("migratebot serving", "addr", cfg.Listen, "version", version, "workers", cfg.Workers)

	select {
	case err := <-serveErr:
		stopWork()
		<-workersDone
		return fmt.Errorf("http: %w", err)
	case err := <-socketErr:
		if err != nil {
			stopWork()
			<-workersDone
			return fmt.Errorf("slack socket mode: %w", err)
		}
	case <-ctx.Done():
	}
	// SIGTERM: stop taking requests, then let the workers finish the jobs in hand.
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Error("http shutdown", "err", err)
	}
	stopWork()
	return <-workersDone
}
