package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/redisstore"
)

// BenchmarkFireDue is the scheduler's cost as timers pile up: every replica
// calls FireDue once a second. Each sub-benchmark keeps `pending` timers
// due in the future (one per active migration, as a health or decommission
// timer would be) and, before each call, adds `due` timers due now. The
// cost should follow `due`, not `pending`: the timers are a sorted set and
// FireDue's script reads only the due range (ZRANGEBYSCORE … LIMIT).
//
// Besides ns/op it reports round-trips/op (client calls to Redis) and
// redis-cmds/op (commands Redis ran for FireDue, its script's included, from
// INFO commandstats).
func BenchmarkFireDue(b *testing.B) {
	for _, pending := range []int{100, 10_000, 100_000} {
		rdb, prefix := testRedis(b)
		ctx := context.Background()
		now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
		q := redisstore.NewQueue(rdb, prefix, "bench", nil)
		if err := addTimers(ctx, rdb, prefix, "pending", pending, now.Add(time.Hour), time.Second); err != nil {
			b.Fatal(err)
		}
		// The timers are where Queue looks for them: Pending lists them.
		if got, err := q.Pending(ctx); err != nil || len(got) != pending {
			b.Fatalf("Pending: %d timers, %v; want %d", len(got), err, pending)
		}
		for _, due := range []int{0, 10, 100} {
			b.Run(fmt.Sprintf("pending=%d/due=%d", pending, due), func(b *testing.B) {
				hook := &CountingHook{}
				counted := goredis.NewClient(&goredis.Options{Addr: rdb.Options().Addr})
				defer counted.Close()
				counted.AddHook(hook)
				cq := redisstore.NewQueue(counted, prefix, "bench", nil)
				if _, err := cq.FireDue(ctx, now); err != nil { // loads the script
					b.Fatal(err)
				}
				stats0, err := commandStats(ctx, rdb)
				if err != nil {
					b.Fatal(err)
				}
				trips0 := hook.Count()
				b.ResetTimer()
				for i := range b.N {
					if due > 0 {
						b.StopTimer()
						if err := addTimers(ctx, rdb, prefix, fmt.Sprintf("due-%d", i), due, now.Add(-time.Minute), time.Millisecond); err != nil {
							b.Fatal(err)
						}
						if err := rdb.Del(ctx, prefix+":{queue}:jobs").Err(); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					n, err := cq.FireDue(ctx, now)
					if err != nil || n != due {
						b.Fatalf("FireDue fired %d, %v; want %d", n, err, due)
					}
				}
				b.StopTimer()
				stats1, err := commandStats(ctx, rdb)
				if err != nil {
					b.Fatal(err)
				}
				var cmds int64
				for _, c := range []string{"evalsha", "eval", "zrangebyscore", "zrem", "xadd"} {
					cmds += stats1[c] - stats0[c]
				}
				b.ReportMetric(float64(hook.Count()-trips0)/float64(b.N), "round-trips/op")
				b.ReportMetric(float64(cmds)/float64(b.N), "redis-cmds/op")
			})
		}
	}
}

// addTimers adds n timers, the first due at first and each next one step
// later, to the queue's sorted set under prefix, encoded as Queue.Schedule
// encodes them, in one pipeline.
func addTimers(ctx context.Context, rdb *goredis.Client, prefix, tag string, n int, first time.Time, step time.Duration) error {
	_, err := rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i := range n {
			t := bot.Timer{
				Kind: bot.TimerHealthMeasure, Key: bot.ServiceKey{Env: "kprod", Service: fmt.Sprintf("svc-%s-%06d", tag, i)},
				Migration: fmt.Sprintf("svc-%s-%06d-20260105-090000", tag, i), Due: first.Add(time.Duration(i) * step),
			}
			data, err := json.Marshal(bot.Job{Kind: bot.JobTimer, Timer: &t})
			if err != nil {
				return err
			}
			p.ZAdd(ctx, prefix+":{queue}:timers", goredis.Z{Score: float64(t.Due.UnixMilli()), Member: data})
		}
		return nil
	})
	return err
}

// commandStats reads INFO commandstats: calls by command.
func commandStats(ctx context.Context, rdb *goredis.Client) (map[string]int64, error) {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(info, "\r\n") {
		rest, ok := strings.CutPrefix(line, "cmdstat_")
		if !ok {
			continue
		}
		name, fields, _ := strings.Cut(rest, ":")
		for _, f := range strings.Split(fields, ",") {
			if v, ok := strings.CutPrefix(f, "calls="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, err
				}
				out[name] = n
			}
		}
	}
	return out, nil
}
