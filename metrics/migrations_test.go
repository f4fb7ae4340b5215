package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeLister answers with its fields and records each call.
type fakeLister struct {
	mu      sync.Mutex
	byStep  map[string]int
	err     error
	calls   int
	lastCtx context.Context
}

func (f *fakeLister) list(ctx context.Context) (map[string]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.lastCtx = ctx
	return f.byStep, f.err
}

func (f *fakeLister) set(byStep map[string]int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byStep, f.err = byStep, err
}

func (f *fakeLister) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func TestMigrationsReadAtScrape(t *testing.T) {
	m := New()
	f := &fakeLister{byStep: map[string]int{"canary": 2, "half": 1}}
	m.Migrations(f.list)
	if n := f.callCount(); n != 0 {
		t.Fatalf("list called %d times before any scrape", n)
	}

	got := scrape(t, m.Handler())
	got.lint(t)
	if n := f.callCount(); n != 1 {
		t.Errorf("list called %d times for one scrape, want 1", n)
	}
	if _, ok := f.lastCtx.Deadline(); !ok {
		t.Error("list's context has no deadline")
	}
	if v := got.value(t, "migratebot_migrations_up", nil); v != 1 {
		t.Errorf("up %v, want 1", v)
	}
	for step, want := range map[string]float64{"canary": 2, "half": 1} {
		if v := got.value(t, "migratebot_migrations", labels("step", step)); v != want {
			t.Errorf("step %s: %v, want %v", step, v, want)
		}
	}

	// The next scrape sees the store as it is then.
	f.set(map[string]int{"half": 3}, nil)
	got = scrape(t, m.Handler())
	if n := f.callCount(); n != 2 {
		t.Errorf("list called %d times for two scrapes, want 2", n)
	}
	if v := got.value(t, "migratebot_migrations", labels("step", "half")); v != 3 {
		t.Errorf("half: %v, want 3", v)
	}
	if _, ok := got.find("migratebot_migrations", labels("step", "canary")); ok {
		t.Error("a step with no migrations left is still reported")
	}
}

func TestMigrationsError(t *testing.T) {
	m := New()
	f := &fakeLister{byStep: map[string]int{"canary": 2}, err: errors.New("redis down")}
	m.Migrations(f.list)
	m.Command("status", CommandOK)

	got := scrape(t, m.Handler()) // fails the test unless the scrape answers 200
	if v := got.value(t, "migratebot_migrations_up", nil); v != 0 {
		t.Errorf("up %v, want 0", v)
	}
	if _, ok := got["migratebot_migrations"]; ok {
		t.Errorf("migrations reported despite the error: %v", got.series("migratebot_migrations"))
	}
	if v := got.value(t, "migratebot_commands_total", labels("verb", "status", "outcome", "ok")); v != 1 {
		t.Errorf("other metrics lost with the error: commands %v, want 1", v)
	}
}

func TestMigrationsUnset(t *testing.T) {
	got := scrape(t, New().Handler())
	for _, name := range []string{"migratebot_migrations", "migratebot_migrations_up"} {
		if _, ok := got[name]; ok {
			t.Errorf("%s reported before Migrations was called", name)
		}
	}
}

func TestMigrationsScrapeContext(t *testing.T) {
	m := New()
	m.Migrations(func(ctx context.Context) (map[string]int, error) {
		<-ctx.Done() // a stuck store
		return nil, ctx.Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/metrics", nil)
	rec := httptest.NewRecorder()

	start := time.Now()
	m.Handler().ServeHTTP(rec, req)
	if took := time.Since(start); took > listTimeout/2 {
		t.Errorf("scrape took %v after its request was given up", took)
	}
}

func TestMigrationsIndependent(t *testing.T) {
	a, b := New(), New()
	a.Migrations(func(context.Context) (map[string]int, error) { return map[string]int{"canary": 1}, nil })
	if _, ok := scrape(t, b.Handler())["migratebot_migrations"]; ok {
		t.Error("b reports a's migrations")
	}
	if v := scrape(t, a.Handler()).value(t, "migratebot_migrations", labels("step", "canary")); v != 1 {
		t.Errorf("a: canary %v, want 1", v)
	}
}
