package metrics

import (
	"errors"
	"testing"
	"time"
)

func TestCountersByLabel(t *testing.T) {
	m := New()
	m.Command("advance", CommandOK)
	m.Command("advance", CommandOK)
	m.Command("advance", CommandRefused)
	m.Command("unknown", CommandBadInput)
	m.Command("abort", CommandFailed)
	m.Intake(SourceGitHub, "pull_request", IntakeQueued)
	m.Intake(SourceGitHub, "pull_request", IntakeDuplicate)
	m.Intake(SourceGitHub, "push", IntakeIgnored)
	m.Intake(SourceSlack, "command", IntakeRejected)
	m.Intake(SourceSlack, "command", IntakeRejected)
	m.Intake(SourceSlack, "interaction", IntakeBadInput)
	m.Job("merge", 10*time.Millisecond, nil)
	m.Job("merge", 20*time.Millisecond, errors.New("boom"))
	m.Job("timer", time.Second, nil)

	got := scrape(t, m.Handler())
	got.lint(t)

	tests := []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"command ok", "migratebot_commands_total", labels("verb", "advance", "outcome", "ok"), 2},
		{"command refused", "migratebot_commands_total", labels("verb", "advance", "outcome", "refused"), 1},
		{"command bad input", "migratebot_commands_total", labels("verb", "unknown", "outcome", "bad_input"), 1},
		{"command failed", "migratebot_commands_total", labels("verb", "abort", "outcome", "failed"), 1},
		{"webhook queued", "migratebot_intake_total", labels("source", "github", "event", "pull_request", "outcome", "queued"), 1},
		{"webhook duplicate", "migratebot_intake_total", labels("source", "github", "event", "pull_request", "outcome", "duplicate"), 1},
		{"webhook ignored", "migratebot_intake_total", labels("source", "github", "event", "push", "outcome", "ignored"), 1},
		{"slack rejected", "migratebot_intake_total", labels("source", "slack", "event", "command", "outcome", "rejected"), 2},
		{"slack bad input", "migratebot_intake_total", labels("source", "slack", "event", "interaction", "outcome", "bad_input"), 1},
		{"job ok", "migratebot_jobs_total", labels("kind", "merge", "outcome", "ok"), 1},
		{"job failed", "migratebot_jobs_total", labels("kind", "merge", "outcome", "failed"), 1},
		{"other kind", "migratebot_jobs_total", labels("kind", "timer", "outcome", "ok"), 1},
		{"durations of both outcomes", "migratebot_job_duration_seconds", labels("kind", "merge"), 2},
		{"duration of other kind", "migratebot_job_duration_seconds", labels("kind", "timer"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v := got.value(t, tt.metric, tt.labels); v != tt.want {
				t.Errorf("%s%v = %v, want %v", tt.metric, tt.labels, v, tt.want)
			}
		})
	}
	if n := len(got["migratebot_commands_total"].GetMetric()); n != 4 {
		t.Errorf("%d command series, want 4: %v", n, got.series("migratebot_commands_total"))
	}
}

func TestJobDurationBuckets(t *testing.T) {
	m := New()
	m.Job("apply", 2*time.Second, nil)
	m.Job("apply", 45*time.Second, nil)

	s, ok := scrape(t, m.Handler()).find("migratebot_job_duration_seconds", labels("kind", "apply"))
	if !ok {
		t.Fatal("no migratebot_job_duration_seconds{kind=apply}")
	}
	h := s.GetHistogram()
	if h.GetSampleSum() != 47 {
		t.Errorf("sum %v, want 47", h.GetSampleSum())
	}
	want := map[float64]uint64{1: 0, 2.5: 1, 30: 1, 60: 2, 120: 2}
	for _, b := range h.GetBucket() {
		if w, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
	}
}

func TestRuntimeCollectors(t *testing.T) {
	got := scrape(t, New().Handler())
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "promhttp_metric_handler_requests_total"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no %s in the scrape", name)
		}
	}
}

func TestRegistriesIndependent(t *testing.T) {
	a, b := New(), New()
	a.Command("status", CommandOK)
	b.Command("status", CommandOK)
	b.Command("status", CommandOK)
	b.Intake(SourceSlack, "command", IntakeQueued)

	ga, gb := scrape(t, a.Handler()), scrape(t, b.Handler())
	if v := ga.value(t, "migratebot_commands_total", labels("verb", "status", "outcome", "ok")); v != 1 {
		t.Errorf("a: commands %v, want 1", v)
	}
	if v := gb.value(t, "migratebot_commands_total", labels("verb", "status", "outcome", "ok")); v != 2 {
		t.Errorf("b: commands %v, want 2", v)
	}
	if _, ok := ga["migratebot_intake_total"]; ok {
		t.Errorf("a has b's intake: %v", ga.series("migratebot_intake_total"))
	}
}
