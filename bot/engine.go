package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/migratebot/migratebot/bot/weightfile"
	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/templates"
)

// Engine runs commands and reacts to GitHub events. It is safe for
// concurrent use: every change to a migration happens under its lock.
type Engine struct {
	cfg   *config.Config
	store Store
	repos Repos
	chat  Chat
	clock Clock
	tmpl  *templates.Set
	log   *slog.Logger
	// LockTTL bounds how long one job may hold a migration; every outside
	// call it makes has its own shorter timeout.
	lockTTL time.Duration
	// lockWait is how long a GitHub event waits for a busy migration.
	lockWait time.Duration
}

// Deps are what the engine talks to.
type Deps struct {
	Config    *config.Config
	Store     Store
	Repos     Repos
	Chat      Chat
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
		cfg: d.Config, store: d.Store, repos: d.Repos, chat: d.Chat, clock: d.Clock,
		tmpl: d.Templates, log: log, lockTTL: 2 * time.Minute, lockWait: 30 * time.Second,
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
		err = e.run(ctx, req, cmd)
	}
	var usage *UsageError
	var no *refusal
	switch {
	case err == nil:
		return nil
	case errors.As(err, &usage):
		log.InfoContext(ctx, "bad command", "problem", usage.Problem)
		return e.say(ctx, req, usage.Problem+"\n"+usage.Usage)
	case errors.As(err, &no):
		log.InfoContext(ctx, "command refused", "reason", no.text)
		return e.say(ctx, req, no.text)
	}
	log.ErrorContext(ctx, "command failed", "err", err)
	if sayErr := e.say(ctx, req, fmt.Sprintf("Sorry, `/migrate %s` failed: %v. Nothing was half-done: it is safe to run it again.", req.Text, err)); sayErr != nil {
		log.ErrorContext(ctx, "could not tell the user", "err", sayErr)
	}
	// Answered: retrying would repeat the failure message.
	return nil
}

// say answers the user alone.
func (e *Engine) say(ctx context.Context, req CommandRequest, text string) error {
	return e.chat.Ephemeral(ctx, req.Channel, req.User, Message{Text: text})
}

func (e *Engine) run(ctx context.Context, req CommandRequest, cmd Command) error {
	if cmd.Verb == VerbHelp {
		return e.say(ctx, req, HelpText())
	}
	key, env, err := e.resolve(ctx, req, cmd)
	if err != nil {
		return err
	}
	if err := e.authorize(ctx, req, cmd, key, env); err != nil {
		return err
	}
	switch cmd.Verb {
	case VerbStart:
		return e.start(ctx, req, key)
	case VerbBump, VerbNext:
		return e.bump(ctx, req, key, cmd)
	case VerbStatus:
		return e.status(ctx, req, key)
	}
	return &UsageError{Problem: fmt.Sprintf("%q is not a migratebot command.", cmd.Verb), Usage: Usage("")}
}

// resolve finds the migration a command applies to: the service it names,
// the button's migration, the one this user last worked on in this channel,
// or the only one active in the channel. Otherwise it asks which one.
func (e *Engine) resolve(ctx context.Context, req CommandRequest, cmd Command) (ServiceKey, *config.Environment, error) {
	name := cmd.Service
	if name == "" {
		name = req.Service
	}
	if name != "" {
		svc, env, ok := e.cfg.Lookup(name)
		if !ok {
			return ServiceKey{}, nil, &UsageError{
				Problem: fmt.Sprintf("%q is not a configured service. Configured: %s.", name, strings.Join(e.cfg.ServiceNames(), ", ")),
				Usage:   Usage(cmd.Verb),
			}
		}
		return ServiceKey{Env: svc.Environment, Service: name}, env, nil
	}
	if key, err := e.store.LastUsed(ctx, req.Team, req.Channel, req.User); err == nil {
		if _, err := e.store.Load(ctx, key); err == nil {
			return e.keyEnv(key)
		}
	} else if !errors.Is(err, ErrNotFound) {
		return ServiceKey{}, nil, fmt.Errorf("find your last migration: %w", err)
	}
	active, err := e.store.Active(ctx)
	if err != nil {
		return ServiceKey{}, nil, fmt.Errorf("list active migrations: %w", err)
	}
	var here []ServiceKey
	for _, k := range active {
		m, err := e.store.Load(ctx, k)
		if err != nil {
			continue // finished meanwhile
		}
		if m.Thread.Channel == req.Channel {
			here = append(here, k)
		}
	}
	switch len(here) {
	case 1:
		return e.keyEnv(here[0])
	case 0:
		return ServiceKey{}, nil, &UsageError{
			Problem: "There is no migration in this context: name the service as the last word, or start one with `/migrate start <service>`.",
			Usage:   Usage(cmd.Verb),
		}
	}
	names := make([]string, len(here))
	for i, k := range here {
		names[i] = k.Service
	}
	slices.Sort(names)
	return ServiceKey{}, nil, &UsageError{
		Problem: fmt.Sprintf("Which migration? Active in this channel: %s. Name it as the last word, e.g. `/migrate %s %s`.",
			strings.Join(names, ", "), cmd.Verb, names[0]),
		Usage: Usage(cmd.Verb),
	}
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
	if cmd.Verb == VerbStatus {
		need, what = config.RoleApprover, "see migrations"
	}
	if role >= need {
		return nil
	}
	e.log.WarnContext(ctx, "unauthorized command refused", "slack_user", req.User, "verb", cmd.Verb, "service", key.String(), "role", role.String())
	return refuse("You may not run `/migrate %s` in %s: only its %s may %s. An admin can add your Slack user id (%s) to environments.%s.people in migratebot's config.",
		cmd.Verb, key.Env, roleNames(need), what, req.User, key.Env)
}

func roleNames(r config.Role) string {
	if r == config.RoleApprover {
		return "engineers, admins and change approvers"
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

// readWeights reads the service's weights file at the base branch.
func (e *Engine) readWeights(ctx context.Context, key ServiceKey) ([]byte, Weights, error) {
	svc, env, _ := e.cfg.Lookup(key.Service)
	if svc.Weights.Format != "yaml" {
		return nil, Weights{}, refuse("%s keeps its weights in %s (%s format), which migratebot cannot edit yet: only YAML sources files for now.", key.Service, svc.Weights.Path, svc.Weights.Format)
	}
	content, err := e.repos.ReadFile(ctx, env.EnvConfigRepo, env.BaseBranch, svc.Weights.Path)
	if errors.Is(err, ErrNotFound) {
		return nil, Weights{}, refuse("%s has no file %s on %s: check services.%s.weights.path.", env.EnvConfigRepo, svc.Weights.Path, env.BaseBranch, key.Service)
	}
	if err != nil {
		return nil, Weights{}, fmt.Errorf("read %s from %s: %w", svc.Weights.Path, env.EnvConfigRepo, err)
	}
	sources, err := weightfile.ReadYAML(content)
	if err != nil {
		return nil, Weights{}, refuse("%s in %s cannot be read: %v", svc.Weights.Path, env.EnvConfigRepo, err)
	}
	var w Weights
	found := 0
	for _, s := range sources {
		switch s.Name {
		case svc.Weights.OldSource:
			w.Old = s.Weight
			found++
		case svc.Weights.NewSource:
			w.New = s.Weight
			found++
		}
	}
	if found != 2 {
		return nil, Weights{}, refuse("%s in %s must have the sources %q (old) and %q (new).", svc.Weights.Path, env.EnvConfigRepo, svc.Weights.OldSource, svc.Weights.NewSource)
	}
	if w.Old+w.New != 100 {
		return nil, Weights{}, refuse("%s in %s has weights old %d / new %d: migratebot needs them to add up to 100.", svc.Weights.Path, env.EnvConfigRepo, w.Old, w.New)
	}
	return content, w, nil
}

func (e *Engine) start(ctx context.Context, req CommandRequest, key ServiceKey) error {
	unlock, err := e.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	if m, err := e.store.Load(ctx, key); err == nil {
		return refuse("%s is already migrating (`%s`, started by <@%s>): its thread is the conversation. `/migrate status %s` shows where it is.", key.Service, m.ID, m.StartedBy, key.Service)
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("load %s: %w", key, err)
	}
	_, weights, err := e.readWeights(ctx, key)
	if err != nil {
		return err
	}
	if weights.New == 100 {
		return refuse("%s already sends all its traffic to the new side (old 0 / new 100): there is nothing to migrate.", key.Service)
	}
	svc, _, _ := e.cfg.Lookup(key.Service)
	now := e.clock.Now().UTC()
	m := &Migration{
		ID:        key.Service + "-" + now.Format("20060102-150405"),
		Key:       key,
		Status:    StatusActive,
		Targets:   slices.Clone(e.cfg.Playbooks[svc.Playbook].Weights),
		Weights:   weights,
		StartedBy: req.User,
		StartedAt: now,
		UpdatedAt: now,
	}
	if err := e.store.Create(ctx, m); errors.Is(err, ErrExists) {
		return refuse("%s is already migrating: `/migrate status %s` shows where it is.", key.Service, key.Service)
	} else if err != nil {
		return fmt.Errorf("create migration for %s: %w", key, err)
	}
	plan, err := e.planMessage(m)
	if err != nil {
		return err
	}
	ts, err := e.chat.Post(ctx, req.Channel, "", plan)
	if err != nil {
		return fmt.Errorf("post the plan of %s: %w", key, err)
	}
	m.Thread = Thread{Channel: req.Channel, TS: ts}
	if err := e.store.Save(ctx, m); err != nil {
		return fmt.Errorf("save %s: %w", key, err)
	}
	if err := e.store.IndexThread(ctx, m.Thread, key); err != nil {
		return fmt.Errorf("index the thread of %s: %w", key, err)
	}
	return e.store.SetLastUsed(ctx, req.Team, req.Channel, req.User, key)
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

func (e *Engine) bump(ctx context.Context, req CommandRequest, key ServiceKey, cmd Command) error {
	unlock, err := e.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := e.load(ctx, key)
	if err != nil {
		return err
	}
	var target int64
	if cmd.Verb == VerbBump {
		target = *cmd.Weight
	} else if t, ok := m.NextTarget(); ok {
		target = t
	} else {
		return refuse("%s is at new %d: there is no next weight step.", key.Service, m.Weights.New)
	}
	if m.Open != nil {
		switch {
		case m.Open.State == ChangeOpen:
			return refuse("%s has an open PR: <%s|PR #%d> (new %d → %d). Merge or close it before the next step.", key.Service, m.Open.URL, m.Open.Number, m.Open.From.New, m.Open.To.New)
		case m.Open.To.New != target:
			return refuse("%s: a change to new %d was interrupted; run `/migrate bump %d %s` to finish it first.", key.Service, m.Open.To.New, m.Open.To.New, key.Service)
		}
		// A crashed step to the same target: write it again. The
		// deterministic branch finds the PR if it was already opened.
		e.log.InfoContext(ctx, "resuming an interrupted change", "migration", m.ID, "step", m.Open.Step)
	}
	if target == m.Weights.New {
		return refuse("%s is already at old %d / new %d.", key.Service, m.Weights.Old, m.Weights.New)
	}
	content, fileWeights, err := e.readWeights(ctx, key)
	if err != nil {
		return err
	}
	svc, env, _ := e.cfg.Lookup(key.Service)
	if fileWeights != m.Weights {
		return refuse("%s in %s says %s but the migration last applied %s: someone changed it by hand. Put the file back, or ask an admin.", svc.Weights.Path, env.EnvConfigRepo, fileWeights, m.Weights)
	}
	to := WeightsForNew(target)
	updated, err := weightfile.SetYAML(content, map[string]int64{svc.Weights.OldSource: to.Old, svc.Weights.NewSource: to.New})
	if err != nil {
		return refuse("cannot set the weights in %s: %v", svc.Weights.Path, err)
	}
	step := StepName(target)
	change := &Change{
		Step: step, From: m.Weights, To: to, State: ChangeOpening,
		Repo: env.EnvConfigRepo, Branch: BranchName(key.Service, step),
		RequestedBy: req.User, OpenedAt: e.clock.Now().UTC(),
	}
	if m.Open != nil {
		change.MessageTS = m.Open.MessageTS
	}
	m.Open = change
	m.UpdatedAt = change.OpenedAt
	if err := e.store.Save(ctx, m); err != nil {
		return fmt.Errorf("save %s: %w", key, err)
	}
	spec, err := e.changeSpec(m, change, svc, env, updated)
	if err != nil {
		return err
	}
	pr, err := e.repos.OpenChange(ctx, spec)
	if err != nil {
		// Nothing is open: let the user try again. A half-written branch
		// is reused by the retry.
		m.Open = nil
		if saveErr := e.store.Save(ctx, m); saveErr != nil {
			e.log.ErrorContext(ctx, "could not clear the failed change", "migration", m.ID, "err", saveErr)
		}
		return fmt.Errorf("open the PR for %s: %w", step, err)
	}
	change.State, change.Number, change.URL = ChangeOpen, pr.Number, pr.URL
	if err := e.store.IndexPR(ctx, change.Repo, change.Number, key); err != nil {
		return fmt.Errorf("index PR #%d: %w", pr.Number, err)
	}
	if err := e.postStep(ctx, m, change); err != nil {
		// The PR is open and indexed; the message is only a courtesy.
		e.log.ErrorContext(ctx, "could not post the step message", "migration", m.ID, "err", err)
	}
	if err := e.store.Save(ctx, m); err != nil {
		return fmt.Errorf("save %s: %w", key, err)
	}
	e.refreshPlan(ctx, m)
	return e.store.SetLastUsed(ctx, req.Team, req.Channel, req.User, key)
}

// changeSpec renders the commit, title and body of a weight change.
func (e *Engine) changeSpec(m *Migration, c *Change, svc *config.Service, env *config.Environment, content []byte) (ChangeSpec, error) {
	next, _ := (&Migration{Targets: m.Targets, Weights: c.To}).NextTarget()
	data := map[string]any{
		"Service": m.Key.Service, "Env": m.Key.Env, "MigrationID": m.ID, "Step": c.Step,
		"From": c.From, "To": c.To, "File": svc.Weights.Path, "Branch": c.Branch,
		"OldSource": svc.Weights.OldSource, "NewSource": svc.Weights.NewSource,
		"RequestedBy": c.RequestedBy, "Next": next,
	}
	var spec ChangeSpec
	var err error
	render := func(name string) string {
		var s string
		if err == nil {
			s, err = e.tmpl.Render(name, data)
		}
		return s
	}
	spec = ChangeSpec{
		Repo: c.Repo, BaseBranch: env.BaseBranch, Branch: c.Branch,
		Files:         map[string][]byte{svc.Weights.Path: content},
		CommitMessage: render("commit_message.tmpl"),
		Title:         render("pr_title.tmpl"),
		Body:          render("pr_body.md.tmpl"),
		Labels:        []string{"migratebot", "dns-weights"},
		Reviewers:     slices.Clone(env.People.GitHubApprovers),
	}
	return spec, err
}

// stepView is a playbook step as shown in Slack.
type stepView struct {
	Target int64
	Mark   string // ✔ applied, ▶ in flight, ○ to do
}

func (e *Engine) view(m *Migration) map[string]any {
	steps := make([]stepView, len(m.Targets))
	for i, t := range m.Targets {
		mark := "○"
		switch {
		case t <= m.Weights.New:
			mark = "✔"
		case m.Open != nil && m.Open.To.New == t:
			mark = "▶"
		}
		steps[i] = stepView{Target: t, Mark: mark}
	}
	next, _ := m.NextTarget()
	return map[string]any{
		"Service": m.Key.Service, "Env": m.Key.Env, "ID": m.ID, "Status": string(m.Status),
		"StartedBy": m.StartedBy, "Weights": m.Weights, "Steps": steps, "Open": m.Open, "Next": next,
	}
}

func (e *Engine) planMessage(m *Migration) (Message, error) {
	text, err := e.tmpl.Render("slack_plan.tmpl", e.view(m))
	if err != nil {
		return Message{}, err
	}
	return Message{Text: text}, nil
}

// refreshPlan updates the thread's plan message in place. It is a courtesy:
// a failure is logged, not returned.
func (e *Engine) refreshPlan(ctx context.Context, m *Migration) {
	if m.Thread.TS == "" {
		return
	}
	msg, err := e.planMessage(m)
	if err == nil {
		err = e.chat.Update(ctx, m.Thread.Channel, m.Thread.TS, msg)
	}
	if err != nil {
		e.log.ErrorContext(ctx, "could not update the plan message", "migration", m.ID, "err", err)
	}
}

// stepMessage renders a step's one message in the thread.
func (e *Engine) stepMessage(m *Migration, c *Change) (Message, error) {
	next, _ := m.NextTarget()
	if c.State != ChangeMerged {
		next, _ = (&Migration{Targets: m.Targets, Weights: c.To}).NextTarget()
	}
	text, err := e.tmpl.Render("slack_step.tmpl", map[string]any{"Service": m.Key.Service, "Change": c, "Next": next})
	if err != nil {
		return Message{}, err
	}
	msg := Message{Text: text}
	if c.State == ChangeMerged && next != 0 {
		msg.Buttons = []Button{{ActionID: "migrate:next", Text: fmt.Sprintf("Open the PR to new %d", next), Value: m.Key.String(), Style: "primary"}}
	}
	return msg, nil
}

// postStep posts or updates the step's one message in the thread.
func (e *Engine) postStep(ctx context.Context, m *Migration, c *Change) error {
	msg, err := e.stepMessage(m, c)
	if err != nil {
		return err
	}
	if c.MessageTS != "" {
		return e.chat.Update(ctx, m.Thread.Channel, c.MessageTS, msg)
	}
	ts, err := e.chat.Post(ctx, m.Thread.Channel, m.Thread.TS, msg)
	if err != nil {
		return err
	}
	c.MessageTS = ts
	return nil
}

func (e *Engine) status(ctx context.Context, req CommandRequest, key ServiceKey) error {
	m, err := e.load(ctx, key)
	if err != nil {
		return err
	}
	text, err := e.tmpl.Render("slack_status.tmpl", e.view(m))
	if err != nil {
		return err
	}
	if err := e.say(ctx, req, text); err != nil {
		return err
	}
	return e.store.SetLastUsed(ctx, req.Team, req.Channel, req.User, key)
}

// PullRequestClosed marks a merged step applied, or a closed one abandoned.
// A redelivered or repeated event changes nothing: the change it names is no
// longer the open one.
func (e *Engine) PullRequestClosed(ctx context.Context, ev PullRequestEvent) error {
	log := e.log.With("repo", ev.Repo, "pr", ev.Number, "installation_id", ev.InstallationID)
	key, err := e.store.FindPR(ctx, ev.Repo, ev.Number)
	if errors.Is(err, ErrNotFound) {
		log.DebugContext(ctx, "not a migratebot PR")
		return nil
	}
	if err != nil {
		return fmt.Errorf("find the migration of %s#%d: %w", ev.Repo, ev.Number, err)
	}
	unlock, err := e.waitLock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := e.store.Load(ctx, key)
	if errors.Is(err, ErrNotFound) {
		log.InfoContext(ctx, "PR closed after its migration ended", "migration", key.String())
		return nil
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", key, err)
	}
	c := m.Open
	if c == nil || c.Repo != ev.Repo || c.Number != ev.Number {
		log.InfoContext(ctx, "PR event already applied", "migration", m.ID)
		return nil
	}
	c.ClosedAt, c.ClosedBy = e.clock.Now().UTC(), ev.By
	if ev.Merged {
		c.State = ChangeMerged
		m.Weights = c.To
		if _, more := m.NextTarget(); !more {
			m.Status = StatusCompleted
		}
	} else {
		c.State = ChangeClosed
	}
	m.History = append(m.History, *c)
	m.Open = nil
	m.UpdatedAt = c.ClosedAt
	if err := e.store.Save(ctx, m); err != nil {
		return fmt.Errorf("save %s: %w", key, err)
	}
	log.InfoContext(ctx, "step closed", "migration", m.ID, "step", c.Step, "merged", ev.Merged, "weights", m.Weights.String())
	if err := e.postStep(ctx, m, c); err != nil {
		log.ErrorContext(ctx, "could not update the step message", "migration", m.ID, "err", err)
	}
	e.refreshPlan(ctx, m)
	return nil
}

// waitLock takes a migration's lock for a GitHub event, waiting for a
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
