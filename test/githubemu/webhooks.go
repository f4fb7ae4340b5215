package githubemu

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // X-Hub-Signature is HMAC-SHA1 by GitHub's definition
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Event is one observable effect on the emulated GitHub, for transcripts
// (the sandbox) and assertions (end-to-end tests).
type Event struct {
	// Kind is "github.pull_request" or "github.comment" (on a pull
	// request or an issue). Plain issues make no events: Issue and Issues
	// show them.
	Kind string
	// Action: for pull requests opened, updated, closed, merged, reopened;
	// for comments created, edited.
	Action string
	Repo   string // owner/name
	Number int
	// CommentID is set for comments.
	CommentID int64
	Title     string
	Body      string   // the PR's or issue's body; for comments the comment's
	Branch    string   // head branch
	Base      string   // base branch
	URL       string   // html_url of the PR, issue or comment
	By        string   // who did it
	Reviewers []string // requested reviewers now: users, then teams as "org/team"
	Labels    []string // labels now
	// Files maps every path the PR changes against its merge base to the
	// whole new content; nil means deleted.
	Files map[string]*string
	// BaseFiles holds the same paths at the merge base (the commit the
	// branch was cut from); nil means the file did not exist there.
	BaseFiles map[string]*string
}

// Delivery is one webhook POST, as recorded once it was answered.
type Delivery struct {
	ID     string // X-GitHub-Delivery
	Event  string // X-GitHub-Event
	Action string
	Status int   // the receiver's status code; 0 if no answer
	Err    error // transport error, ErrNoWebhookURL, or ErrClosed
	// Redelivery is true for a delivery sent again by Redeliver.
	Redelivery bool
	Body       []byte
}

var (
	// ErrNoWebhookURL marks a delivery made while no webhook URL was set.
	ErrNoWebhookURL = errors.New("githubemu: no webhook URL set")
	// ErrClosed marks a delivery dropped because the server was closed.
	ErrClosed = errors.New("githubemu: server closed")
)

// DeliveryError is returned by a people action (Merge, Comment, ...) whose
// webhook the receiver did not accept. The action itself took effect.
type DeliveryError struct {
	Delivery Delivery
}

func (e *DeliveryError) Error() string {
	d := e.Delivery
	if d.Err != nil {
		return fmt.Sprintf("webhook %s.%s (%s): %v", d.Event, d.Action, d.ID, d.Err)
	}
	return fmt.Sprintf("webhook %s.%s (%s): receiver answered %d", d.Event, d.Action, d.ID, d.Status)
}

func (e *DeliveryError) Unwrap() error { return e.Delivery.Err }

// delivery is a webhook on its way.
type delivery struct {
	id         string
	event      string
	action     string
	body       []byte
	redelivery bool
	done       chan struct{}
	result     Delivery // set before done is closed
}

// effect is one entry of the outbox: an event or a webhook, in the order
// the state changes that caused them happened.
type effect struct {
	event *Event
	hook  *delivery
}

// emitEventLocked queues an event for OnEvent.
func (s *Server) emitEventLocked(e Event) {
	s.outbox = append(s.outbox, effect{event: &e})
}

// emitHookLocked queues a webhook about r, adding what every payload
// carries: repository, sender, installation and, for an organization's
// repo, organization. Nothing is sent for a repo the app isn't installed on.
func (s *Server) emitHookLocked(r *repo, event, sender string, payload obj) {
	inst := s.installationForLocked(r.owner)
	if inst == nil {
		return
	}
	payload["repository"] = s.repoJSON(r)
	payload["sender"] = s.userJSON(sender)
	payload["installation"] = obj{"id": inst.id, "node_id": nodeID("IntegrationInstallation", inst.id)}
	if s.accountLocked(r.owner, kindUser).kind == kindOrg {
		payload["organization"] = s.orgJSON(r.owner)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		// Payloads are maps of strings, numbers, bools and nested maps.
		panic(fmt.Sprintf("githubemu: encode %s payload: %v", event, err))
	}
	action, _ := payload["action"].(string) // every payload the emulator sends has one
	d := &delivery{
		id:     uuid.NewString(),
		event:  event,
		action: action,
		body:   body,
		done:   make(chan struct{}),
	}
	if !strings.EqualFold(sender, s.opts.BotLogin) {
		// Redeliver repeats what people did, not the echo of the app's
		// own calls (its edits, its ticket issues).
		s.lastHook = d
	}
	s.outbox = append(s.outbox, effect{hook: d})
}

// flush emits queued effects in order: OnEvent for events, the delivery
// queue for webhooks. Whoever changes state calls it after unlocking; a
// caller that finds another flush running waits for it, so on return its
// own effects were emitted. OnEvent thus never runs under s.mu.
func (s *Server) flush() {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	for {
		s.mu.Lock()
		batch := s.outbox
		s.outbox = nil
		s.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		for _, e := range batch {
			if e.event != nil && s.opts.OnEvent != nil {
				s.opts.OnEvent(*e.event)
			}
			if e.hook != nil {
				s.hooks.push(e.hook)
			}
		}
	}
}

// act runs a people action: fn changes state with s.mu held, then the
// effects are emitted and act waits until the webhooks fn caused were
// delivered and answered.
func (s *Server) act(fn func() error) error {
	s.mu.Lock()
	start := len(s.outbox)
	err := fn()
	var mine []*delivery
	for _, e := range s.outbox[start:] {
		if e.hook != nil {
			mine = append(mine, e.hook)
		}
	}
	s.mu.Unlock()
	s.flush()
	if err != nil {
		return err
	}
	return awaitDeliveries(mine)
}

func awaitDeliveries(ds []*delivery) error {
	var errs []error
	for _, d := range ds {
		<-d.done
		if err := deliveryError(d.result); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deliveryError tells whether a delivery failed; with no URL set nothing
// was meant to be received, which is not a failure of the action.
func deliveryError(d Delivery) error {
	if errors.Is(d.Err, ErrNoWebhookURL) {
		return nil
	}
	if d.Err != nil || d.Status < 200 || d.Status > 299 {
		return &DeliveryError{Delivery: d}
	}
	return nil
}

// Redeliver sends the last webhook caused by a person (not by the app's
// own calls) again with the same X-GitHub-Delivery id and body, as
// GitHub's "Redeliver" button does, and waits for it.
func (s *Server) Redeliver() error {
	s.mu.Lock()
	last := s.lastHook
	s.mu.Unlock()
	if last == nil {
		return errors.New("redeliver: no webhook was sent yet")
	}
	d := &delivery{
		id:         last.id,
		event:      last.event,
		action:     last.action,
		body:       last.body,
		redelivery: true,
		done:       make(chan struct{}),
	}
	s.hooks.push(d)
	return awaitDeliveries([]*delivery{d})
}

// Deliveries lists the webhooks delivered (or attempted) so far, in order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.deliveries))
	for i, d := range s.deliveries {
		d.Body = bytes.Clone(d.Body) // a redelivery shares its original's body
		out[i] = d
	}
	return out
}

// WaitIdle returns when every queued webhook was delivered and answered.
func (s *Server) WaitIdle() {
	s.flush() // effects of calls still returning are queued first
	s.hooks.waitIdle()
}

// hookQueue delivers webhooks one at a time, in order, like one GitHub hook.
type hookQueue struct {
	s         *Server
	client    *http.Client
	hookID    string
	userAgent string
	ctx       context.Context
	cancel    context.CancelFunc

	mu     sync.Mutex
	cond   *sync.Cond
	queue  []*delivery
	busy   bool
	closed bool
}

func newHookQueue(s *Server) *hookQueue {
	ctx, cancel := context.WithCancel(context.Background())
	ua := make([]byte, 4)
	_, _ = rand.Read(ua) // crypto/rand.Read never fails (Go 1.24+)
	q := &hookQueue{
		s: s,
		// GitHub gives a receiver 10 seconds to answer.
		client:    &http.Client{Timeout: 10 * time.Second},
		hookID:    fmt.Sprint(400000000 + s.opts.AppID),
		userAgent: "GitHub-Hookshot/" + hex.EncodeToString(ua)[:7],
		ctx:       ctx,
		cancel:    cancel,
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *hookQueue) push(d *delivery) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		q.s.finish(d, Delivery{Err: ErrClosed})
		return
	}
	q.queue = append(q.queue, d)
	q.cond.Broadcast()
}

func (q *hookQueue) run() {
	for {
		q.mu.Lock()
		for len(q.queue) == 0 && !q.closed {
			q.cond.Wait()
		}
		if q.closed {
			pending := q.queue
			q.queue = nil
			q.busy = false
			q.cond.Broadcast()
			q.mu.Unlock()
			for _, d := range pending {
				q.s.finish(d, Delivery{Err: ErrClosed})
			}
			return
		}
		d := q.queue[0]
		q.queue = q.queue[1:]
		q.busy = true
		q.mu.Unlock()

		q.s.finish(d, q.deliver(d))

		q.mu.Lock()
		q.busy = false
		q.cond.Broadcast()
		q.mu.Unlock()
	}
}

func (q *hookQueue) waitIdle() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for (len(q.queue) > 0 || q.busy) && !q.closed {
		q.cond.Wait()
	}
}

func (q *hookQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
	q.cancel()
}

// deliver POSTs one webhook with GitHub's headers and signatures.
func (q *hookQueue) deliver(d *delivery) Delivery {
	q.s.mu.Lock()
	url, secret := q.s.webhookURL, q.s.opts.WebhookSecret
	q.s.mu.Unlock()
	if url == "" {
		return Delivery{Err: ErrNoWebhookURL}
	}
	req, err := http.NewRequestWithContext(q.ctx, http.MethodPost, url, bytes.NewReader(d.body))
	if err != nil {
		return Delivery{Err: fmt.Errorf("build request: %w", err)}
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", q.userAgent)
	h.Set("X-GitHub-Event", d.event)
	h.Set("X-GitHub-Delivery", d.id)
	h.Set("X-GitHub-Hook-ID", q.hookID)
	h.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	h.Set("X-GitHub-Hook-Installation-Target-ID", fmt.Sprint(q.s.opts.AppID))
	if secret != "" {
		h.Set("X-Hub-Signature", "sha1="+sign(sha1.New, secret, d.body))
		h.Set("X-Hub-Signature-256", "sha256="+sign(sha256.New, secret, d.body))
	}
	resp, err := q.client.Do(req)
	if err != nil {
		return Delivery{Err: err}
	}
	defer resp.Body.Close()
	// GitHub keeps the first part of the answer for its delivery log and
	// ignores the rest; read it so the connection can be reused.
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil {
		return Delivery{Status: resp.StatusCode, Err: fmt.Errorf("read response: %w", err)}
	}
	return Delivery{Status: resp.StatusCode}
}

func sign(h func() hash.Hash, secret string, body []byte) string {
	mac := hmac.New(h, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// finish records a delivery's outcome and releases whoever waits for it.
func (s *Server) finish(d *delivery, res Delivery) {
	res.ID, res.Event, res.Action, res.Redelivery, res.Body = d.id, d.event, d.action, d.redelivery, d.body
	if errors.Is(res.Err, context.Canceled) {
		// Only Close cancels the queue's context.
		res.Err = fmt.Errorf("%w: %w", ErrClosed, res.Err)
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, res)
	s.mu.Unlock()
	d.result = res
	close(d.done)
}
