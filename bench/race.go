package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// slowQueueing delays, by a fixed time, every command that adds a job to
// the stream: an XADD, or a script (which may XADD): Redis, or the replica,
// busy. Commands that only record or read are not delayed.
type slowQueueing struct{ delay time.Duration }

func (h slowQueueing) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h slowQueueing) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		switch cmd.Name() {
		case "xadd", "evalsha", "eval":
			time.Sleep(h.delay)
		}
		return next(ctx, cmd)
	}
}

func (h slowQueueing) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// DisconnectRace is what happened to one delivery in RedeliveryDuringDisconnect.
type DisconnectRace struct {
	// FirstErr is what GitHub's sender saw of the first delivery (it gave
	// up waiting); Redelivery the status the redelivery was answered.
	FirstErr   error
	Redelivery int
	// Queued is how many jobs the queue holds for the delivery id.
	Queued int64
}

// Lost says whether the bot acknowledged the delivery (2xx to the
// redelivery) without ever queueing its job.
func (r DisconnectRace) Lost() bool { return r.Redelivery/100 == 2 && r.Queued == 0 }

func (r DisconnectRace) String() string {
	return fmt.Sprintf("first delivery: %v; redelivery answered %d; jobs queued for the id: %d", r.FirstErr, r.Redelivery, r.Queued)
}

// RedeliveryDuringDisconnect replays, deterministically, what the open-loop
// webhook run showed under overload: GitHub's sender gives up on a delivery
// (its timeout is 10 s; here 100 ms) while the bot, slow (here: whatever
// adds the job to the stream delayed 300 ms), is queueing it, and the same
// delivery id is redelivered meanwhile. It returns what the bot answered and
// queued. The bot's handler is app.New's, on rdb.
func RedeliveryDuringDisconnect(ctx context.Context, rdb *goredis.Client, prefix, repoRoot string) (DisconnectRace, error) {
	var r DisconnectRace
	slow := goredis.NewClient(&goredis.Options{Addr: rdb.Options().Addr, DB: rdb.Options().DB})
	defer slow.Close()
	slow.AddHook(slowQueueing{delay: 300 * time.Millisecond})
	a, err := NewApp(ctx, slow, prefix, "http://127.0.0.1:1/api/")
	if err != nil {
		return r, err
	}
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	plan, err := PlanWebhooks(repoRoot, BenchSecret, 1, 1, 0, 7)
	if err != nil {
		return r, err
	}
	d := plan.Deliveries[0]
	first := make(chan error, 1)
	go func() {
		c := &http.Client{Timeout: 100 * time.Millisecond}
		resp, err := c.Do(plan.request(ctx, srv.URL+"/github/webhooks", d))
		if err == nil {
			_, _ = drainClose(resp) // only whether it was answered matters
			err = fmt.Errorf("answered %d", resp.StatusCode)
		}
		first <- err
	}()
	time.Sleep(50 * time.Millisecond) // the id is recorded; XADD is waiting
	resp, err := http.DefaultClient.Do(plan.request(ctx, srv.URL+"/github/webhooks", d))
	if err != nil {
		return r, err
	}
	if _, err := drainClose(resp); err != nil {
		return r, err
	}
	r.Redelivery = resp.StatusCode
	r.FirstErr = <-first
	time.Sleep(500 * time.Millisecond) // the first request's handler has given up too
	r.Queued, err = rdb.XLen(ctx, prefix+":{queue}:jobs").Result()
	return r, err
}
