package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/migratebot/migratebot/bot"
)

// TestManyActiveMigrations: with more active migrations than the bot reads
// in one batch, the migrations gauge counts every one, and the answers that
// list migrations stay short: "Which migration?" names 20 and /migrate list
// shows 50, each saying how many more there are.
func TestManyActiveMigrations(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search")
	ctx := context.Background()
	store := h.SB.App().Store
	here := h.migration().Thread.Channel
	// 24 more in this channel (25 with search), 1,100 in another.
	var elsewhere []*bot.Migration
	for i := range 1124 {
		m := &bot.Migration{
			ID: fmt.Sprintf("m%04d", i), Status: bot.StatusActive,
			Key:    bot.ServiceKey{Env: "kprod", Service: fmt.Sprintf("svc-%04d", i)},
			Thread: bot.Thread{Channel: "C0ELSEWHERE", TS: "1.0"},
		}
		if i < 24 {
			m.Thread.Channel = here
		} else {
			elsewhere = append(elsewhere, m)
		}
		if err := store.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// Three finish: they are no longer active anywhere.
	for _, m := range elsewhere[:3] {
		m.Status = bot.StatusCompleted
		if err := store.Save(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	const active = 1 + 1124 - 3

	s := scrape(t, h)
	if got := sum(s, `^migratebot_migrations\{`); got != active {
		t.Errorf("migratebot_migrations sums to %v, want %d", got, active)
	}
	if s["migratebot_migrations_up"] != 1 {
		t.Errorf("migratebot_migrations_up = %v, want 1", s["migratebot_migrations_up"])
	}

	// dave has no last migration here: the bot asks which of the 25.
	said := ephemeralTo(h.Do("as dave", "/migrate next"), "dave")
	want := "Which migration? Active in this channel: search, svc-0000, "
	if len(said) != 1 || !strings.Contains(said[0], want) || !strings.Contains(said[0], "svc-0018, …and 5 more.") || strings.Contains(said[0], "svc-0019") {
		t.Fatalf("dave was told %q, want %q…, up to svc-0018, and \"…and 5 more\"", said, want)
	}

	said = ephemeralTo(h.Do("as alice", "/migrate list"), "alice")
	if len(said) != 1 {
		t.Fatalf("/migrate list answered %q", said)
	}
	list := said[0]
	if !strings.HasPrefix(list, fmt.Sprintf("*Active migrations* (%d):\n", active)) {
		t.Errorf("/migrate list does not start with the count of %d: %.80q", active, list)
	}
	if n := strings.Count(list, "\n• "); n != 50 {
		t.Errorf("/migrate list shows %d migrations, want 50", n)
	}
	if !strings.HasSuffix(list, fmt.Sprintf("\n…and %d more. `/migrate status <service>` shows any one of them.", active-50)) {
		t.Errorf("/migrate list does not end by saying how many more: …%q", list[max(0, len(list)-120):])
	}
}
