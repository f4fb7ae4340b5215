package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/redisstore"
)

// WebhookPayloadPath is GitHub's own pull_request "closed" delivery, as the
// GitHub emulator's tests keep it (about 28 KB).
const WebhookPayloadPath = "test/githubemu/testdata/github-webhooks/pull_request.closed.json"

// signedBody is one delivery body and its X-Hub-Signature-256.
type signedBody struct {
	body      []byte
	signature string
}

// Delivery is one POST of a webhook: its X-GitHub-Delivery id, which body,
// and whether GitHub already sent that id (a redelivery).
type Delivery struct {
	ID         string
	Body       int
	Redelivery bool
}

// Webhooks is a planned stream of signed pull_request deliveries, some of
// them redelivered.
type Webhooks struct {
	bodies     []signedBody
	Deliveries []Delivery
}

// PlanWebhooks reads GitHub's pull_request.closed payload under repoRoot,
// makes bodies distinct PR numbers of it, signed with secret, and plans n
// deliveries of which a share of about redeliver are redeliveries of an
// earlier delivery (the same id and body): half of those right after it, so
// the two are in flight together, the rest up to a few hundred deliveries
// later. The plan is the same for the same seed.
func PlanWebhooks(repoRoot, secret string, bodies, n int, redeliver float64, seed uint64) (*Webhooks, error) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, WebhookPayloadPath))
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(raw, []byte(`"number": 2,`)) {
		return nil, fmt.Errorf("%s: no PR number to vary", WebhookPayloadPath)
	}
	w := &Webhooks{}
	for i := range bodies {
		b := bytes.ReplaceAll(raw, []byte(`"number": 2,`), []byte(`"number": `+strconv.Itoa(1000+i)+`,`))
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(b)
		w.bodies = append(w.bodies, signedBody{body: b, signature: "sha256=" + hex.EncodeToString(mac.Sum(nil))})
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	w.Deliveries = make([]Delivery, n)
	for i := range w.Deliveries {
		if i > 0 && rng.Float64() < redeliver {
			back := 1
			if rng.IntN(2) == 1 {
				back = 1 + rng.IntN(min(i, 500))
			}
			d := w.Deliveries[i-back]
			d.Redelivery = true
			w.Deliveries[i] = d
			continue
		}
		id := uuid.Must(uuid.NewRandomFromReader(rngReader{rng})).String()
		w.Deliveries[i] = Delivery{ID: id, Body: rng.IntN(bodies)}
	}
	return w, nil
}

// rngReader reads bytes from a seeded generator, for reproducible ids.
type rngReader struct{ r *rand.Rand }

func (r rngReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.r.Uint32())
	}
	return len(p), nil
}

// Distinct returns the distinct delivery ids among the first n deliveries.
func (w *Webhooks) Distinct(n int) map[string]bool {
	ids := make(map[string]bool, n)
	for _, d := range w.Deliveries[:n] {
		ids[d.ID] = true
	}
	return ids
}

// Answers counts a webhook run's answers by status code, and remembers
// which delivery ids were answered 2xx (taken).
type Answers struct {
	mu       sync.Mutex
	ByStatus map[int]int
	Taken    map[string]bool
}

func (a *Answers) add(id string, code int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ByStatus == nil {
		a.ByStatus, a.Taken = map[int]int{}, map[string]bool{}
	}
	a.ByStatus[code]++
	if code/100 == 2 {
		a.Taken[id] = true
	}
}

// request is delivery d as GitHub POSTs it to target.
func (w *Webhooks) request(ctx context.Context, target string, d Delivery) *http.Request {
	b := w.bodies[d.Body]
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(b.body))
	req.RequestURI = "" // a client request, not a server one
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/bench")
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-GitHub-Delivery", d.ID)
	req.Header.Set("X-GitHub-Hook-ID", "424242")
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	req.Header.Set("X-GitHub-Hook-Installation-Target-ID", "4242")
	req.Header.Set("X-Hub-Signature-256", b.signature)
	return req
}

// Sender POSTs delivery i to target as GitHub does, and expects 202 (queued)
// or 200 (a redelivery already taken), counting each in answers.
func (w *Webhooks) Sender(client *http.Client, target string, answers *Answers) Send {
	return func(ctx context.Context, i int) error {
		d := w.Deliveries[i]
		resp, err := client.Do(w.request(ctx, target, d))
		if err != nil {
			return err
		}
		if _, err := drainClose(resp); err != nil {
			return err
		}
		answers.add(d.ID, resp.StatusCode)
		if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
			return fmt.Errorf("delivery answered %d", resp.StatusCode)
		}
		return nil
	}
}

// QueueCount is what the job queue holds after a webhook run.
type QueueCount struct {
	// StreamLength is XLEN of the job stream.
	StreamLength int64
	// Drained is how many jobs a counting handler took from the queue;
	// Distinct how many distinct delivery ids they had.
	Drained, Distinct int
	// Repeated counts ids queued more than once; Unknown ids queued but
	// never sent; Missing ids answered 2xx (taken) but not queued.
	Repeated, Unknown, Missing int
	// MissingIDs are a few of the Missing, to look up in the bot's logs.
	MissingIDs []string
	// Unanswered counts ids sent but never answered 2xx (the sender gave
	// up waiting); UnansweredQueued those of them the bot queued anyway.
	Unanswered, UnansweredQueued int
}

// CountQueue reads the queue under prefix: its stream's length, then every
// job, drained through the queue's own Drain with a handler that counts
// delivery ids, against the ids sent and those answered 2xx.
func CountQueue(ctx context.Context, rdb goredis.UniversalClient, prefix string, sent, taken map[string]bool) (QueueCount, error) {
	var c QueueCount
	// The stream's key, as redisstore.NewQueue names it.
	n, err := rdb.XLen(ctx, prefix+":{queue}:jobs").Result()
	if err != nil {
		return c, err
	}
	c.StreamLength = n
	seen := make(map[string]int, len(sent))
	q := redisstore.NewQueue(rdb, prefix, "bench-counter", nil)
	drained, err := q.Drain(ctx, func(_ context.Context, job bot.Job) error {
		seen[job.DeliveryID]++
		return nil
	})
	if err != nil {
		return c, err
	}
	c.Drained = drained
	for id, k := range seen {
		c.Distinct++
		if k > 1 {
			c.Repeated++
		}
		if !sent[id] {
			c.Unknown++
		}
	}
	for id := range sent {
		switch {
		case taken[id] && seen[id] == 0:
			c.Missing++
			if len(c.MissingIDs) < 5 {
				c.MissingIDs = append(c.MissingIDs, id)
			}
		case !taken[id]:
			c.Unanswered++
			if seen[id] > 0 {
				c.UnansweredQueued++
			}
		}
	}
	return c, nil
}

// ExactlyOnce says whether every delivery id taken is queued once, and
// nothing else is queued more than once or unasked.
func (c QueueCount) ExactlyOnce() bool {
	return c.StreamLength == int64(c.Drained) && c.Drained == c.Distinct && c.Repeated == 0 && c.Unknown == 0 && c.Missing == 0
}

func (c QueueCount) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "XLEN %d; drained %d jobs, %d distinct delivery ids", c.StreamLength, c.Drained, c.Distinct)
	if c.Repeated > 0 || c.Unknown > 0 || c.Missing > 0 {
		fmt.Fprintf(&b, "; %d queued more than once, %d never sent, %d taken but not queued", c.Repeated, c.Unknown, c.Missing)
		if len(c.MissingIDs) > 0 {
			fmt.Fprintf(&b, " (e.g. %s)", strings.Join(c.MissingIDs, ", "))
		}
	}
	if c.Unanswered > 0 {
		fmt.Fprintf(&b, "; %d ids never answered 2xx, %d of them queued", c.Unanswered, c.UnansweredQueued)
	}
	return b.String()
}
