// Package sandboxtest runs the whole bot in a test: the sandbox's wiring,
// through the real HTTP handlers, on a real redis-server, driven by script
// lines of the sandbox language. The end-to-end and fault tests share it.
package sandboxtest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/internal/redistest"
	"github.com/migratebot/migratebot/internal/testkit"
	"github.com/migratebot/migratebot/sandbox"
)

// Harness is one bot under test, with a Redis key prefix and logs of its
// own.
type Harness struct {
	T      testing.TB
	SB     *sandbox.Sandbox
	Prefix string
	Logs   *testkit.Buffer
	line   int
}

// New starts the bot with sandbox options; an empty RedisURL is the test
// package's shared redis-server (redistest.Main). The key prefix and logs
// are the harness's own, and the logs are printed if the test fails.
func New(t testing.TB, o sandbox.Options) *Harness {
	t.Helper()
	if o.RedisURL == "" {
		o.RedisURL = "redis://" + redistest.Shared().Addr
	}
	logs := &testkit.Buffer{}
	prefix := redistest.Prefix(t)
	o.KeyPrefix = prefix
	o.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sb, err := sandbox.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bot logs:\n%s", logs)
		}
	})
	return &Harness{T: t, SB: sb, Prefix: prefix, Logs: logs}
}

// Do runs script lines (the sandbox language) to completion and returns
// their events; a line the sandbox cannot run fails the test.
func (h *Harness) Do(lines ...string) []sandbox.Event {
	h.T.Helper()
	var all []sandbox.Event
	for _, l := range lines {
		h.line++
		evs, err := h.SB.Exec(context.Background(), h.line, l)
		if err != nil {
			h.T.Fatalf("%s: %v", l, err)
		}
		for _, e := range evs {
			if e.Kind == "error" {
				h.T.Fatalf("%s: the sandbox could not run it: %s", l, e.Message)
			}
		}
		all = append(all, evs...)
	}
	return all
}

// Migration is the active migration of key; none fails the test.
func (h *Harness) Migration(key bot.ServiceKey) *bot.Migration {
	h.T.Helper()
	m, err := h.SB.App().Store.Load(context.Background(), key)
	if err != nil {
		h.T.Fatalf("load %s: %v", key, err)
	}
	return m
}
