// Package metrics holds migratebot's Prometheus metrics for operators, served
// at /metrics by [Metrics.Handler].
//
// Every Metrics has a registry of its own, never the global default, so tests
// and the sandbox can build as many as they like.
//
// The metrics, their labels and what they mean:
//
//   - migratebot_commands_total{verb,outcome} (counter): commands by verb and
//     outcome: "ok", "refused", "bad_input" or "failed".
//   - migratebot_intake_total{source,event,outcome} (counter): webhooks and
//     Slack requests answered at the edge. source is "github" or "slack";
//     outcome is "queued", "duplicate", "ignored", "rejected" (signature or
//     authorisation) or "bad_input".
//   - migratebot_jobs_total{kind,outcome} (counter): jobs taken from the queue,
//     by kind, with outcome "ok" or "failed".
//   - migratebot_job_duration_seconds{kind} (histogram): how long each job took,
//     whatever its outcome.
//   - migratebot_outside_calls_total{system,code_class} (counter): HTTP calls
//     to outside systems ("github", "slack", "jira", "servicenow",
//     "prometheus", "aws"), one per attempt, so retries count. code_class is
//     "1xx" to "5xx", or "error" when no response came back (connection
//     refused, timeout, cancelled).
//   - migratebot_outside_call_duration_seconds{system} (histogram): time from
//     sending a call to its response headers; reading the body is not timed.
//   - migratebot_github_rate_limit_remaining{resource} and
//     migratebot_github_rate_limit{resource} (gauges): the installation's
//     remaining and total GitHub rate limit as GitHub last reported it
//     (X-RateLimit-Remaining, X-RateLimit-Limit), by X-RateLimit-Resource
//     ("core", "search", "graphql", ...; "unknown" if GitHub did not say).
//   - migratebot_migrations{step} (gauge): active migrations by step, read when
//     scraped from the function given to [Metrics.Migrations].
//   - migratebot_migrations_up (gauge): 1 if that read succeeded, 0 if it
//     failed (and then no migratebot_migrations series are reported).
//
// The Go runtime (go_*) and process (process_*) collectors are registered too,
// and promhttp_metric_handler_requests_total counts the scrapes.
//
// Label values must come from fixed sets: never a URL, a repo, a user or an
// id, which would make a new series each time. Callers pass verbs, events and
// kinds from their own closed lists (an unknown command is "bad_input" with a
// fixed verb such as "unknown", not the word the user typed).
package metrics

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Outcomes of a command, for [Metrics.Command].
const (
	CommandOK       = "ok"
	CommandRefused  = "refused"
	CommandBadInput = "bad_input"
	CommandFailed   = "failed"
)

// Sources and outcomes of intake, for [Metrics.Intake].
const (
	SourceGitHub = "github"
	SourceSlack  = "slack"

	IntakeQueued    = "queued"
	IntakeDuplicate = "duplicate"
	IntakeIgnored   = "ignored"
	IntakeRejected  = "rejected"
	IntakeBadInput  = "bad_input"
	// IntakeShed: answered 503 because too many requests were in flight.
	IntakeShed = "shed"
)

// Outside systems, for [Metrics.Transport].
const (
	SystemGitHub     = "github"
	SystemSlack      = "slack"
	SystemJira       = "jira"
	SystemServiceNow = "servicenow"
	SystemPrometheus = "prometheus"
	SystemAWS        = "aws"
)

// Outcomes of a job, as [Metrics.Job] records them.
const (
	JobOK     = "ok"
	JobFailed = "failed"
)

// listTimeout bounds the read behind migratebot_migrations, within the
// scrape's own context, so a stuck store cannot hold a scrape for ever.
const listTimeout = 5 * time.Second

// Buckets in seconds. Jobs call GitHub and chat several times, so they reach
// further than a single outside call, which the clients time out at 15s.
var (
	jobBuckets  = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
	callBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
)

// Metrics records what migratebot does. Its methods are safe for concurrent
// use.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	commands     *prometheus.CounterVec
	intake       *prometheus.CounterVec
	jobs         *prometheus.CounterVec
	jobDuration  *prometheus.HistogramVec
	calls        *prometheus.CounterVec
	callDuration *prometheus.HistogramVec
	rateLeft     *prometheus.GaugeVec
	rateLimit    *prometheus.GaugeVec

	// list is what Migrations was given; nil until then.
	list atomic.Pointer[func(context.Context) (map[string]int, error)]
	// installation is what LabelInstallations was given; nil until then.
	installation atomic.Pointer[func(context.Context) string]
}

// New returns Metrics with every metric registered on a new registry of its
// own, along with the Go and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "migratebot_commands_total",
			Help: "Commands by verb and outcome (ok, refused, bad_input, failed).",
		}, []string{"verb", "outcome"}),
		intake: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "migratebot_intake_total",
			Help: "Webhooks and Slack requests answered at the edge, by source, event and outcome (queued, duplicate, ignored, rejected, bad_input, shed).",
		}, []string{"source", "event", "outcome"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "migratebot_jobs_total",
			Help: "Jobs taken from the queue, by kind and outcome (ok, failed).",
		}, []string{"kind", "outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "migratebot_job_duration_seconds",
			Help:    "How long jobs took, by kind, whatever their outcome.",
			Buckets: jobBuckets,
		}, []string{"kind"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "migratebot_outside_calls_total",
			Help: "HTTP calls to outside systems, one per attempt, by system and status class (1xx-5xx, or error when no response came back).",
		}, []string{"system", "code_class"}),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "migratebot_outside_call_duration_seconds",
			Help:    "Time from sending an outside call to its response headers, by system.",
			Buckets: callBuckets,
		}, []string{"system"}),
		rateLeft: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "migratebot_github_rate_limit_remaining",
			Help: "An installation's remaining GitHub rate limit as last reported (X-RateLimit-Remaining), by installation and resource.",
		}, []string{"installation", "resource"}),
		rateLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "migratebot_github_rate_limit",
			Help: "An installation's GitHub rate limit per window as last reported (X-RateLimit-Limit), by installation and resource.",
		}, []string{"installation", "resource"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.commands, m.intake, m.jobs, m.jobDuration,
		m.calls, m.callDuration, m.rateLeft, m.rateLimit,
	)
	m.handler = promhttp.InstrumentMetricHandler(m.reg, http.HandlerFunc(m.serve))
	return m
}

// InFlight reports the Slack and GitHub requests being served, read at
// each scrape from inFlight, against their bound.
func (m *Metrics) InFlight(inFlight func() int, bound int) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "migratebot_requests_in_flight",
			Help: "Slack and GitHub requests being served now; beyond migratebot_requests_in_flight_max they are shed (503).",
		}, func() float64 { return float64(inFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "migratebot_requests_in_flight_max",
			Help: "The bound on Slack and GitHub requests served at once (max_in_flight).",
		}, func() float64 { return float64(bound) }),
	)
}

// Handler serves this registry's metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler { return m.handler }

// serve gathers the registry and, with the scrape's context, the migrations.
// Collectors get no context from client_golang, so the migrations collector is
// built for each scrape around the request's context: a scrape that gives up
// stops the read behind it.
func (m *Metrics) serve(w http.ResponseWriter, r *http.Request) {
	g := prometheus.Gatherers{m.reg}
	if list := m.list.Load(); list != nil {
		ctx, cancel := context.WithTimeout(r.Context(), listTimeout)
		defer cancel()
		per := prometheus.NewRegistry()
		per.MustRegister(newMigrationsCollector(ctx, *list))
		g = append(g, per)
	}
	promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// Command counts a command by verb and outcome (CommandOK, CommandRefused,
// CommandBadInput, CommandFailed).
func (m *Metrics) Command(verb, outcome string) {
	m.commands.WithLabelValues(verb, outcome).Inc()
}

// Intake counts a webhook or Slack request answered at the edge, by source
// (SourceGitHub, SourceSlack), event and outcome (IntakeQueued,
// IntakeDuplicate, IntakeIgnored, IntakeRejected, IntakeBadInput,
// IntakeShed).
func (m *Metrics) Intake(source, event, outcome string) {
	m.intake.WithLabelValues(source, event, outcome).Inc()
}

// Job counts a job taken from the queue, "ok" if err is nil and "failed"
// otherwise, and records how long it took.
func (m *Metrics) Job(kind string, took time.Duration, err error) {
	outcome := JobOK
	if err != nil {
		outcome = JobFailed
	}
	m.jobs.WithLabelValues(kind, outcome).Inc()
	m.jobDuration.WithLabelValues(kind).Observe(took.Seconds())
}
