package redisstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
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
	ctx := context.Background()
	rdb := startCluster(t, 1)

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
	other := bot.ServiceKey{Env: "kprod", Service: "search"}
	must("create another", s.Create(ctx, &bot.Migration{ID: "m2", Key: other, Status: bot.StatusActive}))
	ms, err := s.LoadMany(ctx, []bot.ServiceKey{other, key})
	must("load many (keys of two slots)", err)
	if len(ms) != 2 || ms[0].ID != "m2" || ms[1].ID != "m1" {
		t.Fatalf("LoadMany on Redis Cluster returned %v, want m2 then m1", ms)
	}
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

// TestLoadManyAcrossClusterNodes: on a Redis Cluster of three nodes, each
// holding a third of the slots, LoadMany still returns every migration in
// the order asked, and skips the finished ones: go-redis splits the
// pipeline by node and puts the answers back in order.
func TestLoadManyAcrossClusterNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := startCluster(t, 3)
	s := New(rdb, "c")
	const n = 1200 // more than one chunk
	var ask []bot.ServiceKey
	var want []string
	for i := range n {
		k := bot.ServiceKey{Env: "kprod", Service: fmt.Sprintf("svc-%04d", i)}
		m := &bot.Migration{ID: fmt.Sprintf("m%d", i), Key: k, Status: bot.StatusActive}
		if err := s.Create(ctx, m); err != nil {
			t.Fatalf("create on Redis Cluster: %v", err)
		}
		if i%7 == 0 {
			m.Status = bot.StatusAborted
			if err := s.Save(ctx, m); err != nil {
				t.Fatalf("finish on Redis Cluster: %v", err)
			}
		} else {
			want = append(want, m.ID)
		}
		ask = append(ask, k)
	}
	// The migrations are spread over the three nodes, so the pipelines do
	// go to several (ForEachMaster asks the nodes at once).
	var holding atomic.Int32
	err := rdb.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
		n, err := node.DBSize(ctx).Result()
		if n > 100 {
			holding.Add(1)
		}
		return err
	})
	if err != nil || holding.Load() != 3 {
		t.Fatalf("%d of 3 nodes hold migrations (%v): the keys were not spread", holding.Load(), err)
	}
	got, err := s.LoadMany(ctx, ask)
	if err != nil {
		t.Fatalf("LoadMany on a Redis Cluster of three nodes: %v", err)
	}
	ids := make([]string, len(got))
	for i, m := range got {
		ids[i] = m.ID
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("LoadMany returned %d migrations, want %d in the order asked", len(ids), len(want))
	}
}

// startCluster starts a Redis Cluster of nodes real redis-servers, the
// slots shared out between them, and returns a cluster client of it.
func startCluster(t *testing.T, nodes int) *goredis.ClusterClient {
	t.Helper()
	ctx := context.Background()
	var addrs []string
	var clients []*goredis.Client
	for i := range nodes {
		srv, err := redistest.Start("cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 5000")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Stop)
		c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
		t.Cleanup(func() { c.Close() })
		from, to := i*16384/nodes, (i+1)*16384/nodes-1
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", from, to).Err(); err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, srv.Addr)
		clients = append(clients, c)
	}
	for _, a := range addrs[1:] {
		host, port, _ := strings.Cut(a, ":")
		if err := clients[0].ClusterMeet(ctx, host, port).Err(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, c := range clients {
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r", nodes)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the cluster did not come up: %s %v", info, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	rdb := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}
