package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/migratebot/migratebot/config"
)

// stepView is a playbook step as shown in Slack.
type stepView struct {
	Label string
	Mark  string // ✔ done, ↷ skipped, ▶ in flight, ○ to do
}

func (e *Engine) view(m *Migration) map[string]any {
	steps := make([]stepView, 0, len(m.Steps))
	for _, s := range m.Steps {
		v := stepView{Label: stepLabel(s), Mark: "○"}
		switch {
		case m.Open != nil && m.Open.Step == s.ID:
			v.Mark = "▶"
		case s.Status == StepSkipped:
			v.Mark = "↷"
		case m.Done(s):
			v.Mark = "✔"
		}
		steps = append(steps, v)
	}
	return map[string]any{
		"Service": m.Key.Service, "Env": m.Key.Env, "ID": m.ID, "Status": string(m.Status),
		"StartedBy": m.StartedBy, "Weights": m.Weights, "Steps": steps, "Open": m.Open,
		"Next": e.nextHint(m), "Paused": m.Paused, "Health": healthLine(m), "Preflight": m.Preflight,
	}
}

// healthLine is the last verdict in a few words, for status and the plan.
func healthLine(m *Migration) string {
	s := m.LastHealth
	switch {
	case m.Health == "":
		return ""
	case Verdict(m.Health) == VerdictPending:
		return "pending: the summary of the last change is not in yet"
	case s == nil:
		return m.Health
	}
	line := fmt.Sprintf("%s (%s)", s.Verdict, s.At.Format("Mon 15:04 MST"))
	if len(s.Reasons) > 0 {
		line += ": " + strings.Join(s.Reasons, "; ")
	}
	return line
}

func stepLabel(s Step) string {
	switch s.Kind {
	case config.StepWeights:
		return fmt.Sprint(s.Target)
	case config.StepManual:
		return s.Item + " (manual)"
	case StepTTL:
		return "ttl 60s"
	}
	return s.ID
}

// nextHint says what comes next, as a person would need to know it.
func (e *Engine) nextHint(m *Migration) string {
	svc := m.Key.Service
	switch {
	case m.Status == StatusCompleted:
		return "nothing: the migration is complete."
	case m.Status == StatusAborted:
		return "nothing: the migration was aborted."
	case m.Status == StatusAborting:
		if m.Open != nil {
			return fmt.Sprintf("merge the revert <%s|PR #%d>.", m.Open.URL, m.Open.Number)
		}
		return fmt.Sprintf("`/migrate abort %s` opens the next revert PR.", svc)
	case m.Open != nil && m.Open.State == ChangeOpen:
		return fmt.Sprintf("review and merge <%s|PR #%d>.", m.Open.URL, m.Open.Number)
	case m.Paused != nil:
		return fmt.Sprintf("`/migrate resume %s`.", svc)
	}
	cur, ok := m.Current()
	if !ok {
		return "nothing: every step is done."
	}
	_, env, _ := e.cfg.Lookup(svc)
	now := e.clock.Now()
	switch cur.Kind {
	case config.StepManual:
		return fmt.Sprintf("a person confirms _%s_ with `/migrate done %s %s`.", cur.Text, cur.Item, svc)
	case config.StepWeights:
		switch Verdict(m.Health) {
		case VerdictFailing:
			return fmt.Sprintf("the health is failing: `/migrate rollback %s` sends traffic back; `/migrate health %s` measures again.", svc, svc)
		case VerdictUnknown, VerdictDegraded:
			return fmt.Sprintf("the health is %s: `/migrate health %s` measures again before `/migrate next %s` → new %d.", m.Health, svc, svc, cur.Target)
		}
		hint := fmt.Sprintf("`/migrate next %s` → new %d", svc, cur.Target)
		var after []string
		if env != nil && !m.LastMergeAt.IsZero() {
			if due := m.LastMergeAt.Add(soakFor(env, m.TTL)); now.Before(due) {
				after = append(after, fmt.Sprintf("the soak (from %s)", due.UTC().Format("15:04 MST")))
			}
		}
		if Verdict(m.Health) == VerdictPending {
			after = append(after, "a healthy summary")
		}
		if len(after) > 0 {
			hint += ", after " + strings.Join(after, " and ")
		}
		return hint + "."
	case config.StepDecommission:
		if due := m.LastMergeAt.Add(cur.Soak); now.Before(due) {
			return fmt.Sprintf("decommission, from %s after %s at new 100; the bot will remind here.", due.UTC().Format("Mon 2 Jan 15:04 MST"), humanDuration(cur.Soak))
		}
		return fmt.Sprintf("`/migrate next %s` opens the PR removing the old source.", svc)
	}
	return fmt.Sprintf("`/migrate next %s` opens the PR for %s.", svc, cur.ID)
}

func (e *Engine) planMessage(m *Migration) (Message, error) {
	text, err := e.tmpl.Render("slack_plan.tmpl", e.view(m))
	if err != nil {
		return Message{}, err
	}
	return Message{Text: text, Key: fmt.Sprintf("plan/%s/%d", m.ID, m.StartedAt.UnixNano())}, nil
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

// tell posts in the migration's thread; a failure is logged.
func (e *Engine) tell(ctx context.Context, m *Migration, text string) {
	if m.Thread.TS == "" {
		return
	}
	if _, err := e.chat.Post(ctx, m.Thread.Channel, m.Thread.TS, Message{Text: text}); err != nil {
		e.log.ErrorContext(ctx, "could not post in the thread", "migration", m.ID, "err", err)
	}
}

// postChange posts or updates a change's one message in the thread.
func (e *Engine) postChange(ctx context.Context, m *Migration, c *Change) error {
	next := ""
	if c.State == ChangeMerged && c.Health == nil {
		next = e.nextHint(m) // with a summary, the summary says what is next
	}
	health, err := e.healthSection(m, c)
	if err != nil {
		return err
	}
	text, err := e.tmpl.Render("slack_step.tmpl", map[string]any{
		"Service": m.Key.Service, "Change": c, "Next": next, "Who": who(c.RequestedBy),
		"Ticket": ticketStatus(c), "Reviews": reviewText(c), "AutoMerge": c.AutoMerge, "Health": health,
	})
	if err != nil {
		return err
	}
	msg := Message{Text: text}
	gateOpen := e.healthGate(m, false) == nil // the button runs what the gate allows
	if cur, ok := m.Current(); c.State == ChangeMerged && ok && m.Status == StatusActive && cur.Kind != config.StepManual && gateOpen && isLastMerged(m, c) {
		label := "Run the next step: " + cur.ID
		if cur.Kind == config.StepWeights {
			label = fmt.Sprintf("Open the PR to new %d", cur.Target)
		}
		msg.Buttons = []Button{{ActionID: "migrate:next", Text: label, Value: m.Key.String(), Style: "primary"}}
	}
	if _, env, ok := e.cfg.Lookup(m.Key.Service); ok && c.State == ChangeOpen && c.Number != 0 &&
		(len(env.People.Approvers) > 0 || env.People.SlackApproverGroup != "") {
		msg.Buttons = []Button{{ActionID: "migrate:approve", Text: "Approve change", Value: m.Key.String(), Style: "primary"}}
	}
	msg.Key = c.MessageKey
	if c.MessageTS != "" {
		return e.chat.Update(ctx, m.Thread.Channel, c.MessageTS, msg)
	}
	maybe := !c.unposted // a post may have been made whose ts was not saved
	c.unposted = false
	ts, err := e.postOnce(ctx, m, m.Thread.Channel, m.Thread.TS, msg, maybe)
	if err != nil {
		return err
	}
	c.MessageTS = ts
	return nil
}

// postOnce posts a keyed message, in a thread or (thread "") in the
// channel, and returns its ts. Slack has no idempotency key, so the key
// does its work: when a post of the message may already have been made
// (maybe: a replica died, or an answer was lost, before its ts was saved)
// the message is looked for first and, found, updated; and a post that
// fails is looked for, in case only its answer was lost. A lookup that
// fails is logged, and the message posted: better twice than never.
func (e *Engine) postOnce(ctx context.Context, m *Migration, channel, thread string, msg Message, maybe bool) (string, error) {
	find := func() (string, error) {
		if msg.Key == "" {
			return "", nil
		}
		if thread == "" {
			return e.chat.FindInChannel(ctx, channel, msg.Key)
		}
		return e.chat.FindInThread(ctx, channel, thread, msg.Key)
	}
	if maybe {
		ts, err := find()
		if err != nil {
			e.log.WarnContext(ctx, "could not look for a message that may have been posted; posting it", "migration", m.ID, "err", err)
		} else if ts != "" {
			return ts, e.chat.Update(ctx, channel, ts, msg)
		}
	}
	ts, err := e.chat.Post(ctx, channel, thread, msg)
	if err != nil {
		if found, ferr := find(); ferr == nil && found != "" {
			return found, nil
		}
		return "", err
	}
	return ts, nil
}

// messageKey names a change's step message for FindInThread: the migration, the
// step and when the change was begun, so a step tried again after its PR
// was closed gets a message of its own.
func messageKey(m *Migration, c *Change) string {
	return fmt.Sprintf("%s/%s/%d", m.ID, c.Step, c.OpenedAt.UnixNano())
}

// isLastMerged reports whether c is the migration's newest merged change.
func isLastMerged(m *Migration, c *Change) bool {
	last := m.lastMerged()
	return last != nil && last.Repo == c.Repo && last.Number == c.Number
}

// healthSection is what a merged change's message says of its health:
// the summary, or when it is due.
func (e *Engine) healthSection(m *Migration, c *Change) (string, error) {
	switch {
	case c.Health != nil:
		return e.tmpl.Render("slack_health.tmpl", e.healthView(m, c.Health))
	case c.State != ChangeMerged || !measured(m, c) || Verdict(m.Health) != VerdictPending:
		return "", nil
	case c.AppliedAt.IsZero():
		return "🩺 Health: waiting for the change to be live (" + c.Step + ").", nil
	}
	return "🩺 Health: " + c.ApplyNote + "; the summary follows after 2×TTL and the measuring window.", nil
}

// changeSpec renders a change's commit, title and body.
func (e *Engine) changeSpec(m *Migration, c *Change, plan Plan, env *config.Environment) (ChangeSpec, error) {
	svc := m.Key.Service
	step, _ := m.Step(c.Step)
	rollback := rollbackText(m, c)
	// What comes after the merge, as the thread will say it.
	after := *m
	after.Steps = slices.Clone(m.Steps)
	after.Open = nil
	after.LastMergeAt = e.clock.Now()
	e.applyMerged(&after, c, after.LastMergeAt)
	next := "migratebot marks the step done in the migration's Slack thread"
	if h := e.nextHint(&after); h != "" {
		next += "; next, " + h
	}
	data := map[string]any{
		"Service": svc, "Env": m.Key.Env, "MigrationID": m.ID, "Step": c.Step, "Kind": string(c.Kind),
		"Subject": plan.Title, "What": plan.What, "Why": plan.Why, "Rollback": rollback, "Next": next,
		"Branch": c.Branch, "RequestedBy": who(c.RequestedBy), "Requester": plainWho(c.RequestedBy), "Urgent": c.Kind != KindStep,
		"TicketLine": map[bool]string{true: ticketLine}[e.tickets[m.Key.Env] != nil],
	}
	var err error
	render := func(name string) string {
		if err != nil {
			return ""
		}
		var s string
		s, err = e.tmpl.Render(name, data)
		return s
	}
	labels := []string{"migratebot"}
	switch {
	case c.Kind == KindRollback:
		labels = append(labels, "rollback", "urgent")
	case c.Kind == KindRevert:
		labels = append(labels, "revert")
	case step != nil && step.Kind == config.StepWeights || c.From != c.To:
		labels = append(labels, "dns-weights")
	}
	spec := ChangeSpec{
		Repo: c.Repo, BaseBranch: env.BaseBranch, Base: plan.Base, Branch: c.Branch, Files: plan.Files, Delete: plan.Delete,
		CommitMessage: render("commit_message.tmpl"), Title: render("pr_title.tmpl"), Body: render("pr_body.md.tmpl"),
		Labels: labels,
	}
	spec.Reviewers, spec.TeamReviewers = reviewersOf(env, c.Repo, c.Owners)
	return spec, err
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
	return e.remember(ctx, req, key)
}

// list shows the active migrations, to the asking user.
func (e *Engine) list(ctx context.Context, req CommandRequest) error {
	if !e.hasAnyRole(req.User) {
		e.log.WarnContext(ctx, "unauthorized command refused", "slack_user", req.User, "verb", VerbList)
		return refuse("You may not list migrations: you have no role in any environment. An admin can add your Slack user id (%s) to an environment's people in migratebot's config.", req.User)
	}
	// Only the migrations shown are kept; the others are counted.
	var ms []*Migration
	total := 0
	err := EachActive(ctx, e.store, func(m *Migration) {
		total++
		if len(ms) < listLimit {
			ms = append(ms, m)
		}
	})
	if err != nil {
		return err
	}
	if total == 0 {
		return e.say(ctx, req, "No migration is active. `/migrate start <service>` starts one.")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*Active migrations* (%d):\n", total)
	for _, m := range ms {
		step := "all steps done"
		if cur, ok := m.Current(); ok {
			step = "at " + cur.ID
		}
		fmt.Fprintf(&b, "• `%s` (%s) · %s · %s", m.Key.Service, m.Key.Env, step, m.Weights)
		if m.Open != nil && m.Open.URL != "" {
			fmt.Fprintf(&b, " · <%s|PR #%d> open", m.Open.URL, m.Open.Number)
		}
		if m.Paused != nil {
			b.WriteString(" · ⏸ paused")
		}
		if m.Status == StatusAborting {
			b.WriteString(" · aborting")
		}
		b.WriteString("\n")
	}
	if total > len(ms) {
		fmt.Fprintf(&b, "…and %d more. `/migrate status <service>` shows any one of them.\n", total-len(ms))
	}
	return e.say(ctx, req, strings.TrimSpace(b.String()))
}

// listLimit is how many migrations /migrate list shows: a line each, so
// the answer stays a couple of Slack sections (Slack takes at most 50 in a
// message) however many are active.
const listLimit = 50

func (e *Engine) hasAnyRole(user string) bool {
	for _, env := range e.cfg.Environments {
		if env.RoleOf(user) > config.RoleNone {
			return true
		}
	}
	return false
}

// plan shows the diffs of the remaining steps, opening nothing: each step is
// computed on the files as the steps before it would leave them.
func (e *Engine) plan(ctx context.Context, req CommandRequest, key ServiceKey) error {
	m, err := e.load(ctx, key)
	if err != nil {
		return err
	}
	_, env, _ := e.cfg.Lookup(key.Service)
	text, err := e.RenderPlan(ctx, m, e.reader(env))
	if err != nil {
		return err
	}
	return e.say(ctx, req, text)
}

// RenderPlan writes the remaining steps of m with their diffs.
func (e *Engine) RenderPlan(ctx context.Context, m *Migration, base FileReader) (string, error) {
	overlay := map[string]*string{}
	read := func(ctx context.Context, repo, path string) ([]byte, bool, error) {
		if c, ok := overlay[repo+":"+path]; ok {
			if c == nil {
				return nil, false, nil
			}
			return []byte(*c), true, nil
		}
		return base(ctx, repo, path)
	}
	p, err := e.planner(m.Key, read)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*Remaining steps of `%s`* (nothing is opened):\n", m.Key.Service)
	remaining := 0
	for _, s := range m.Steps {
		if m.Done(s) {
			continue
		}
		remaining++
		if s.Kind == config.StepManual {
			fmt.Fprintf(&b, "• *%s* — a person confirms: %s (`/migrate done %s`)\n", s.ID, s.Text, s.Item)
			continue
		}
		plan, err := p.step(ctx, s, s.Target)
		if err != nil {
			fmt.Fprintf(&b, "• *%s* — cannot be planned now: %v\n", s.ID, err)
			continue
		}
		note := ""
		if m.Open != nil && m.Open.Step == s.ID {
			note = fmt.Sprintf(" (open as <%s|PR #%d>)", m.Open.URL, m.Open.Number)
		}
		fmt.Fprintf(&b, "• *%s* → %s%s\n```%s```\n", s.ID, plan.Repo, note, plan.Diff())
		for path, c := range plan.Files {
			content := string(c)
			overlay[plan.Repo+":"+path] = &content
		}
		for _, path := range plan.Delete {
			overlay[plan.Repo+":"+path] = nil
		}
	}
	if remaining == 0 {
		b.WriteString("None: every step is done.")
	}
	return strings.TrimSpace(b.String()), nil
}

// rollbackText is how to undo a change, as its PR and ticket say it.
func rollbackText(m *Migration, c *Change) string {
	svc := m.Key.Service
	step, _ := m.Step(c.Step)
	switch {
	case c.Kind == KindRevert:
		return "none needed: this puts the files back as they were before the migration."
	case c.Kind == KindRollback:
		return fmt.Sprintf("`/migrate bump %d %s` returns to %s once the cause is fixed.", c.From.New, svc, c.From)
	case step != nil && step.Irreversible:
		return "none once merged: this step is irreversible, and abort is refused after it."
	case step != nil && step.Kind == config.StepWeights || c.From != c.To:
		if c.From.New == 0 {
			return fmt.Sprintf("`/migrate rollback %s` sends all traffic back to the old side.", svc)
		}
		return fmt.Sprintf("`/migrate rollback to %d %s` restores %s; `/migrate rollback %s` sends all traffic back to the old side.", c.From.New, svc, c.From, svc)
	}
	return fmt.Sprintf("`/migrate abort %s` reverts this and every earlier step, newest first.", svc)
}

// plainWho writes a requester outside Slack (tickets, commits).
func plainWho(user string) string {
	if user == "migratebot" {
		return "migratebot"
	}
	if login, ok := strings.CutPrefix(user, "github:"); ok {
		return "GitHub user " + login
	}
	return "Slack user " + user
}

// who writes a requester for people: a Slack mention, or a GitHub login.
func who(user string) string {
	if user == "migratebot" {
		return "migratebot (automatic)"
	}
	if login, ok := strings.CutPrefix(user, "github:"); ok {
		return "@" + login + " (GitHub)"
	}
	return "<@" + user + ">"
}
