package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/app"
	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/config"
)

// CountingHook counts the round trips a go-redis client makes: one per
// command, one per pipeline or transaction.
type CountingHook struct{ n atomic.Int64 }

// Count is how many round trips so far.
func (h *CountingHook) Count() int64 { return h.n.Load() }

func (h *CountingHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *CountingHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *CountingHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// ScanCost is what one operation that reads every active migration cost.
type ScanCost struct {
	What       string
	Took       time.Duration
	RoundTrips int64
	Note       string
}

// slackStub answers every Slack Web API call ok, and records the methods.
type slackStub struct {
	mu    sync.Mutex
	calls map[string]int
	bytes map[string]int
}

func (s *slackStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body) // a stub: a short read only shortens the count
	method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	s.mu.Lock()
	s.calls[method]++
	s.bytes[method] += len(body)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true,"channel":"C0MIGRATE","ts":"1700000000.000100","message_ts":"1700000000.000100"}`)
}

// MeasureFullScans builds the bot (app.New) on the migrations under prefix
// at redisAddr and times the two things that read every active migration:
// a Prometheus scrape of /metrics (the migrations gauge) and a command
// that names no service from a user with no last-used migration in a
// channel (the engine lists the active migrations to find the one meant).
func MeasureFullScans(ctx context.Context, redisAddr, prefix string, active int) ([]ScanCost, error) {
	hook := &CountingHook{}
	rdb := goredis.NewClient(&goredis.Options{Addr: redisAddr})
	defer rdb.Close()
	rdb.AddHook(hook)
	stub := &slackStub{calls: map[string]int{}, bytes: map[string]int{}}
	slackSrv := httptest.NewServer(stub)
	defer slackSrv.Close()
	bot0, err := NewApp(ctx, rdb, prefix, slackSrv.URL+"/api/")
	if err != nil {
		return nil, err
	}
	var out []ScanCost

	n0 := hook.Count()
	start := time.Now()
	rec := httptest.NewRecorder()
	bot0.Handler.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/metrics", nil))
	took := time.Since(start)
	body := rec.Body.String()
	counted := sumGauge(body, "migratebot_migrations")
	note := fmt.Sprintf("migratebot_migrations sums to %d of %d; migratebot_migrations_up %s", counted, active, gaugeValue(body, "migratebot_migrations_up"))
	out = append(out, ScanCost{What: "GET /metrics (migrations gauge)", Took: took, RoundTrips: hook.Count() - n0, Note: note})

	n0 = hook.Count()
	start = time.Now()
	err = bot0.Engine.Handle(ctx, bot.Job{Kind: bot.JobCommand, Command: &bot.CommandRequest{
		Team: slackTeam, Channel: "C0ELSEWHERE", User: slackAlice, Text: "status",
	}})
	took = time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("status without a service: %w", err)
	}
	stub.mu.Lock()
	note = fmt.Sprintf("answered with %d chat.postEphemeral", stub.calls["chat.postEphemeral"])
	stub.mu.Unlock()
	out = append(out, ScanCost{What: "`/migrate status` naming no service (worker)", Took: took, RoundTrips: hook.Count() - n0, Note: note})
	return out, nil
}

var gaugeLine = regexp.MustCompile(`(?m)^(\w+)(\{[^}]*\})? (\S+)$`)

func sumGauge(body, name string) int {
	total := 0
	for _, m := range gaugeLine.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			v, _ := strconv.ParseFloat(m[3], 64)
			total += int(v)
		}
	}
	return total
}

func gaugeValue(body, name string) string {
	for _, m := range gaugeLine.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return m[3]
		}
	}
	return "absent"
}

// NewApp builds the bot as `serve` does (app.New), on rdb under prefix,
// with the sandbox's config, its Slack API at slackAPI, a GitHub App key of
// its own and the secrets "bench": for measuring in-process what needs no
// GitHub or AWS.
func NewApp(ctx context.Context, rdb goredis.UniversalClient, prefix, slackAPI string) (*app.App, error) {
	cfg, err := config.Parse(config.SandboxYAML)
	if err != nil {
		return nil, err
	}
	cfg.Slack.APIURL = slackAPI
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return app.New(ctx, app.Options{
		Config: cfg, Redis: rdb, KeyPrefix: prefix, Replica: "bench",
		Secrets: config.Secrets{
			GitHubPrivateKey:    pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
			GitHubWebhookSecret: BenchSecret, SlackBotToken: "xoxb-bench", SlackSigningSecret: BenchSecret,
		},
		AWSAccessKeyID: "AKIABENCH", AWSSecretAccessKey: BenchSecret,
	})
}

// BenchSecret is NewApp's webhook and Slack signing secret.
const BenchSecret = "bench-secret"
