package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/bot"
)

var _ bot.Queue = (*Queue)(nil)

// Queue is the job queue: a Redis stream read by a consumer group, so that
// any replica's worker may take any job and a job is handled by one of them.
type Queue struct {
	rdb      goredis.UniversalClient
	stream   string
	timers   string
	group    string
	prefix   string
	consumer string
	log      *slog.Logger
	// Attempts is how many times a failing job is tried before it is
	// dropped (and logged).
	attempts int
	// claimAfter is how long a job may sit read but unacknowledged before
	// another replica takes it over: its reader crashed. It must be longer
	// than any job runs (jobTimeout).
	claimAfter time.Duration
}

// jobTimeout bounds one job, its retries included.
const jobTimeout = 3 * time.Minute

// DefaultClaimAfter is how long a crashed replica's jobs wait before
// another replica takes them over.
const DefaultClaimAfter = 5 * time.Minute

// SetClaimAfter changes how long a crashed replica's jobs wait before
// another replica takes them over. Shorter than a job may run, a slow job
// would run twice: only tests go below DefaultClaimAfter.
func (q *Queue) SetClaimAfter(d time.Duration) {
	if d > 0 {
		q.claimAfter = d
	}
}

// NewQueue returns the queue; consumer names this replica.
func NewQueue(rdb goredis.UniversalClient, prefix, consumer string, log *slog.Logger) *Queue {
	if prefix == "" {
		prefix = "mb"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The stream and the timers share a hash tag, so one script can move
	// due timers into the stream on Redis Cluster too.
	return &Queue{rdb: rdb, prefix: prefix, stream: prefix + ":{queue}:jobs", timers: prefix + ":{queue}:timers",
		group: "workers", consumer: consumer, log: log, attempts: 3, claimAfter: DefaultClaimAfter}
}

// Enqueue adds a job.
func (q *Queue) Enqueue(ctx context.Context, job bot.Job) error {
	data, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("encode job: %w", err)
	}
	err = q.rdb.XAdd(ctx, &goredis.XAddArgs{
		Stream: q.stream,
		MaxLen: 100_000, Approx: true,
		Values: map[string]any{"job": data},
	}).Err()
	if err != nil {
		return fmt.Errorf("enqueue %s job: %w", job.Kind, err)
	}
	return nil
}

// deliveryScript records a delivery id and queues its job in one step:
// a delivery is reported as a duplicate only once its job is in the stream,
// so a redelivery arriving while the first is still being queued can never
// be dropped in favour of a first that then fails. The id key shares the
// stream's hash tag, so this works on Redis Cluster.
var deliveryScript = goredis.NewScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'job', ARGV[2])
return 1`)

// EnqueueDelivery adds a job for a webhook delivery unless that delivery id
// was seen in the last 72 hours (GitHub redelivers with the same id). It
// returns bot.ErrDuplicate for a redelivery. The id and the job are written
// together, and not cut short by the caller going away: GitHub has sent
// the delivery, and a half-queued one would be lost to its redelivery.
func (q *Queue) EnqueueDelivery(ctx context.Context, deliveryID string, job bot.Job) error {
	data, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("encode job: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	key := q.prefix + ":{queue}:delivery:" + deliveryID
	fresh, err := deliveryScript.Run(ctx, q.rdb, []string{key, q.stream}, deliveryTTL.Milliseconds(), data, 100_000).Int()
	if err != nil {
		return fmt.Errorf("queue delivery %s: %w", deliveryID, err)
	}
	if fresh == 0 {
		return bot.ErrDuplicate
	}
	return nil
}

func (q *Queue) ensureGroup(ctx context.Context) error {
	err := q.rdb.XGroupCreateMkStream(ctx, q.stream, q.group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group: %w", err)
	}
	return nil
}

// Handler runs one job; an error means try again.
type Handler func(ctx context.Context, job bot.Job) error

// Run has workers take jobs until ctx is done, then waits for the jobs in
// hand to finish (each with up to a minute more) and returns.
func (q *Queue) Run(ctx context.Context, workers int, handle Handler) error {
	if err := q.ensureGroup(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { q.work(ctx, fmt.Sprintf("%s-%d", q.consumer, i), handle) })
	}
	wg.Go(func() { q.reclaim(ctx, q.consumer+"-claim", handle) })
	wg.Wait()
	return nil
}

// reclaim takes over, every so often, the jobs another replica read and
// never acknowledged because it died mid-job, and runs them.
func (q *Queue) reclaim(ctx context.Context, consumer string, handle Handler) {
	every := max(time.Second, q.claimAfter/3)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := q.Claim(ctx, consumer, handle); err != nil && ctx.Err() == nil {
			q.log.ErrorContext(ctx, "claim jobs of stopped replicas", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Claim runs the jobs left unacknowledged longer than the claim timeout
// (their replica crashed), as consumer, and returns how many it ran.
func (q *Queue) Claim(ctx context.Context, consumer string, handle Handler) (int, error) {
	total := 0
	start := "0-0"
	for ctx.Err() == nil {
		msgs, next, err := q.rdb.XAutoClaim(ctx, &goredis.XAutoClaimArgs{
			Stream: q.stream, Group: q.group, Consumer: consumer, MinIdle: q.claimAfter, Start: start, Count: 10,
		}).Result()
		if err != nil {
			return total, fmt.Errorf("claim jobs: %w", err)
		}
		for _, msg := range msgs {
			q.log.WarnContext(ctx, "took over a job a stopped replica had started", "job", msg.ID)
			q.runOne(ctx, msg, handle)
			total++
		}
		if next == "0-0" || len(msgs) == 0 {
			break
		}
		start = next
	}
	return total, nil
}

func (q *Queue) work(ctx context.Context, consumer string, handle Handler) {
	for ctx.Err() == nil {
		if _, err := q.take(ctx, consumer, time.Second, handle); err != nil && ctx.Err() == nil {
			q.log.ErrorContext(ctx, "read jobs", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// Drain takes and runs every job waiting now, one at a time, and returns how
// many it ran. The sandbox uses it to run each script line to completion.
func (q *Queue) Drain(ctx context.Context, handle Handler) (int, error) {
	if err := q.ensureGroup(ctx); err != nil {
		return 0, err
	}
	total := 0
	for {
		n, err := q.take(ctx, q.consumer, -1, handle)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// take reads one job (blocking up to block; -1 for not at all), runs it and
// acknowledges it.
func (q *Queue) take(ctx context.Context, consumer string, block time.Duration, handle Handler) (int, error) {
	res, err := q.rdb.XReadGroup(ctx, &goredis.XReadGroupArgs{
		Group: q.group, Consumer: consumer, Streams: []string{q.stream, ">"}, Count: 1, Block: block,
	}).Result()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range res {
		for _, msg := range s.Messages {
			n++
			q.runOne(ctx, msg, handle)
		}
	}
	return n, nil
}

func (q *Queue) runOne(ctx context.Context, msg goredis.XMessage, handle Handler) {
	// The job runs to the end even if the worker is told to stop: a half-run
	// job is worse than a late shutdown.
	jobCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobTimeout)
	defer cancel()
	var job bot.Job
	raw, _ := msg.Values["job"].(string)
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		q.log.ErrorContext(ctx, "dropping a job that cannot be decoded", "id", msg.ID, "err", err)
	} else {
		log := q.log.With("job", msg.ID, "kind", job.Kind, "delivery_id", job.DeliveryID)
		for attempt := 1; ; attempt++ {
			err := handle(jobCtx, job)
			if err == nil {
				break
			}
			if attempt >= q.attempts {
				log.ErrorContext(ctx, "job failed; giving up", "attempts", attempt, "err", err)
				break
			}
			log.WarnContext(ctx, "job failed; retrying", "attempt", attempt, "err", err)
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
	}
	// Acknowledged and deleted in one transaction: a done job leaves
	// nothing behind in Redis.
	_, err := q.rdb.TxPipelined(jobCtx, func(p goredis.Pipeliner) error {
		p.XAck(jobCtx, q.stream, q.group, msg.ID)
		p.XDel(jobCtx, q.stream, msg.ID)
		return nil
	})
	if err != nil {
		q.log.ErrorContext(ctx, "ack job", "id", msg.ID, "err", err)
	}
}

var _ bot.Scheduler = (*Queue)(nil)

// Schedule implements bot.Scheduler: the timer waits in a sorted set, scored
// by its due time, and survives restarts. Scheduling the same timer twice
// keeps one.
func (q *Queue) Schedule(ctx context.Context, t bot.Timer) error {
	data, err := json.Marshal(bot.Job{Kind: bot.JobTimer, Timer: &t})
	if err != nil {
		return fmt.Errorf("encode timer: %w", err)
	}
	if err := q.rdb.ZAdd(ctx, q.timers, goredis.Z{Score: float64(t.Due.UnixMilli()), Member: data}).Err(); err != nil {
		return fmt.Errorf("schedule %s timer of %s: %w", t.Kind, t.Key, err)
	}
	return nil
}

// fireScript moves due timers into the job stream in one step, so that a
// timer fires once however many replicas look at the same moment, and is
// never lost between the two.
var fireScript = goredis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, job in ipairs(due) do
  redis.call('ZREM', KEYS[1], job)
  redis.call('XADD', KEYS[2], '*', 'job', job)
end
return #due`)

// FireDue queues every timer due at now as a job, and returns how many.
func (q *Queue) FireDue(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n, err := fireScript.Run(ctx, q.rdb, []string{q.timers, q.stream}, now.UnixMilli(), 100).Int()
		if err != nil {
			return total, fmt.Errorf("fire due timers: %w", err)
		}
		total += n
		if n < 100 {
			return total, nil
		}
	}
}

// Pending returns the timers not yet due, soonest first (for status and tests).
func (q *Queue) Pending(ctx context.Context) ([]bot.Timer, error) {
	items, err := q.rdb.ZRange(ctx, q.timers, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list timers: %w", err)
	}
	out := make([]bot.Timer, 0, len(items))
	for _, it := range items {
		var j bot.Job
		if err := json.Unmarshal([]byte(it), &j); err != nil || j.Timer == nil {
			return nil, fmt.Errorf("decode timer %q: %v", it, err)
		}
		out = append(out, *j.Timer)
	}
	return out, nil
}

// RunTimers fires due timers every interval until ctx is done.
func (q *Queue) RunTimers(ctx context.Context, clock interface{ Now() time.Time }, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := q.FireDue(ctx, clock.Now()); err != nil && ctx.Err() == nil {
				q.log.ErrorContext(ctx, "timers", "err", err)
			}
		}
	}
}
