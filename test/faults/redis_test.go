package faults

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/internal/redistest"
	"github.com/migratebot/migratebot/sandbox"
)

// TestRedisRestartMidRun: the bot's Redis, with an append-only file
// fsynced on every write, is killed and started again between the steps of
// a migration, and once while a merge webhook is queued and not yet
// handled. Everything the bot keeps comes back as it was (the migration,
// the queued job, the delivery id, the due timers), and the flow goes on
// to complete each step exactly once.
func TestRedisRestartMidRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, err := redistest.Start("appendonly yes", "appendfsync always")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	h := newHarnessOpts(t, sandbox.Options{RedisURL: "redis://" + srv.Addr})
	gh, slack, rdb := h.SB.GitHub(), h.SB.Slack(), h.SB.Redis()
	// restart kills Redis and starts it again; what the bot had in it must
	// come back the same.
	restart := func(when string) {
		t.Helper()
		before := dump(t, rdb)
		if err := srv.Restart(); err != nil {
			t.Fatalf("restart Redis %s: %v", when, err)
		}
		if diff := cmp.Diff(before, dump(t, rdb)); diff != "" {
			t.Fatalf("Redis restarted %s lost or changed (-before +after):\n%s", when, diff)
		}
	}

	h.Do("as alice", "/migrate start search")
	restart("after the start")
	h.Do("/migrate next")
	restart("with the PR open")

	// The merge webhook is taken and queued by the bot's handler; the
	// sandbox runs jobs only when a script line settles, so it waits.
	if err := gh.Merge(envRepo, 1, "bob"); err != nil {
		t.Fatal(err)
	}
	stream := h.key("{queue}:jobs")
	if n, err := rdb.XLen(ctx, stream).Result(); err != nil || n != 1 {
		t.Fatalf("%d jobs queued after the merge webhook (%v), want 1", n, err)
	}
	restart("with the merge queued")
	if n, err := rdb.XLen(ctx, stream).Result(); err != nil || n != 1 {
		t.Fatalf("%d jobs queued after the restart (%v), want the merge's", n, err)
	}
	// The delivery id survived too: GitHub's redelivery is a duplicate.
	if err := gh.Redeliver(); err != nil {
		t.Fatal(err)
	}
	if ds := gh.Deliveries(); !ds[len(ds)-1].Redelivery || ds[len(ds)-1].Status != http.StatusOK {
		t.Errorf("the redelivery was answered %d, want 200 (a duplicate)", ds[len(ds)-1].Status)
	}
	h.Do("clock +1s") // runs the queued merge
	m := h.migration()
	if m.Open != nil || m.Weights != (bot.Weights{Old: 90, New: 10}) || len(m.History) != 1 || m.History[0].ClosedBy != "bob" {
		t.Fatalf("after the merge: open %+v, weights %s, %d changes", m.Open, m.Weights, len(m.History))
	}
	timers, err := h.SB.App().Queue.Pending(ctx)
	if err != nil || len(timers) == 0 {
		t.Fatalf("no timers pending after the merge (%v): want the health summary's", err)
	}
	restart("with the health timers pending")

	h.Do("clock +13m") // the health summary, from the timers that survived
	if m := h.migration(); m.LastHealth == nil || m.LastHealth.Verdict != bot.VerdictHealthy {
		t.Fatalf("no healthy summary after the restart: %+v", m.LastHealth)
	}
	restart("before the next step")
	h.Do("clock +30m", "/migrate next")

	m = h.migration()
	if m.Open == nil || m.Open.Step != "weights-25" || m.Open.State != bot.ChangeOpen {
		t.Fatalf("the next step did not open: %+v", m.Open)
	}
	heads := map[string]int{}
	for _, pr := range gh.PRs(envRepo) {
		heads[pr.Head]++
	}
	if len(heads) != 2 || heads[stepBranch] != 1 || heads["migratebot/search/weights-25"] != 1 {
		t.Errorf("PRs by branch %v, want one each for weights-10 and weights-25", heads)
	}
	for _, step := range []string{"weights-10", "weights-25"} {
		if msgs := stepMessages(slack.Messages(), m.Thread.TS, step); len(msgs) != 1 {
			t.Errorf("%d %s messages in the thread, want 1", len(msgs), step)
		}
	}
	tickets := h.SB.Tickets()
	if len(tickets) != 2 || tickets[0].State != "closed" || strings.Count(strings.Join(tickets[0].Notes, "\n"), "Merged by bob") != 1 {
		t.Errorf("tickets %+v, want weights-10's closed with the merge noted once, and weights-25's", tickets)
	}
}

// key is one of the bot's Redis keys.
func (h *harness) key(name string) string { return h.Prefix + ":" + name }

// dump is every key in Redis with its type and value, as text to compare.
// Expiry times are left out (they count down), whether a key expires is
// kept.
func dump(t *testing.T, rdb *goredis.Client) []string {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		typ := rdb.Type(ctx, k).Val()
		var val any
		switch typ {
		case "string":
			val = rdb.Get(ctx, k).Val()
		case "hash":
			val = rdb.HGetAll(ctx, k).Val()
		case "set":
			v := rdb.SMembers(ctx, k).Val()
			sort.Strings(v)
			val = v
		case "list":
			val = rdb.LRange(ctx, k, 0, -1).Val()
		case "zset":
			val = rdb.ZRangeWithScores(ctx, k, 0, -1).Val()
		case "stream":
			groups := rdb.XInfoGroups(ctx, k).Val()
			for i := range groups {
				// Counters Redis rebuilds on load, which the queue never reads.
				groups[i].EntriesRead, groups[i].Lag = 0, 0
			}
			var pending []goredis.XPendingExt
			for _, g := range groups {
				pending = append(pending, rdb.XPendingExt(ctx, &goredis.XPendingExtArgs{Stream: k, Group: g.Name, Start: "-", End: "+", Count: 1000}).Val()...)
			}
			for i := range pending {
				pending[i].Idle = 0 // it counts up
			}
			val = fmt.Sprintf("entries %v groups %+v pending %+v", rdb.XRange(ctx, k, "-", "+").Val(), groups, pending)
		}
		out = append(out, fmt.Sprintf("%s (%s, expires %v) = %v", k, typ, rdb.PTTL(ctx, k).Val() > 0, val))
	}
	return out
}
