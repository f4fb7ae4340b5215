package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/redisstore"
)

// MigrationBytes is what N migrations cost Redis.
type MigrationBytes struct {
	N int
	// Shape of the migration copied: its JSON's size, changes in history,
	// reviews and tickets over all its changes.
	JSONBytes, History, Reviews, Tickets int
	// KeyBytes is MEMORY USAGE (SAMPLES 0) of one migration's hash, summed
	// over the N and divided by N; Encoding its OBJECT ENCODING.
	KeyBytes float64
	Encoding string
	// UsedMemoryDelta is INFO memory's used_memory after the N minus
	// before, and PerMigration that over N (the active set's entries and
	// the allocator's overhead included).
	UsedMemoryDelta int64
	PerMigration    float64
	// Took is how long creating and saving the N took through the store.
	Took time.Duration
}

// MeasureMigrationBytes creates n copies of m through the store, under
// prefix on rdb (a Redis server of the bench's own), each created then
// saved once as a real migration is, and measures what they cost.
func MeasureMigrationBytes(ctx context.Context, rdb *goredis.Client, prefix string, m *bot.Migration, n int) (MigrationBytes, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return MigrationBytes{}, err
	}
	r := MigrationBytes{N: n, JSONBytes: len(raw), History: len(m.History)}
	for _, c := range append(slices.Clone(m.History), derefChange(m.Open)...) {
		r.Reviews += len(c.Reviews)
		if c.Ticket != nil && c.Ticket.Ticket != nil {
			r.Tickets++
		}
	}
	before, err := usedMemory(ctx, rdb)
	if err != nil {
		return r, err
	}
	store := redisstore.New(rdb, prefix)
	keys := make([]bot.ServiceKey, n)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				var c bot.Migration
				if err := json.Unmarshal(raw, &c); err != nil {
					errs <- err
					return
				}
				c.Key = bot.ServiceKey{Env: m.Key.Env, Service: fmt.Sprintf("%s-%05d", m.Key.Service, i)}
				c.ID = fmt.Sprintf("%s-%05d", m.ID, i)
				keys[i] = c.Key
				if err := store.Create(ctx, &c); err != nil {
					errs <- err
					return
				}
				if err := store.Save(ctx, &c); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	r.Took = time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return r, err
	}
	after, err := usedMemory(ctx, rdb)
	if err != nil {
		return r, err
	}
	r.UsedMemoryDelta = after - before
	r.PerMigration = float64(r.UsedMemoryDelta) / float64(n)
	// MEMORY USAGE of every migration's hash, pipelined.
	cmds := make([]*goredis.IntCmd, n)
	_, err = rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.MemoryUsage(ctx, migrationKey(prefix, k), 0)
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	var sum int64
	for _, c := range cmds {
		sum += c.Val()
	}
	r.KeyBytes = float64(sum) / float64(n)
	r.Encoding, err = rdb.ObjectEncoding(ctx, migrationKey(prefix, keys[0])).Result()
	return r, err
}

func derefChange(c *bot.Change) []bot.Change {
	if c == nil {
		return nil
	}
	return []bot.Change{*c}
}

// migrationKey is a migration's hash, as redisstore names it.
func migrationKey(prefix string, k bot.ServiceKey) string {
	return prefix + ":{" + k.String() + "}:migration"
}

func usedMemory(ctx context.Context, rdb *goredis.Client) (int64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no used_memory in INFO memory")
}

// KeyGroup is the keys of one kind under a prefix: how many, their MEMORY
// USAGE summed, and whether they expire.
type KeyGroup struct {
	Pattern string
	Count   int
	Bytes   int64
	TTL     string
}

// KeysByKind lists every key under prefix grouped by kind ("pr",
// "thread", "{env/service}:migration", …), with what they cost.
func KeysByKind(ctx context.Context, rdb *goredis.Client, prefix string) ([]KeyGroup, error) {
	var keys []string
	iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, err
	}
	groups := map[string]*KeyGroup{}
	for _, k := range keys {
		pat := keyKind(strings.TrimPrefix(k, prefix+":"))
		g := groups[pat]
		if g == nil {
			g = &KeyGroup{Pattern: pat}
			groups[pat] = g
		}
		n, err := rdb.MemoryUsage(ctx, k, 0).Result()
		if err != nil {
			return nil, err
		}
		ttl, err := rdb.TTL(ctx, k).Result()
		if err != nil {
			return nil, err
		}
		g.Count++
		g.Bytes += n
		if ttl > 0 {
			g.TTL = fmt.Sprintf("%.0f d", ttl.Hours()/24)
		} else if g.TTL == "" {
			g.TTL = "none"
		}
	}
	var out []KeyGroup
	for _, g := range groups {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b KeyGroup) int { return strings.Compare(a.Pattern, b.Pattern) })
	return out, nil
}

// keyKind names a key's kind: "{kprod/search}:migration" and
// "{queue}:jobs" stay as they are, "{queue}:delivery:0b1c" becomes
// "{queue}:delivery:…" and "pr:acme/envs-config#3" "pr:…".
func keyKind(k string) string {
	tag := ""
	if strings.HasPrefix(k, "{") {
		end := strings.Index(k, "}:")
		if end < 0 {
			return k
		}
		tag, k = k[:end+2], k[end+2:]
	}
	kind, rest, _ := strings.Cut(k, ":")
	if tag != "" && rest == "" {
		return tag + kind
	}
	return tag + kind + ":…"
}
