// Package sandbox runs the whole bot in one process against emulators of
// GitHub and Slack, with an embedded Redis (or REDIS_URL) and a fake clock,
// driven by a script (see DESIGN.md's sandbox language). Every observable
// effect is reported as an Event, printed as a transcript or as JSON lines.
package sandbox

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/app"
	"github.com/migratebot/migratebot/bot/httpprobe"
	"github.com/migratebot/migratebot/clock"
	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/test/awsemu"
	"github.com/migratebot/migratebot/test/githubemu"
	"github.com/migratebot/migratebot/test/jiraemu"
	"github.com/migratebot/migratebot/test/servicenowemu"
	"github.com/migratebot/migratebot/test/slackemu"
)

// Options say how to run the sandbox.
type Options struct {
	// RedisURL is a real Redis to use; empty starts an embedded one.
	RedisURL string
	// Log receives the bot's own logs; nil discards them.
	Log *slog.Logger
	// Start is the fake clock's start; zero means 2026-01-05 09:00 UTC, a
	// Monday morning.
	Start time.Time
	// KeyPrefix prefixes the bot's Redis keys; empty means one of its own
	// for each run, so a shared REDIS_URL keeps no state between runs.
	KeyPrefix string
	// Configure, when set, may change the sandbox's config before the bot
	// starts (tests use it for change windows and freezes).
	Configure func(*config.Config)
	// Tickets is the ticket system kprod files change tickets in: "github"
	// (issues in acme/change-requests, the default), "jira" or
	// "servicenow", each an emulator of its own.
	Tickets string
}

// Sandbox is a running bot with its emulators.
type Sandbox struct {
	app    *app.App
	gh     *githubemu.Server
	slack  *slackemu.Server
	clock  *clock.Fake
	botSrv *httptest.Server
	aws    *awsemu.Server
	// The ticket system: issues in ticketRepo, or an emulator.
	ticketRepo  string
	jira        *jiraemu.Server
	snow        *servicenowemu.Server
	seenTickets map[string]TicketView
	// cfg is the bot's config; services the AWS world the script shaped.
	cfg      *config.Config
	services map[string]*serviceWorld
	// appOptions built the bot; NewReplica builds more like it.
	appOptions app.Options
	// targets answers the services' health URLs.
	targets *httptest.Server
	redis   *goredis.Client
	mini    *miniredis.Miniredis

	mu     sync.Mutex
	line   int     // the script line being run
	events []Event // events of the line being run
	// lastPR is the newest PR the bot opened: "repo#number".
	lastPR   string
	asUser   string
	down     map[string]bool // services whose new target's health URL fails
	userIDs  map[string]string
	userName map[string]string
}

// New starts the emulators, Redis and the bot.
func New(ctx context.Context, o Options) (_ *Sandbox, err error) {
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	}
	s := &Sandbox{clock: clock.NewFake(o.Start), asUser: "alice", down: map[string]bool{}, userIDs: map[string]string{}, userName: map[string]string{}, seenTickets: map[string]TicketView{}, services: map[string]*serviceWorld{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	cfg, err := config.Parse(config.SandboxYAML)
	if err != nil {
		return nil, fmt.Errorf("sandbox config: %w", err)
	}
	if o.Configure != nil {
		o.Configure(cfg)
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("sandbox config: %w", err)
		}
	}
	if err := s.useTicketSystem(cfg, o.Tickets); err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("app key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	secrets := config.Secrets{
		GitHubPrivateKey: keyPEM, GitHubWebhookSecret: "sandbox-webhook-secret",
		SlackBotToken: sandboxSlackToken, SlackSigningSecret: "sandbox-signing-secret",
		JiraEmail: "migratebot@acme.example", JiraToken: "sandbox-jira-token",
		ServiceNowUsername: servicenowemu.DefaultUsername, ServiceNowPassword: servicenowemu.DefaultPassword,
	}

	s.gh = githubemu.New(githubemu.Options{
		AppID: cfg.GitHub.AppID, AppPublicKey: &key.PublicKey, BotLogin: "migratebot[bot]",
		WebhookSecret: secrets.GitHubWebhookSecret, OnEvent: s.onGitHub,
	})
	s.gh.AddInstallation(sandboxInstall, sandboxOwner)
	for repo, files := range seedRepos {
		if err := s.gh.AddRepo(repo, "main", files); err != nil {
			return nil, fmt.Errorf("seed %s: %w", repo, err)
		}
		for _, u := range githubUsers {
			s.gh.SetPermission(repo, u.Login, u.Permission)
		}
	}
	for slug, members := range githubTeams {
		s.gh.AddTeam(sandboxOwner, slug, members...)
	}
	s.slack = slackemu.New(slackemu.Options{
		SigningSecret: secrets.SlackSigningSecret, BotToken: secrets.SlackBotToken,
		TeamID: sandboxTeam, TeamDomain: "acme", OnEvent: s.onSlack,
	})
	s.slack.AddChannel(sandboxChannel, sandboxChannelName)
	for _, u := range slackUsers {
		s.slack.AddUser(u.ID, u.Name)
		s.userIDs[u.Name] = u.ID
		s.userName[u.ID] = u.Name
	}
	for _, g := range slackGroups {
		var ids []string
		for _, name := range g.Members {
			ids = append(ids, s.userIDs[name])
		}
		s.slack.AddUserGroup(g.ID, g.Handle, ids...)
	}
	cfg.GitHub.APIURL = s.gh.URL()
	cfg.Slack.APIURL = s.slack.APIURL()

	s.aws = awsemu.New(awsemu.Options{Region: cfg.AWS.Region, AccessKeyID: sandboxAWSKey, SecretAccessKey: sandboxAWSSecret})
	for _, c := range certificates {
		s.aws.AddCertificate(awsemu.Certificate{ARN: c.ARN, DomainName: c.Domain, SANs: c.SANs, NotAfter: o.Start.AddDate(1, 0, 0), Status: "ISSUED"})
	}
	cfg.AWS.Endpoint = s.aws.URL()
	if err := s.seedAWS(cfg); err != nil {
		return nil, err
	}
	s.cfg = cfg
	// The new targets' health URLs keep their configured names; the
	// sandbox's prober dials the targets server for every host, which
	// answers by the Host header.
	hostService := map[string]string{}
	for name, svc := range cfg.Services {
		if u, err := url.Parse(svc.New.HealthURL); err == nil && u.Host != "" {
			hostService[u.Hostname()] = name
		}
	}
	s.targets = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		s.mu.Lock()
		down := s.down[hostService[host]]
		s.mu.Unlock()
		if down {
			http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	}))
	prober := httpprobe.New(5 * time.Second)
	targetsAddr := s.targets.Listener.Addr().String()
	prober.Client.Transport = &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, targetsAddr)
	}}

	if o.RedisURL != "" {
		opt, err := goredis.ParseURL(o.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		s.redis = goredis.NewClient(opt)
	} else {
		s.mini = miniredis.NewMiniRedis()
		if err := s.mini.Start(); err != nil {
			return nil, fmt.Errorf("embedded redis: %w", err)
		}
		s.redis = goredis.NewClient(&goredis.Options{Addr: s.mini.Addr()})
	}
	if err := s.redis.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = fmt.Sprintf("sandbox-%d", time.Now().UnixNano())
	}
	s.appOptions = app.Options{
		Config: cfg, Secrets: secrets, Redis: s.redis, Clock: s.clock, Log: o.Log,
		Replica: "sandbox", KeyPrefix: o.KeyPrefix,
		AWSAccessKeyID: sandboxAWSKey, AWSSecretAccessKey: sandboxAWSSecret, Prober: prober,
		TicketRetryWait: time.Millisecond,
	}
	s.app, err = app.New(ctx, s.appOptions)
	if err != nil {
		return nil, err
	}
	s.botSrv = httptest.NewServer(s.app.Handler)
	s.gh.SetWebhookURL(s.botSrv.URL + "/github/webhooks")
	s.slack.SetBotURLs(s.botSrv.URL+"/slack/commands", s.botSrv.URL+"/slack/interactions")
	return s, nil
}

// Close stops everything the sandbox started.
func (s *Sandbox) Close() {
	if s.botSrv != nil {
		s.botSrv.Close()
	}
	if s.gh != nil {
		s.gh.Close()
	}
	if s.aws != nil {
		s.aws.Close()
	}
	if s.jira != nil {
		s.jira.Close()
	}
	if s.snow != nil {
		s.snow.Close()
	}
	if s.targets != nil {
		s.targets.Close()
	}
	if s.slack != nil {
		s.slack.Close()
	}
	if s.redis != nil {
		s.redis.Close()
	}
	if s.mini != nil {
		s.mini.Close()
	}
}

// Secrets are the secrets the sandbox's bot runs with (the GitHub App's
// key the emulator trusts, the webhook and Slack secrets), for tests that
// run the real binary against the sandbox's emulators.
func (s *Sandbox) Secrets() config.Secrets { return s.appOptions.Secrets }

// TargetsURL is the base URL of the server answering the services' health
// URLs (by Host header), for processes without the sandbox's prober.
func (s *Sandbox) TargetsURL() string { return s.targets.URL }

// NewReplica builds another replica of the bot on the same Redis, key
// prefix, clock and emulators, as a second process would be: tests use it
// to show what survives a restart and what several replicas do once.
func (s *Sandbox) NewReplica(ctx context.Context, name string) (*app.App, error) {
	o := s.appOptions
	o.Replica = name
	return app.New(ctx, o)
}

// GitHub returns the GitHub emulator.
func (s *Sandbox) GitHub() *githubemu.Server { return s.gh }

// SetHealthy makes a service's new target answer its health URL, or not.
func (s *Sandbox) SetHealthy(service string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down[service] = !ok
}

// Jira returns the Jira emulator, when the sandbox files tickets there.
func (s *Sandbox) Jira() *jiraemu.Server { return s.jira }

// ServiceNow returns the ServiceNow emulator, when the sandbox files
// tickets there.
func (s *Sandbox) ServiceNow() *servicenowemu.Server { return s.snow }

// AWS returns the AWS emulator.
func (s *Sandbox) AWS() *awsemu.Server { return s.aws }

// App returns the bot.
func (s *Sandbox) App() *app.App { return s.app }

// BotURL is the base URL of the bot's HTTP handlers.
func (s *Sandbox) BotURL() string { return s.botSrv.URL }

// Clock returns the fake clock.
func (s *Sandbox) Clock() *clock.Fake { return s.clock }

// UserID returns a sandbox Slack user's id.
func (s *Sandbox) UserID(name string) string { return s.userIDs[name] }

// Redis returns the client of the sandbox's Redis.
func (s *Sandbox) Redis() *goredis.Client { return s.redis }

// Slack returns the Slack emulator.
func (s *Sandbox) Slack() *slackemu.Server { return s.slack }

// Run runs a script, calling emit with each line's events as the line ends.
// A line the sandbox cannot run is an "error" event; the script goes on.
func (s *Sandbox) Run(ctx context.Context, script io.Reader, emit func([]Event) error) error {
	sc := bufio.NewScanner(script)
	for n := 1; sc.Scan(); n++ {
		events, err := s.Exec(ctx, n, sc.Text())
		if err != nil {
			return err
		}
		if err := emit(events); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Exec runs one script line and returns its events. The error is for the
// sandbox itself failing; a bad line is an "error" event.
func (s *Sandbox) Exec(ctx context.Context, n int, line string) ([]Event, error) {
	s.mu.Lock()
	s.line, s.events = n, nil
	s.mu.Unlock()
	text := StripComment(strings.TrimSpace(line))
	if text != "" && !strings.HasPrefix(text, "#") {
		if err := s.exec(ctx, text); err != nil {
			var bad *lineError
			if !errors.As(err, &bad) {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			s.record(Event{Kind: "error", Message: bad.Error()})
		}
		if err := s.settle(ctx); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		s.observeTickets()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	events := s.events
	s.events = nil
	return events, nil
}

// settle runs until nothing is left to do: every webhook delivered, every
// timer due by the fake clock fired, and every job run to the end.
func (s *Sandbox) settle(ctx context.Context) error {
	for {
		s.gh.WaitIdle()
		s.applyDNS()
		if _, err := s.app.Queue.FireDue(ctx, s.clock.Now()); err != nil {
			return err
		}
		n, err := s.app.Drain(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// lineError is a script line the sandbox could not run.
type lineError struct{ msg string }

func (e *lineError) Error() string { return e.msg }

func badLine(format string, args ...any) error { return &lineError{msg: fmt.Sprintf(format, args...)} }

func (s *Sandbox) record(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.Line = s.line
	s.events = append(s.events, e)
}

// trailingComment is a comment after a script line: "#" after white space
// and before a space or the end (so "#3", a PR, is not one).
var trailingComment = regexp.MustCompile(`\s+#(\s.*)?$`)

// StripComment removes a line's trailing comment; a github comment's text
// is kept whole.
func StripComment(line string) string {
	if strings.HasPrefix(line, "github comment") {
		return line
	}
	return strings.TrimSpace(trailingComment.ReplaceAllString(line, ""))
}
