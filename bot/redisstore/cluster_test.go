package redisstore

import (
	"context"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/internal/redistest"
)

// TestRedisCluster runs the store and the queue on a real Redis Cluster (one
// node holding every slot): a script or transaction touching keys of two
// hash slots would fail there with CROSSSLOT, so this shows every key one
// operation touches shares a hash tag.
func TestRedisCluster(t *testing.T) {
	srv, err := redistest.Start("cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	ctx := context.Background()
	node := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer node.Close()
	if err := node.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := node.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not come up: %s %v", info, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rdb := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{srv.Addr}})
	defer rdb.Close()

	s := New(rdb, "c")
	q := NewQueue(rdb, "c", "r1", nil)
	m := &bot.Migration{ID: "m1", Key: key, Status: bot.StatusActive}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s on Redis Cluster: %v", what, err)
		}
	}
	must("create", s.Create(ctx, m))
	unlock, err := s.Lock(ctx, key, time.Minute)
	must("lock", err)
	unlock()
	must("index PR", s.IndexPR(ctx, "acme/envs-config", 1, key))
	_, err = s.FindPR(ctx, "acme/envs-config", 1)
	must("find PR", err)
	must("remember the bot's comment", s.SetPRComment(ctx, "acme/envs-config", 1, "reply", 7))
	must("index thread", s.IndexThread(ctx, bot.Thread{Channel: "C1", TS: "1.0"}, key))
	must("last used", s.SetLastUsed(ctx, "T1", "C1", "U1", key))
	_, err = s.Active(ctx)
	must("list active", err)
	m.Status = bot.StatusCompleted
	must("save and archive", s.Save(ctx, m))
	hist, err := s.History(ctx, key)
	must("history", err)
	if len(hist) != 1 {
		t.Fatalf("history = %d", len(hist))
	}
	must("update history", s.UpdateHistory(ctx, &hist[0]))

	must("enqueue", q.Enqueue(ctx, bot.Job{Kind: bot.JobCommand, Command: &bot.CommandRequest{Text: "status"}}))
	must("enqueue a delivery", q.EnqueueDelivery(ctx, "d1", bot.Job{Kind: bot.JobCommand, Command: &bot.CommandRequest{Text: "status"}}))
	must("schedule", q.Schedule(ctx, bot.Timer{Kind: bot.TimerTicket, Key: key, Migration: "m1", Due: time.Unix(1, 0)}))
	n, err := q.FireDue(ctx, time.Unix(2, 0))
	must("fire due timers", err)
	if n != 1 {
		t.Errorf("fired %d timers", n)
	}
	ran := 0
	_, err = q.Drain(ctx, func(context.Context, bot.Job) error { ran++; return nil })
	must("drain", err)
	_, err = q.Claim(ctx, "r1-claim", func(context.Context, bot.Job) error { return nil })
	must("claim", err)
	if ran != 3 {
		t.Errorf("ran %d jobs, want 3", ran)
	}
}
