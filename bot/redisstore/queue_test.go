package redisstore

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/internal/redistest"
)

// TestCrashedReplicasJobsAreTakenOver: a job a replica read and never
// acknowledged (it was killed mid-job) is run by another replica once the
// claim timeout passes, exactly once, and not before.
func TestCrashedReplicasJobsAreTakenOver(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t)
	dead := NewQueue(rdb, prefix, "dead", nil)
	alive := NewQueue(rdb, prefix, "alive", nil)
	alive.SetClaimAfter(300 * time.Millisecond)
	if err := dead.ensureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := dead.Enqueue(ctx, bot.Job{Kind: bot.JobCommand, Command: &bot.CommandRequest{Text: "next search"}}); err != nil {
		t.Fatal(err)
	}
	// The dead replica reads the job and dies before acknowledging it.
	res, err := rdb.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: dead.group, Consumer: "dead-0", Streams: []string{dead.stream, ">"}, Count: 1}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != 1 {
		t.Fatalf("read: %v %v", res, err)
	}
	var ran atomic.Int32
	handle := func(_ context.Context, j bot.Job) error {
		if j.Command == nil || j.Command.Text != "next search" {
			t.Errorf("ran %+v", j)
		}
		ran.Add(1)
		return nil
	}
	if n, err := alive.Drain(ctx, handle); err != nil || n != 0 {
		t.Fatalf("a new reader took a job already read: %d %v", n, err)
	}
	if n, err := alive.Claim(ctx, "alive-claim", handle); err != nil || n != 0 {
		t.Fatalf("claimed before the timeout: %d %v", n, err)
	}
	time.Sleep(400 * time.Millisecond)
	if n, err := alive.Claim(ctx, "alive-claim", handle); err != nil || n != 1 {
		t.Fatalf("claim after the timeout: %d %v", n, err)
	}
	if n, err := alive.Claim(ctx, "alive-claim", handle); err != nil || n != 0 {
		t.Fatalf("a second claim: %d %v", n, err)
	}
	if ran.Load() != 1 {
		t.Errorf("the job ran %d times, want once", ran.Load())
	}
	if pending, err := rdb.XPending(ctx, dead.stream, dead.group).Result(); err != nil || pending.Count != 0 {
		t.Errorf("pending after the claim: %+v %v", pending, err)
	}
}

// TestDeliveryQueuedEvenIfTheSenderLeft: a delivery whose sender gave up
// (its request context is cancelled) is still queued, id and job together,
// so its redelivery is a true duplicate and never the only copy dropped.
func TestDeliveryQueuedEvenIfTheSenderLeft(t *testing.T) {
	rdb := redistest.Client(t)
	q := NewQueue(rdb, redistest.Prefix(t), "r", nil)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	job := bot.Job{Kind: bot.JobPullRequest, PullRequest: &bot.PullRequestEvent{Repo: "acme/envs-config", Number: 1, Merged: true}}
	if err := q.EnqueueDelivery(gone, "d-1", job); err != nil {
		t.Fatalf("the first delivery: %v", err)
	}
	if err := q.EnqueueDelivery(context.Background(), "d-1", job); err != bot.ErrDuplicate {
		t.Fatalf("the redelivery: %v, want ErrDuplicate", err)
	}
	if n, err := rdb.XLen(context.Background(), q.stream).Result(); err != nil || n != 1 {
		t.Errorf("%d jobs queued (%v), want exactly 1", n, err)
	}
}
