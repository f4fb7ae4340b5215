package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

var key = bot.ServiceKey{Env: "kprod", Service: "web-api"}

func newStore(t *testing.T) *Store {
	return New(redistest.Client(t), redistest.Prefix(t))
}

func TestCreateFreezesTheService(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.Create(ctx, &bot.Migration{ID: "a", Key: key, Status: bot.StatusActive}); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, &bot.Migration{ID: "b", Key: key, Status: bot.StatusActive}); !errors.Is(err, bot.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	m, err := s.Load(ctx, key)
	if err != nil || m.ID != "a" || m.Version != 1 {
		t.Fatalf("load: %+v %v", m, err)
	}
	active, err := s.Active(ctx)
	if err != nil || len(active) != 1 || active[0] != key {
		t.Fatalf("active: %v %v", active, err)
	}
}

func TestVersionedSave(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.Create(ctx, &bot.Migration{ID: "a", Key: key, Status: bot.StatusActive}); err != nil {
		t.Fatal(err)
	}
	first, _ := s.Load(ctx, key)
	second, _ := s.Load(ctx, key)
	first.Weights = bot.WeightsForNew(10)
	if err := s.Save(ctx, first); err != nil {
		t.Fatal(err)
	}
	second.Weights = bot.WeightsForNew(25)
	if err := s.Save(ctx, second); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("stale save: %v, want ErrConflict", err)
	}
	if second.Version != 1 {
		t.Errorf("a failed save changed the caller's version to %d", second.Version)
	}
	got, _ := s.Load(ctx, key)
	if got.Weights.New != 10 || got.Version != 2 {
		t.Errorf("stored %+v, want the first writer's weights at version 2", got)
	}
}

// TestZeroWeightSurvives: 0 is a real weight and comes back as 0.
func TestZeroWeightSurvives(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	m := &bot.Migration{ID: "a", Key: key, Status: bot.StatusActive, Weights: bot.Weights{Old: 100, New: 0}}
	if err := s.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	raw := s.rdb.HGet(ctx, s.migrationKey(key), "data").Val()
	if want := `"weights":{"old":100,"new":0}`; !strings.Contains(raw, want) {
		t.Errorf("stored JSON %s lacks %s", raw, want)
	}
}

// TestAbortingStaysFrozen: a migration whose reverts are still open is not
// over: it stays active and the service frozen.
func TestAbortingStaysFrozen(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	m := &bot.Migration{ID: "a", Key: key, Status: bot.StatusActive}
	if err := s.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	m.Status = bot.StatusAborting
	if err := s.Save(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, m); err != nil {
		t.Fatalf("a second save while aborting: %v", err)
	}
	if got, err := s.Load(ctx, key); err != nil || got.Status != bot.StatusAborting {
		t.Fatalf("load = %+v, %v", got, err)
	}
	if err := s.Create(ctx, &bot.Migration{ID: "b", Key: key, Status: bot.StatusActive}); !errors.Is(err, bot.ErrExists) {
		t.Fatalf("a new migration started while aborting: %v", err)
	}
}

func TestCompletedMigrationIsArchived(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	m := &bot.Migration{ID: "a", Key: key, Status: bot.StatusActive}
	if err := s.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	m.Status = bot.StatusCompleted
	if err := s.Save(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, key); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("completed migration still active: %v", err)
	}
	if active, _ := s.Active(ctx); len(active) != 0 {
		t.Errorf("still listed active: %v", active)
	}
	hist, err := s.History(ctx, key)
	if err != nil || len(hist) != 1 || hist[0].ID != "a" {
		t.Fatalf("history %+v %v", hist, err)
	}
	if err := s.Create(ctx, &bot.Migration{ID: "b", Key: key, Status: bot.StatusActive}); err != nil {
		t.Fatalf("unfrozen service could not start again: %v", err)
	}
}

// TestLockIsExclusive: of many concurrent takers exactly one holds the lock;
// an unlock by a former holder whose lock expired frees nothing.
func TestLockIsExclusive(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var held atomic.Int32
	var wg sync.WaitGroup
	var unlocks []func()
	var mu sync.Mutex
	for range 50 {
		wg.Go(func() {
			unlock, err := s.Lock(ctx, key, time.Minute)
			if err == nil {
				held.Add(1)
				mu.Lock()
				unlocks = append(unlocks, unlock)
				mu.Unlock()
			} else if !errors.Is(err, bot.ErrLocked) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if held.Load() != 1 {
		t.Fatalf("%d holders, want 1", held.Load())
	}
	unlocks[0]()
	if _, err := s.Lock(ctx, key, 50*time.Millisecond); err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	time.Sleep(120 * time.Millisecond) // the short lock expires
	unlockB, err := s.Lock(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	unlocks[0]() // a stale holder's unlock must not free B's lock
	if _, err := s.Lock(ctx, key, time.Minute); !errors.Is(err, bot.ErrLocked) {
		t.Fatalf("a stale unlock freed someone else's lock: %v", err)
	}
	unlockB()
}

func TestIndexes(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.FindPR(ctx, "acme/envs", 3); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("unknown PR: %v", err)
	}
	if err := s.IndexPR(ctx, "acme/envs", 3, key); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindPR(ctx, "acme/envs", 3); err != nil || got != key {
		t.Fatalf("FindPR = %v %v", got, err)
	}
	th := bot.Thread{Channel: "C1", TS: "1.2"}
	if err := s.IndexThread(ctx, th, key); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindThread(ctx, th); err != nil || got != key {
		t.Fatalf("FindThread = %v %v", got, err)
	}
	if err := s.SetLastUsed(ctx, "T", "C1", "U1", key); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LastUsed(ctx, "T", "C1", "U1"); err != nil || got != key {
		t.Fatalf("LastUsed = %v %v", got, err)
	}
	if _, err := s.LastUsed(ctx, "T", "C2", "U1"); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("another channel's context leaked: %v", err)
	}
}

// TestDeliveryOnce: a delivery id is queued once however often it comes, even
// concurrently, and every job is run once and removed.
func TestDeliveryOnce(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	q := NewQueue(rdb, redistest.Prefix(t), "test", nil)
	var wg sync.WaitGroup
	var fresh atomic.Int32
	for i := range 40 {
		wg.Go(func() {
			id := []string{"d-1", "d-2"}[i%2]
			err := q.EnqueueDelivery(ctx, id, bot.Job{Kind: bot.JobPullRequest, DeliveryID: id, PullRequest: &bot.PullRequestEvent{Number: i}})
			switch {
			case err == nil:
				fresh.Add(1)
			case !errors.Is(err, bot.ErrDuplicate):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if fresh.Load() != 2 {
		t.Fatalf("%d deliveries queued, want 2", fresh.Load())
	}
	var ran []string
	n, err := q.Drain(ctx, func(_ context.Context, j bot.Job) error { ran = append(ran, j.DeliveryID); return nil })
	if err != nil || n != 2 || len(ran) != 2 {
		t.Fatalf("drain ran %d (%v), %v", n, ran, err)
	}
	if l := rdb.XLen(ctx, q.stream).Val(); l != 0 {
		t.Errorf("%d done jobs left in the stream", l)
	}
	if n, _ := q.Drain(ctx, func(context.Context, bot.Job) error { return nil }); n != 0 {
		t.Errorf("a done job ran again")
	}
}

// roundTrips counts what a go-redis client sends Redis: one per command,
// one per pipeline however many commands it holds. Opening a connection
// (HELLO, CLIENT SETINFO) is not counted: go-redis does it once per
// connection, when it likes, not once per request.
type roundTrips struct{ n atomic.Int64 }

func handshake(cmd goredis.Cmder) bool { return cmd.Name() == "hello" || cmd.Name() == "client" }

func (h *roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if !handshake(cmd) {
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if len(cmds) > 0 && !handshake(cmds[0]) {
			h.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// TestLoadMany: LoadMany returns the migrations asked for in the order they
// were asked for, skips those that finished or are gone, and reads 2,500 of
// them (three chunks) in three round trips rather than 2,500.
func TestLoadMany(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const n = 2500
	keys := make([]bot.ServiceKey, n)
	for i := range keys {
		keys[i] = bot.ServiceKey{Env: "kprod", Service: fmt.Sprintf("svc-%04d", i)}
		m := &bot.Migration{ID: fmt.Sprintf("m%d", i), Key: keys[i], Status: bot.StatusActive, Weights: bot.WeightsForNew(int64(i % 100))}
		if err := s.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// One finishes (archived, as Save does), one hash is deleted outright,
	// each in a different chunk; and one key never had a migration.
	finished, err := s.Load(ctx, keys[10])
	if err != nil {
		t.Fatal(err)
	}
	finished.Status = bot.StatusCompleted
	if err := s.Save(ctx, finished); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.Del(ctx, s.migrationKey(keys[1500])).Err(); err != nil {
		t.Fatal(err)
	}
	never := bot.ServiceKey{Env: "kprod", Service: "never-started"}

	// Asked for newest first, with the missing ones among them.
	ask := []bot.ServiceKey{never}
	var want []string
	for i := n - 1; i >= 0; i-- {
		ask = append(ask, keys[i])
		if i != 10 && i != 1500 {
			want = append(want, fmt.Sprintf("m%d", i))
		}
	}

	hook := &roundTrips{}
	counted := New(redistest.Client(t), s.prefix)
	counted.rdb.AddHook(hook)
	got, err := counted.LoadMany(ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(got))
	for i, m := range got {
		ids[i] = m.ID
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("LoadMany returned %d migrations, want %d in the order asked; first: %v, want %v", len(ids), len(want), ids[:min(5, len(ids))], want[:5])
	}
	for _, m := range got {
		i, err := strconv.Atoi(strings.TrimPrefix(m.Key.Service, "svc-"))
		if err != nil || m.ID != fmt.Sprintf("m%d", i) || m.Weights != bot.WeightsForNew(int64(i%100)) || m.Version != 1 {
			t.Fatalf("%s came back as %+v", m.Key, m)
		}
	}
	if trips := hook.n.Load(); trips != 3 {
		t.Errorf("LoadMany of %d keys took %d round trips, want 3 (a pipeline per 1,000)", len(ask), trips)
	}

	hook.n.Store(0)
	none, err := counted.LoadMany(ctx, nil)
	if err != nil || len(none) != 0 || hook.n.Load() != 0 {
		t.Errorf("LoadMany of no keys: %v, %v, %d round trips; want nothing and no round trip", none, err, hook.n.Load())
	}
}

// TestLoadManyUnreadable: a migration whose stored JSON cannot be read
// fails LoadMany with an error that names it, rather than being skipped
// as if it were finished.
func TestLoadManyUnreadable(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	other := bot.ServiceKey{Env: "kprod", Service: "search"}
	for _, k := range []bot.ServiceKey{key, other} {
		if err := s.Create(ctx, &bot.Migration{ID: k.Service, Key: k, Status: bot.StatusActive}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.rdb.HSet(ctx, s.migrationKey(other), "data", "{not json").Err(); err != nil {
		t.Fatal(err)
	}
	_, err := s.LoadMany(ctx, []bot.ServiceKey{key, other})
	if err == nil || !strings.Contains(err.Error(), "decode migration kprod/search") {
		t.Fatalf("LoadMany of an unreadable migration: %v, want an error naming kprod/search", err)
	}
}
