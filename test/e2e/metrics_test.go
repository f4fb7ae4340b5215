package e2e

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// scrape reads the bot's /metrics and returns each sample by its name and
// labels as Prometheus prints them: `name{a="b"}` → value.
func scrape(t *testing.T, h *harness) map[string]float64 {
	t.Helper()
	resp, err := http.Get(h.SB.BotURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics answered %d", resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("unreadable sample %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// sum adds the samples whose name and labels match re.
func sum(samples map[string]float64, re string) float64 {
	r := regexp.MustCompile(re)
	total := 0.0
	for k, v := range samples {
		if r.MatchString(k) {
			total += v
		}
	}
	return total
}

// TestMetricsAfterARun: after a sandbox run, /metrics shows commands by
// verb and outcome, jobs and their latency, outside calls by system, the
// installation's rate limit, webhooks by outcome and migrations by step.
func TestMetricsAfterARun(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate next", "github merge last", "github redeliver",
		"clock +31m", "/migrate next", "/migrate bump 300", "/migrate next")
	s := scrape(t, h)
	for _, c := range []struct {
		what, re string
		min      float64
	}{
		{"start commands that worked", `^migratebot_commands_total\{outcome="ok",verb="start"\}$`, 1},
		{"next commands that worked", `^migratebot_commands_total\{outcome="ok",verb="next"\}$`, 2},
		{"a refused next (a PR is open)", `^migratebot_commands_total\{outcome="refused",verb="next"\}$`, 1},
		{"jobs done", `^migratebot_jobs_total\{kind="command",outcome="ok"\}$`, 3},
		{"job latency observed", `^migratebot_job_duration_seconds_count\{kind="timer"\}$`, 1},
		{"GitHub calls", `^migratebot_outside_calls_total\{code_class="2xx",system="github"\}$`, 10},
		{"Slack calls", `^migratebot_outside_calls_total\{code_class="2xx",system="slack"\}$`, 3},
		{"AWS calls (preflight, health)", `^migratebot_outside_calls_total\{code_class="2xx",system="aws"\}$`, 2},
		{"the installation's rate limit, by its id", `^migratebot_github_rate_limit_remaining\{installation="[1-9][0-9]*",resource="core"\}$`, 1},
		{"the merge webhook queued", `^migratebot_intake_total\{event="pull_request",outcome="queued",source="github"\}$`, 1},
		{"its redelivery dropped", `^migratebot_intake_total\{event="pull_request",outcome="duplicate",source="github"\}$`, 1},
		{"search at weights-25", `^migratebot_migrations\{step="weights-25"\}$`, 1},
		{"the migrations read", `^migratebot_migrations_up$`, 1},
	} {
		if got := sum(s, c.re); got < c.min {
			t.Errorf("%s: %s = %g, want at least %g", c.what, c.re, got, c.min)
		}
	}
	for name := range s {
		if strings.HasPrefix(name, "migratebot_github_rate_limit") && strings.Contains(name, `installation="unknown"`) {
			t.Errorf("%s: a call made as an installation was not labelled with it", name)
		}
	}
}

// TestMigrationsGaugeDownIsLogged: when a stored migration cannot be read,
// the gauge says it is down and the log says why, naming the migration.
func TestMigrationsGaugeDownIsLogged(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search")
	key := h.Prefix + ":{kprod/search}:migration"
	if err := h.SB.Redis().HSet(context.Background(), key, "data", "{not json").Err(); err != nil {
		t.Fatal(err)
	}
	s := scrape(t, h)
	if got, ok := s["migratebot_migrations_up"]; !ok || got != 0 {
		t.Errorf("migratebot_migrations_up = %v (%v), want 0", got, ok)
	}
	logs := h.Logs.String()
	if !strings.Contains(logs, "could not count the migrations for /metrics") || !strings.Contains(logs, "kprod/search") {
		t.Errorf("the log does not say why the gauge is down, naming kprod/search:\n%s", logs)
	}
}
