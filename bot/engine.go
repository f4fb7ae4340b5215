package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/templates"
)

// Engine runs commands and reacts to GitHub events and timers. It is safe
// for concurrent use: every change to a migration happens under its lock.
type Engine struct {
	cfg   *config.Config
	store Store
	repos Repos
	chat  Chat
	certs Certificates
	probe Prober
	sched Scheduler
	// tickets are the change-ticket systems, by environment.
	tickets map[string]Tickets
	// What health summaries read: DNS, figures (by environment), alarms
	// and health checks.
	dns     DNSRecords
	traffic map[string]Traffic
	alarms  Alarms
	checks  HealthChecks
	observe Observer
	clock   Clock
	tmpl    *templates.Set
	log     *slog.Logger
	// lockTTL bounds how long one job may hold a migration; every outside
	// call it makes has its own shorter timeout.
	lockTTL time.Duration
	// lockWait is how long a GitHub event or timer waits for a busy migration.
	lockWait time.Duration
}

// Deps are what the engine talks to. Certificates and Prober may be nil:
// preflight then skips those checks and says so.
type Deps struct {
	Config       *config.Config
	Store        Store
	Repos        Repos
	Chat         Chat
	Certificates Certificates
	Prober       Prober
	Scheduler    Scheduler
	// Tickets are the change-ticket systems, by environment name; an
	// environment without one files no tickets.
	Tickets map[string]Tickets
	// DNS, Traffic (by environment), Alarms and HealthChecks feed health
	// summaries; any may be nil, and what is missing reads as unknown.
	DNS          DNSRecords
	Traffic      map[string]Traffic
	Alarms       Alarms
	HealthChecks HealthChecks
	// Observer counts commands; nil counts nothing.
	Observer Observer
	// LockTTL bounds how long one job may hold a migration (default 2m).
	// It must be shorter than the queue's claim timeout, so that a job
	// taken over from a crashed replica finds the lock free.
	LockTTL   time.Duration
	Clock     Clock
	Templates *templates.Set
	Log       *slog.Logger
}

// NewEngine returns an engine.
func NewEngine(d Deps) *Engine {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{
		cfg: d.Config, store: d.Store, repos: d.Repos, chat: d.Chat, certs: d.Certificates, probe: d.Prober,
		sched: d.Scheduler, tickets: d.Tickets, dns: d.DNS, traffic: d.Traffic, alarms: d.Alarms, checks: d.HealthChecks, observe: d.Observer, clock: d.Clock, tmpl: d.Templates, log: log,
		lockTTL: cmp.Or(d.LockTTL, 2*time.Minute), lockWait: 30 * time.Second,
	}
}

// Handle runs one job. An error means the job should be retried; everything
// that is the user's doing (bad input, refusals) is answered, not returned.
func (e *Engine) Handle(ctx context.Context, job Job) error {
	switch job.Kind {
	case JobCommand:
		if job.Command == nil {
			return errors.New("command job without a command")
		}
		return e.Command(ctx, *job.Command)
	case JobPullRequest:
		if job.PullRequest == nil {
			return errors.New("pull_request job without an event")
		}
		return e.PullRequestClosed(ctx, *job.PullRequest)
	case JobTimer:
		if job.Timer == nil {
			return errors.New("timer job without a timer")
		}
		return e.Timer(ctx, *job.Timer)
	case JobReview:
		if job.Review == nil {
			return errors.New("review job without a review")
		}
		return e.Review(ctx, *job.Review)
	case JobPRComment:
		if job.PRComment == nil {
			return errors.New("comment job without a comment")
		}
		return e.PRComment(ctx, *job.PRComment)
	}
	// An unknown kind is a job from a newer replica; retrying will not help.
	e.log.WarnContext(ctx, "dropping job of unknown kind", "kind", job.Kind)
	return nil
}

// refusal is a command the bot will not run, said to the user alone.
type refusal struct{ text string }

func (r *refusal) Error() string { return r.text }

func refuse(format string, args ...any) error {
	return &refusal{text: fmt.Sprintf(format, args...)}
}

// Command runs one command from Slack.
func (e *Engine) Command(ctx context.Context, req CommandRequest) error {
	log := e.log.With("slack_user", req.User, "channel", req.Channel, "command", req.Text)
	cmd, err := ParseCommand(req.Text)
	if err == nil {
		if cmd.Service == "" && req.Service != "" {
			cmd.Service = req.Service
		}
		err = e.run(ctx, req, cmd, false)
	}
	return e.answer(ctx, log, req, err)
}

// answer tells the user what became of a command: bad input and refusals
// in plain words, failures with an apology. Only a failure to answer is an
// error (the job is retried).
func (e *Engine) answer(ctx context.Context, log *slog.Logger, req CommandRequest, err error) error {
	var usage *UsageError
	var no *refusal
	outcome := "ok"
	defer func() {
		if e.observe != nil {
			e.observe.Command(verbOf(req.Text), outcome)
		}
	}()
	switch {
	case err == nil:
		return nil
	case errors.As(err, &usage):
		outcome = "bad_input"
		log.InfoContext(ctx, "bad command", "problem", usage.Problem)
		return e.say(ctx, req, usage.Problem+"\n"+usage.Usage)
	case errors.As(err, &no):
		outcome = "refused"
		log.InfoContext(ctx, "command refused", "reason", no.text)
		return e.say(ctx, req, no.text)
	}
	outcome = "failed"
	log.ErrorContext(ctx, "command failed", "err", err)
	if sayErr := e.say(ctx, req, fmt.Sprintf("Sorry, `/migrate %s` failed: %v. Nothing was half-done: it is safe to run it again.", req.Text, err)); sayErr != nil {
		log.ErrorContext(ctx, "could not tell the user", "err", sayErr)
	}
	// Answered: retrying would repeat the failure message.
	return nil
}

// verbOf names a command's verb for counting: one of the grammar's, or
// "unknown" (never what a user typed).
func verbOf(text string) string {
	words := strings.Fields(strings.TrimPrefix(strings.TrimSpace(text), "/migrate"))
	if len(words) == 0 {
		return string(VerbHelp)
	}
	if s, ok := lookupVerb(strings.ToLower(words[0])); ok {
		return string(s.verb)
	}
	return "unknown"
}

// say answers the user alone in Slack, or in the bot's one comment on the
// PR for a PR comment.
func (e *Engine) say(ctx context.Context, req CommandRequest, text string, buttons ...Button) error {
	if req.Source == "github" {
		return e.prReply(ctx, req, text)
	}
	return e.chat.Ephemeral(ctx, req.Channel, req.User, Message{Text: text, Buttons: buttons})
}

// remember makes key the Slack user's context in the channel.
func (e *Engine) remember(ctx context.Context, req CommandRequest, key ServiceKey) error {
	if req.Source == "github" {
		return nil
	}
	return e.store.SetLastUsed(ctx, req.Team, req.Channel, req.User, key)
}

func (e *Engine) run(ctx context.Context, req CommandRequest, cmd Command, confirmed bool) error {
	switch cmd.Verb {
	case VerbHelp:
		return e.say(ctx, req, HelpText())
	case VerbList:
		return e.list(ctx, req)
	}
	key, env, err := e.resolve(ctx, req, cmd)
	if err != nil {
		return err
	}
	if cmd.Verb == VerbApprove {
		// Approving is the approvers' own right, checked by approve.
		return e.approve(ctx, req, key, env)
	}
	if err := e.authorize(ctx, req, cmd, key, env); err != nil {
		return err
	}
	switch cmd.Verb {
	case VerbStart:
		return e.start(ctx, req, key)
	case VerbBump, VerbNext:
		return e.advance(ctx, req, key, cmd, confirmed)
	case VerbDone:
		return e.done(ctx, req, key, cmd.Item)
	case VerbRollback:
		target := int64(0)
		if cmd.Weight != nil {
			target = *cmd.Weight
		}
		return e.rollback(ctx, req, key, target)
	case VerbPause, VerbResume:
		return e.pause(ctx, req, key, cmd.Verb == VerbPause)
	case VerbAbort:
		return e.abort(ctx, req, key)
	case VerbStatus:
		return e.status(ctx, req, key)
	case VerbPlan:
		return e.plan(ctx, req, key)
	case VerbConfirm, VerbCancel:
		return e.confirm(ctx, req, key, cmd.Verb == VerbConfirm)
	case VerbHealth:
		return e.healthNow(ctx, req, key)
	}
	return &UsageError{Problem: fmt.Sprintf("%q is not a migratebot command.", cmd.Verb), Usage: Usage("")}
}

// resolve finds the migration a command applies to: the service it names
// (or its button names), the one this user last worked on in this channel,
// or the only one active in the channel. Otherwise it asks which one.
func (e *Engine) resolve(ctx context.Context, req CommandRequest, cmd Command) (ServiceKey, *config.Environment, error) {
	if cmd.Service != "" {
		svc, env, ok := e.cfg.Lookup(cmd.Service)
		if !ok {
			return ServiceKey{}, nil, &UsageError{
				Problem: fmt.Sprintf("%q is not a configured service. Configured: %s.", cmd.Service, strings.Join(e.cfg.ServiceNames(), ", ")),
				Usage:   Usage(cmd.Verb),
			}
		}
		return ServiceKey{Env: svc.Environment, Service: cmd.Service}, env, nil
	}
	if key, err := e.store.LastUsed(ctx, req.Team, req.Channel, req.User); err == nil {
		if _, err := e.store.Load(ctx, key); err == nil {
			return e.keyEnv(key)
		}
	} else if !errors.Is(err, ErrNotFound) {
		return ServiceKey{}, nil, fmt.Errorf("find your last migration: %w", err)
	}
	here, err := e.activeIn(ctx, req.Channel)
	if err != nil {
		return ServiceKey{}, nil, err
	}
	switch len(here) {
	case 1:
		return e.keyEnv(here[0].Key)
	case 0:
		return ServiceKey{}, nil, &UsageError{
			Problem: "There is no migration in this context: name the service as the last word, or start one with `/migrate start <service>`.",
			Usage:   Usage(cmd.Verb),
		}
	}
	names := make([]string, len(here))
	for i, m := range here {
		names[i] = m.Key.Service
	}
	slices.Sort(names)
	return ServiceKey{}, nil, &UsageError{
		Problem: fmt.Sprintf("Which migration? Active in this channel: %s. Name it as the last word, e.g. `/migrate %s %s`.",
			joinFirst(names, whichLimit), cmd.Verb, names[0]),
		Usage: Usage(cmd.Verb),
	}
}

// whichLimit is how many services "Which migration?" names: enough to
// find the one meant in a busy channel, and a short answer however many
// migrations the channel has.
const whichLimit = 20

// joinFirst joins the first limit names with commas, and says how many
// more there are.
func joinFirst(names []string, limit int) string {
	if len(names) <= limit {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, …and %d more", strings.Join(names[:limit], ", "), len(names)-limit)
}

// activeIn lists the active migrations whose thread is in channel ("" for all).
func (e *Engine) activeIn(ctx context.Context, channel string) ([]*Migration, error) {
	var out []*Migration
	err := EachActive(ctx, e.store, func(m *Migration) {
		if channel == "" || m.Thread.Channel == channel {
			out = append(out, m)
		}
	})
	return out, err
}

// activeBatch is how many migrations EachActive loads at once: a few round
// trips for 10,000 migrations, and a thousand of them in memory at a time
// rather than all.
const activeBatch = 1000

// EachActive calls fn with every active migration, in the order of
// Store.Active, loading them activeBatch at a time with Store.LoadMany. A
// migration that finished since it was listed is skipped.
func EachActive(ctx context.Context, s Store, fn func(*Migration)) error {
	keys, err := s.Active(ctx)
	if err != nil {
		return fmt.Errorf("list active migrations: %w", err)
	}
	for start := 0; start < len(keys); start += activeBatch {
		ms, err := s.LoadMany(ctx, keys[start:min(start+activeBatch, len(keys))])
		if err != nil {
			return fmt.Errorf("read active migrations: %w", err)
		}
		for _, m := range ms {
			fn(m)
		}
	}
	return nil
}

func (e *Engine) keyEnv(key ServiceKey) (ServiceKey, *config.Environment, error) {
	svc, env, ok := e.cfg.Lookup(key.Service)
	if !ok || svc.Environment != key.Env {
		return ServiceKey{}, nil, refuse("%s is no longer configured; name a configured service.", key)
	}
	return key, env, nil
}

// authorize checks the Slack user's role in the service's environment.
func (e *Engine) authorize(ctx context.Context, req CommandRequest, cmd Command, key ServiceKey, env *config.Environment) error {
	role := env.RoleOf(req.User)
	need, what := config.RoleEngineer, "change a migration"
	switch {
	case cmd.Verb == VerbStatus || cmd.Verb == VerbPlan:
		need, what = config.RoleApprover, "see migrations"
	case cmd.Force:
		need, what = config.RoleAdmin, "force a step past its gates"
	}
	if role >= need {
		return nil
	}
	e.log.WarnContext(ctx, "unauthorized command refused", "slack_user", req.User, "verb", cmd.Verb, "service", key.String(), "role", role.String())
	return refuse("You may not run `/migrate %s%s` in %s: only its %s may %s. An admin can add your Slack user id (%s) to environments.%s.people in migratebot's config.",
		cmd.Verb, map[bool]string{true: " --force"}[cmd.Force], key.Env, roleNames(need), what, req.User, key.Env)
}

func roleNames(r config.Role) string {
	switch r {
	case config.RoleApprover:
		return "engineers, admins and change approvers"
	case config.RoleAdmin:
		return "admins"
	}
	return "engineers and admins"
}

// lock takes a migration's lock for a command, or refuses: someone else's
// change is running.
func (e *Engine) lock(ctx context.Context, key ServiceKey) (func(), error) {
	unlock, err := e.store.Lock(ctx, key, e.lockTTL)
	if errors.Is(err, ErrLocked) {
		return nil, refuse("A change to %s is already in progress (another command is running). Check `/migrate status %s` in a moment.", key.Service, key.Service)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	return unlock, nil
}

// waitLock takes a migration's lock for an event or timer, waiting for a
// command that holds it: events must not be dropped.
func (e *Engine) waitLock(ctx context.Context, key ServiceKey) (func(), error) {
	deadline := time.Now().Add(e.lockWait)
	for {
		unlock, err := e.store.Lock(ctx, key, e.lockTTL)
		if err == nil {
			return unlock, nil
		}
		if !errors.Is(err, ErrLocked) || time.Now().After(deadline) {
			return nil, fmt.Errorf("lock %s: %w", key, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// load returns the active migration of key or refuses.
func (e *Engine) load(ctx context.Context, key ServiceKey) (*Migration, error) {
	m, err := e.store.Load(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil, refuse("%s has no active migration: start one with `/migrate start %s`.", key.Service, key.Service)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", key, err)
	}
	return m, nil
}

// locked runs fn on the migration under its lock.
func (e *Engine) locked(ctx context.Context, key ServiceKey, fn func(m *Migration) error) error {
	unlock, err := e.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := e.load(ctx, key)
	if err != nil {
		return err
	}
	return fn(m)
}

// save stamps and saves a migration (in the history, for a finished one
// read from there).
func (e *Engine) save(ctx context.Context, m *Migration) error {
	m.UpdatedAt = e.clock.Now().UTC()
	if m.archived {
		return e.store.UpdateHistory(ctx, m)
	}
	if err := e.store.Save(ctx, m); err != nil {
		return fmt.Errorf("save %s: %w", m.Key, err)
	}
	return nil
}

// reader reads files on the base branch through the repo host.
func (e *Engine) reader(env *config.Environment) FileReader {
	// One command reads each file once, however many times it plans.
	type read struct {
		b  []byte
		ok bool
	}
	var mu sync.Mutex
	seen := map[string]read{}
	return func(ctx context.Context, repo, path string) ([]byte, bool, error) {
		mu.Lock()
		r, hit := seen[repo+"\x00"+path]
		mu.Unlock()
		if hit {
			return r.b, r.ok, nil
		}
		b, ok, err := e.readFile(ctx, env, repo, path)
		if err == nil {
			mu.Lock()
			seen[repo+"\x00"+path] = read{b, ok}
			mu.Unlock()
		}
		return b, ok, err
	}
}

// readFile reads a file on the environment's base branch; a missing file
// is not an error.
func (e *Engine) readFile(ctx context.Context, env *config.Environment, repo, path string) ([]byte, bool, error) {
	b, err := e.repos.ReadFile(ctx, repo, env.BaseBranch, path)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

func (e *Engine) planner(key ServiceKey, read FileReader) (*planner, error) {
	if read == nil {
		_, env, _ := e.cfg.Lookup(key.Service)
		read = e.reader(env)
	}
	return newPlanner(e.cfg, key, e.tmpl, read)
}

// openChange writes a planned change as one PR and tells the thread. A
// change left "opening" by a crash is written again on the same branch,
// where its PR is found rather than opened twice.
func (e *Engine) openChange(ctx context.Context, m *Migration, user string, kind ChangeKind, stepID string, plan Plan) error {
	_, env, _ := e.cfg.Lookup(m.Key.Service)
	c := &Change{
		Kind: kind, Step: stepID, From: m.Weights, To: plan.To, State: ChangeOpening,
		Repo: plan.Repo, Branch: BranchName(m.Key.Service, stepID), Before: plan.Before,
		RequestedBy: user, OpenedAt: e.clock.Now().UTC(), Summary: plan.What,
	}
	c.Rollback = rollbackText(m, c)
	if prev := m.Open; prev != nil && prev.Step == stepID && (prev.MessageTS != "" || prev.MessageKey != "") {
		// An interrupted attempt at this change: its message, posted or
		// perhaps posted, is the one to update.
		c.MessageTS, c.MessageKey, c.OpenedAt = prev.MessageTS, prev.MessageKey, prev.OpenedAt
	} else {
		c.MessageKey = messageKey(m, c)
		c.unposted = true
	}
	m.Open = c
	if err := e.save(ctx, m); err != nil {
		return err
	}
	spec, err := e.changeSpec(m, c, plan, env)
	if err != nil {
		return err
	}
	pr, err := e.repos.OpenChange(ctx, spec)
	if err != nil {
		// Nothing is open: let the user try again. A half-written branch
		// is reused by the retry.
		m.Open = nil
		if saveErr := e.save(ctx, m); saveErr != nil {
			e.log.ErrorContext(ctx, "could not clear the failed change", "migration", m.ID, "err", saveErr)
		}
		return fmt.Errorf("open the PR for %s: %w", stepID, err)
	}
	c.State, c.Number, c.URL = ChangeOpen, pr.Number, pr.URL
	if err := e.store.IndexPR(ctx, c.Repo, c.Number, m.Key); err != nil {
		return fmt.Errorf("index PR #%d: %w", pr.Number, err)
	}
	e.schedulePRCheck(ctx, m, c)
	e.decorate(ctx, m, c, env, spec, plan)
	if e.tickets[m.Key.Env] != nil && c.Ticket == nil {
		// Filed in the background: the PR does not wait for the ticket
		// system, and a system that is down delays nothing.
		c.Ticket = &TicketLink{Want: TicketOpen}
		e.scheduleTicket(ctx, m, c, e.clock.Now())
	}
	if err := e.postChange(ctx, m, c); err != nil {
		// The PR is open and indexed; the message is a courtesy.
		e.log.ErrorContext(ctx, "could not post the step message", "migration", m.ID, "err", err)
	}
	if err := e.save(ctx, m); err != nil {
		return err
	}
	e.refreshPlan(ctx, m)
	return nil
}

// decorate labels a new PR and asks its reviewers: the environment's and
// the code owners of the files it changes, read now that the PR is open
// (the PR does not wait for them). A failure is logged: the PR stands.
func (e *Engine) decorate(ctx context.Context, m *Migration, c *Change, env *config.Environment, spec ChangeSpec, plan Plan) {
	owners, err := e.codeOwners(ctx, c.Repo, env.BaseBranch, plan.Paths())
	if err != nil {
		// The configured approvers are still asked, and GitHub's own
		// CODEOWNERS rule applies.
		e.log.WarnContext(ctx, "could not read CODEOWNERS", "migration", m.ID, "repo", c.Repo, "err", err)
	}
	c.Owners = owners
	users, teams := reviewersOf(env, c.Repo, owners)
	if err := e.repos.Decorate(ctx, c.Repo, c.Number, spec.Labels, users, teams); err != nil {
		e.log.WarnContext(ctx, "could not label the PR or ask its reviewers", "migration", m.ID, "pr", c.Number, "err", err)
	}
}

// prefetchBase reads a repo's base branch while the step is planned, since
// the two reads do not depend on each other; wait returns it, or nil (the
// adapter then reads it itself).
func (e *Engine) prefetchBase(ctx context.Context, repo, branch string) (wait func() *BaseCommit) {
	ch := make(chan *BaseCommit, 1)
	go func() {
		b, err := e.repos.Base(ctx, repo, branch)
		if err != nil {
			e.log.WarnContext(ctx, "could not read the base branch ahead", "repo", repo, "err", err)
			ch <- nil
			return
		}
		ch <- &b
	}()
	return func() *BaseCommit { return <-ch }
}
