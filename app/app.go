// Package app wires migratebot together from its config, secrets and Redis:
// the adapters, the engine, the queue and the HTTP routes. `serve`, the
// sandbox and the end-to-end tests all build the bot through it, so they run
// the same bot.
package app

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/aws"
	"github.com/migratebot/migratebot/bot/github"
	"github.com/migratebot/migratebot/bot/httpprobe"
	"github.com/migratebot/migratebot/bot/redisstore"
	"github.com/migratebot/migratebot/bot/slack"
	"github.com/migratebot/migratebot/clock"
	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/handlers"
	"github.com/migratebot/migratebot/metrics"
	"github.com/migratebot/migratebot/templates"
)

// Options are what the bot is built from.
type Options struct {
	Config  *config.Config
	Secrets config.Secrets
	Redis   goredis.UniversalClient
	// Clock defaults to the wall clock.
	Clock clock.Clock
	Log   *slog.Logger
	// Replica names this process among the workers; default "replica".
	Replica string
	// KeyPrefix prefixes every Redis key; default "mb".
	KeyPrefix string
	// AWSAccessKeyID and AWSSecretAccessKey are static AWS credentials for
	// the sandbox and tests; empty uses AWS's default chain.
	AWSAccessKeyID, AWSSecretAccessKey string
	// Prober checks health URLs; default: HTTP GET with a 5 s timeout.
	Prober bot.Prober
	// Metrics counts what the bot does, served at /metrics; default: a
	// registry of its own.
	Metrics *metrics.Metrics
	// TicketRetryWait is the first wait between the HTTP retries of Jira
	// and ServiceNow calls; zero keeps each adapter's own (about a second).
	// The sandbox shortens it: the engine retries a failed sync later
	// anyway, on its own backoff.
	TicketRetryWait time.Duration
}

// App is a built bot.
type App struct {
	Config  *config.Config
	Engine  *bot.Engine
	Store   *redisstore.Store
	Queue   *redisstore.Queue
	GitHub  *github.Client
	Handler http.Handler
	Metrics *metrics.Metrics
	// Socket takes Slack's commands and clicks over Socket Mode, when the
	// config chooses it; nil for HTTP.
	Socket *handlers.SlackSocket
	clock  clock.Clock
	log    *slog.Logger
}

// New builds the bot. It calls nothing outside the process (AWS's default
// credential chain is resolved lazily).
func New(ctx context.Context, o Options) (*App, error) {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Replica == "" {
		o.Replica = "replica"
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	m := o.Metrics
	tmpl, err := templates.Parse()
	if err != nil {
		return nil, err
	}
	gh, err := github.New(github.Config{
		AppID: o.Config.GitHub.AppID, PrivateKey: o.Secrets.GitHubPrivateKey,
		APIURL: o.Config.GitHub.APIURL, Timeout: time.Duration(o.Config.GitHub.Timeout), Log: o.Log,
		Transport: m.Transport(metrics.SystemGitHub, nil),
	})
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	m.LabelInstallations(github.InstallationOf)
	chat := slack.New(o.Secrets.SlackBotToken, o.Config.Slack.APIURL, time.Duration(o.Config.Slack.Timeout), m.Transport(metrics.SystemSlack, nil))
	store := redisstore.New(o.Redis, o.KeyPrefix)
	queue := redisstore.NewQueue(o.Redis, o.KeyPrefix, o.Replica, o.Log)
	queue.SetClaimAfter(time.Duration(o.Config.Redis.ClaimAfter))
	var certs bot.Certificates
	var awsClient *aws.Client
	if o.Config.AWS.Region != "" {
		client, err := aws.New(ctx, aws.Config{
			Region: o.Config.AWS.Region, BaseEndpoint: o.Config.AWS.Endpoint, Timeout: time.Duration(o.Config.AWS.Timeout),
			AccessKeyID: o.AWSAccessKeyID, SecretAccessKey: o.AWSSecretAccessKey,
			Transport: m.Transport(metrics.SystemAWS, nil),
		})
		if err != nil {
			return nil, fmt.Errorf("aws: %w", err)
		}
		certs = acmCertificates{client}
		awsClient = client
	}
	health, err := healthSources(o.Config, o.Secrets, awsClient, m)
	if err != nil {
		return nil, err
	}
	if o.Prober == nil {
		o.Prober = httpprobe.New(5 * time.Second)
	}
	tickets, err := ticketSystems(o.Config, o.Secrets, gh, o.TicketRetryWait, m)
	if err != nil {
		return nil, err
	}
	engine := bot.NewEngine(bot.Deps{
		Config: o.Config, Store: store, Repos: gh, Chat: chat, Certificates: certs, Prober: o.Prober,
		Scheduler: queue, Tickets: tickets, Clock: o.Clock, Templates: tmpl, Log: o.Log, Observer: m,
		DNS: health.dns, Traffic: health.traffic, Alarms: health.alarms, HealthChecks: health.checks,
		// A crashed replica's lock expires before its jobs are taken over.
		LockTTL: min(2*time.Minute, cmp.Or(time.Duration(o.Config.Redis.ClaimAfter), redisstore.DefaultClaimAfter)/2),
	})
	commands := &handlers.SlackCommands{Secret: o.Secrets.SlackSigningSecret, Config: o.Config, Queue: queue, Log: o.Log}
	interactions := &handlers.SlackInteractions{Secret: o.Secrets.SlackSigningSecret, Queue: queue, Log: o.Log}
	var socket *handlers.SlackSocket
	if o.Config.Slack.Mode == config.SlackModeSocket {
		socket = &handlers.SlackSocket{AppToken: o.Secrets.SlackAppToken, APIURL: o.Config.Slack.APIURL, Commands: commands, Interactions: interactions, Log: o.Log}
	}
	limit := handlers.NewLimiter(o.Config.MaxInFlight, time.Second)
	limit.Shed = shedReporter(m, o.Log, o.Config.MaxInFlight)
	m.InFlight(limit.InFlight, o.Config.MaxInFlight)
	mux := handlers.Mux(handlers.Routes{
		SlackCommands:     commands,
		SlackInteractions: interactions,
		GitHubWebhooks:    &handlers.GitHubWebhooks{Secret: o.Secrets.GitHubWebhookSecret, Queue: queue, Installations: gh, Log: o.Log, Intake: m.Intake},
		Ready:             store.Ping,
		Metrics:           m.Handler(),
		Limit:             limit,
	})
	m.Migrations(migrationsByStep(store, o.Log))
	return &App{Config: o.Config, Engine: engine, Store: store, Queue: queue, GitHub: gh, Handler: mux, Metrics: m, Socket: socket, clock: o.Clock, log: o.Log}, nil
}

// shedReporter counts each request the limiter sheds, by where it came
// from, and logs the shedding at most every 10 seconds, with how many, so
// an overload does not also flood the logs.
func shedReporter(m *metrics.Metrics, log *slog.Logger, maxInFlight int) func(*http.Request) {
	var mu sync.Mutex
	var last time.Time
	shed := 0
	return func(r *http.Request) {
		source, event := metrics.SourceSlack, "interaction"
		switch {
		case strings.HasPrefix(r.URL.Path, "/github/"):
			source, event = metrics.SourceGitHub, "other"
			if e := r.Header.Get("X-GitHub-Event"); slices.Contains(handlers.HandledEvents, e) {
				event = e // a bounded label
			}
		case strings.HasSuffix(r.URL.Path, "/commands"):
			event = "command"
		}
		m.Intake(source, event, metrics.IntakeShed)
		mu.Lock()
		defer mu.Unlock()
		shed++
		if now := time.Now(); now.Sub(last) >= 10*time.Second {
			log.WarnContext(r.Context(), "too many requests in flight: answering 503", "shed", shed, "max_in_flight", maxInFlight)
			last, shed = now, 0
		}
	}
}

// migrationsByStep counts the active migrations by the step each is at,
// for the migrations gauge: read from Redis when Prometheus scrapes. A
// read that fails is logged, as the gauge can only say it is down.
func migrationsByStep(store *redisstore.Store, log *slog.Logger) func(ctx context.Context) (map[string]int, error) {
	return func(ctx context.Context) (map[string]int, error) {
		out := map[string]int{}
		err := bot.EachActive(ctx, store, func(m *bot.Migration) {
			step := "done"
			if cur, ok := m.Current(); ok {
				step = cur.ID
			}
			if m.Status != bot.StatusActive {
				step = string(m.Status)
			}
			out[step]++
		})
		if err != nil {
			log.ErrorContext(ctx, "could not count the migrations for /metrics", "err", err)
			return nil, err
		}
		return out, nil
	}
}

// handle runs one job, timing it for the metrics.
func (a *App) handle(ctx context.Context, job bot.Job) error {
	start := time.Now()
	err := a.Engine.Handle(ctx, job)
	a.Metrics.Job(string(job.Kind), time.Since(start), err)
	return err
}

// acmCertificates adapts the AWS client to the domain's port.
type acmCertificates struct{ c *aws.Client }

func (a acmCertificates) CheckCertificate(ctx context.Context, arn, host string, now time.Time) (bot.CertCheck, error) {
	r, err := a.c.CheckCertificate(ctx, arn, host, now)
	if err != nil {
		return bot.CertCheck{}, err
	}
	return bot.CertCheck{Domains: r.Domains, NotAfter: r.NotAfter, Covers: r.Covers, Expired: r.Expired}, nil
}

// RunTimers fires due timers every second until ctx is done.
func (a *App) RunTimers(ctx context.Context) {
	a.Queue.RunTimers(ctx, a.clock, time.Second)
}

// RunWorkers runs the configured number of workers until ctx is done, then
// lets the jobs in hand finish.
func (a *App) RunWorkers(ctx context.Context) error {
	return a.Queue.Run(ctx, a.Config.Workers, a.handle)
}

// Drain runs every queued job to the end, one at a time, and returns how
// many it ran.
func (a *App) Drain(ctx context.Context) (int, error) {
	return a.Queue.Drain(ctx, a.handle)
}
