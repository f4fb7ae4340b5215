package bot

import (
	"context"
	"fmt"
	"math"
	"strings"
	"text/template"
	"time"

	"github.com/migratebot/migratebot/config"
)

// Health summaries. After every merged step or rollback, in an environment
// with health settings, the bot:
//  1. confirms the change is live (Route53 serves the merged weights, or
//     the apply check URL answers), polling until the apply timeout;
//  2. waits 2×TTL after that, since resolvers keep the old answers that
//     long, then measures over the window;
//  3. judges both sides (requests, 5xx, p95, the observed split, alarms,
//     health checks, probes), posts the summary in the step's message and
//     the PR's comment, tells the ticket, and gates the next step on it.
// Each phase is a Redis timer, so a restart or another replica takes it
// over, and the summary is stored on its change, so it is made once.

// Verdict is a health summary's conclusion.
type Verdict string

// Verdicts, from best to worst; pending is "a summary is due".
const (
	VerdictHealthy  Verdict = "healthy"
	VerdictDegraded Verdict = "degraded"
	VerdictUnknown  Verdict = "unknown"
	VerdictFailing  Verdict = "failing"
	VerdictPending  Verdict = "pending"
)

// HealthSummary is what the bot measured after a merge, or on demand.
type HealthSummary struct {
	// Step is the change it follows; empty on demand.
	Step     string    `json:"step,omitempty"`
	OnDemand bool      `json:"on_demand,omitempty"`
	At       time.Time `json:"at"`
	// Applied says whether the change was seen live; ApplyNote says how.
	Applied   bool   `json:"applied"`
	ApplyNote string `json:"apply_note"`
	// From and To bound the window measured.
	From     time.Time  `json:"from"`
	To       time.Time  `json:"to"`
	Expected Weights    `json:"expected"`
	Old      SideHealth `json:"old"`
	New      SideHealth `json:"new"`
	// NewShare is the new side's observed share of requests, in percent.
	NewShare *float64 `json:"new_share,omitempty"`
	Alarms   []string `json:"alarms,omitempty"`
	Verdict  Verdict  `json:"verdict"`
	// Reasons are every finding that kept the verdict from healthy.
	Reasons []string `json:"reasons,omitempty"`
}

// SideHealth is one side's figures and checks.
type SideHealth struct {
	Figures
	ErrorRate *float64 `json:"error_rate,omitempty"`
	// Probe is "" (not probed), "ok", or what the health URL answered.
	Probe string `json:"probe,omitempty"`
	// HealthCheck is "" (none), "healthy" or "unhealthy".
	HealthCheck string `json:"health_check,omitempty"`
	// Expected is false for a side that should get no traffic: it is not
	// judged.
	Expected bool `json:"expected"`
}

// healthOn reports whether an environment makes health summaries.
func healthOn(env *config.Environment) bool { return env != nil && env.Health != nil }

// measured reports whether a merged change gets a health summary: steps
// and rollbacks that leave the migration running (reverts undo it, and the
// last step finishes it).
func measured(m *Migration, c *Change) bool {
	return c.Kind != KindRevert && m.Status == StatusActive
}

// scheduleHealth starts a merged change's health summary: the apply check
// now. The next weight step waits for the summary.
func (e *Engine) scheduleHealth(ctx context.Context, m *Migration, c *Change) {
	m.Health = string(VerdictPending)
	e.scheduleHealthTimer(ctx, m, c, TimerHealthApply, e.clock.Now())
}

func (e *Engine) scheduleHealthTimer(ctx context.Context, m *Migration, c *Change, kind TimerKind, at time.Time) {
	t := Timer{Kind: kind, Key: m.Key, Migration: m.ID, Due: at.UTC(), Repo: c.Repo, Number: c.Number}
	if err := e.sched.Schedule(ctx, t); err != nil {
		e.log.ErrorContext(ctx, "could not schedule a health timer", "migration", m.ID, "kind", kind, "err", err)
	}
}

// applyPoll is how often the apply check looks again.
const applyPoll = 30 * time.Second

// applyCheckDue runs a due apply check: once the change is live, the
// measurement is scheduled; past the timeout, a summary says it is not
// applied yet (which gates the next step), and the check goes on, less
// often, for a while.
func (e *Engine) applyCheckDue(ctx context.Context, m *Migration, t Timer) error {
	c := m.findChange(t.Repo, t.Number)
	if c == nil || c.Health != nil && c.Health.Applied || !c.AppliedAt.IsZero() {
		return nil // measured already, or being measured
	}
	svc, env, ok := e.cfg.Lookup(m.Key.Service)
	if !ok || !healthOn(env) {
		return nil
	}
	now := e.clock.Now().UTC()
	applied, note := e.applied(ctx, svc, env, c, c.To)
	if applied {
		c.AppliedAt, c.ApplyNote = now, note
		due := now.Add(2*time.Duration(m.TTL)*time.Second + time.Duration(env.Health.Window))
		e.scheduleHealthTimer(ctx, m, c, TimerHealthMeasure, due)
		e.log.InfoContext(ctx, "change applied", "migration", m.ID, "step", c.Step, "summary_due", due)
		return e.save(ctx, m)
	}
	timeout := c.ClosedAt.Add(time.Duration(env.Health.ApplyTimeout))
	switch {
	case now.Before(timeout):
		e.scheduleHealthTimer(ctx, m, c, TimerHealthApply, now.Add(applyPoll))
		return nil
	case c.Health == nil:
		s := &HealthSummary{
			Step: c.Step, At: now, ApplyNote: note, Expected: c.To, Verdict: VerdictUnknown,
			Reasons: []string{fmt.Sprintf("not applied yet: %s, %s after the merge (apply timeout %s)", note, humanDuration(now.Sub(c.ClosedAt)), humanDuration(time.Duration(env.Health.ApplyTimeout)))},
		}
		if err := e.recordHealth(ctx, m, c, env, s); err != nil {
			return err
		}
	}
	// Keep looking, every few minutes, for six timeouts more.
	if now.Before(c.ClosedAt.Add(7 * time.Duration(env.Health.ApplyTimeout))) {
		e.scheduleHealthTimer(ctx, m, c, TimerHealthApply, now.Add(5*applyPoll))
	}
	return nil
}

// applied says whether DNS serves a change's weights, and what it serves.
func (e *Engine) applied(ctx context.Context, svc *config.Service, env *config.Environment, c *Change, want Weights) (bool, string) {
	h := env.Health
	switch {
	case h.Route53ZoneID != "" && e.dns != nil && c.hasWeights():
		got, err := e.dns.Weights(ctx, h.Route53ZoneID, svc.DNS.Entry)
		if err != nil {
			return false, fmt.Sprintf("Route53 could not be read (%v)", err)
		}
		old, hasOld := got[svc.Weights.OldSource]
		nw, hasNew := got[svc.Weights.NewSource]
		if c.Step == "decommission" {
			if !hasOld {
				return true, fmt.Sprintf("Route53 no longer has the %s record", svc.Weights.OldSource)
			}
			return false, fmt.Sprintf("Route53 still has the %s record (weight %d)", svc.Weights.OldSource, old)
		}
		seen := fmt.Sprintf("old %s / new %s", weightText(old, hasOld), weightText(nw, hasNew))
		if hasOld && hasNew && old == want.Old && nw == want.New {
			return true, "Route53 serves " + seen
		}
		return false, fmt.Sprintf("Route53 serves %s, not %s", seen, want)
	case h.ApplyCheckURL != "":
		u, err := applyURL(h.ApplyCheckURL, svc, want)
		if err != nil {
			return false, err.Error()
		}
		if err := e.probe.Probe(ctx, u); err != nil {
			return false, fmt.Sprintf("the apply check %s does not answer yet (%v)", u, err)
		}
		return true, "the apply check answers " + u
	}
	return true, "no DNS to confirm for this change"
}

// hasWeights says whether DNS shows a change: the weighted records it
// writes or removes.
func (c *Change) hasWeights() bool {
	return c.From != c.To || c.Step == "dns-source" || c.Step == "decommission" || c.Kind == KindRollback
}

func weightText(w int64, ok bool) string {
	if !ok {
		return "none"
	}
	return fmt.Sprint(w)
}

// applyURL renders the apply check URL for a change.
func applyURL(text string, svc *config.Service, want Weights) (string, error) {
	t, err := template.New("apply_check_url").Parse(text)
	if err != nil {
		return "", fmt.Errorf("apply_check_url: %w", err)
	}
	var b strings.Builder
	err = t.Execute(&b, map[string]any{"Service": svc.DNS.Name, "Entry": svc.DNS.Entry, "Old": want.Old, "New": want.New})
	return b.String(), err
}

// measureDue runs a due measurement and posts the summary.
func (e *Engine) measureDue(ctx context.Context, m *Migration, t Timer) error {
	c := m.findChange(t.Repo, t.Number)
	if c == nil || c.AppliedAt.IsZero() || c.Health != nil && c.Health.Applied {
		return nil // posted already: a second replica's timer, or a redelivery
	}
	svc, env, ok := e.cfg.Lookup(m.Key.Service)
	if !ok || !healthOn(env) {
		return nil
	}
	to := t.Due
	from := to.Add(-time.Duration(env.Health.Window))
	s := e.measure(ctx, svc, env, c.To, from, to)
	s.Step, s.Applied, s.ApplyNote = c.Step, true, c.ApplyNote
	return e.recordHealth(ctx, m, c, env, s)
}

// recordHealth stores a change's summary, shows it, tells the ticket, and
// rolls back when the environment says to.
func (e *Engine) recordHealth(ctx context.Context, m *Migration, c *Change, env *config.Environment, s *HealthSummary) error {
	c.Health = s
	m.LastHealth = s
	m.Health = string(s.Verdict)
	switch s.Verdict {
	case VerdictHealthy:
		e.wantTicket(ctx, m, c, TicketClosed, "Health after the merge: healthy. "+s.figuresLine())
	default:
		e.wantTicket(ctx, m, c, "", strings.TrimSpace(fmt.Sprintf("Health after the merge: %s: %s. %s", s.Verdict, strings.Join(s.Reasons, "; "), s.figuresLine())))
	}
	// The last step's summary completes the migration: there is no old
	// side left to roll back to.
	completes := m.Status == StatusActive && m.Open == nil && lastStep(m, c)
	if completes {
		m.Status = StatusCompleted
	}
	rollback := !completes && s.Verdict == VerdictFailing && env.AutoRollback && c.Kind == KindStep && m.Weights.New > 0 &&
		(m.Open == nil || m.Open.Kind != KindRollback)
	if err := e.save(ctx, m); err != nil {
		return err
	}
	e.log.InfoContext(ctx, "health summary", "migration", m.ID, "step", c.Step, "verdict", s.Verdict, "reasons", strings.Join(s.Reasons, "; "))
	if err := e.postChange(ctx, m, c); err != nil {
		e.log.ErrorContext(ctx, "could not update the step message", "migration", m.ID, "err", err)
	}
	e.refreshPlan(ctx, m)
	if err := e.healthComment(ctx, m, c.Repo, c.Number, s); err != nil {
		e.log.ErrorContext(ctx, "could not comment the health summary on the PR", "migration", m.ID, "err", err)
	}
	if completes {
		e.tell(ctx, m, completionText(m, s))
	}
	if rollback {
		return e.autoRollback(ctx, m, s)
	}
	return nil
}

// completionText tells the thread the migration is complete, with what
// its last summary found.
func completionText(m *Migration, s *HealthSummary) string {
	svc := m.Key.Service
	if s == nil || s.Verdict == VerdictHealthy {
		return fmt.Sprintf("✅ The migration of %s is complete: all traffic is on the new side and the old source is gone. %s is unfrozen.", svc, svc)
	}
	return fmt.Sprintf("⚠ The migration of %s is complete: the old source is gone, and %s is unfrozen. But its health after the last merge is %s (%s), and there is no old side left to roll back to.",
		svc, svc, s.Verdict, strings.Join(s.Reasons, "; "))
}

// autoRollback opens the rollback PR at once after a failing summary.
func (e *Engine) autoRollback(ctx context.Context, m *Migration, s *HealthSummary) error {
	why := fmt.Sprintf("Opened by migratebot on its own: the health summary after %s was failing (%s), and %s rolls back on failure.", s.Step, strings.Join(s.Reasons, "; "), m.Key.Env)
	if err := e.openRollback(ctx, m, 0, "migratebot", why); err != nil {
		return fmt.Errorf("open the automatic rollback of %s: %w", m.Key.Service, err)
	}
	e.tell(ctx, m, fmt.Sprintf("🚨 *Automatic rollback*: the health of %s is failing (%s), and %s rolls back on failure. <%s|PR #%d> sends all traffic to the old side: merge it now.",
		m.Key.Service, strings.Join(s.Reasons, "; "), m.Key.Env, m.Open.URL, m.Open.Number))
	return nil
}

// measure gathers the figures and checks of both sides over [from, to)
// and judges them against the environment's thresholds.
func (e *Engine) measure(ctx context.Context, svc *config.Service, env *config.Environment, expected Weights, from, to time.Time) *HealthSummary {
	h := env.Health
	s := &HealthSummary{At: e.clock.Now().UTC(), From: from.UTC(), To: to.UTC(), Expected: expected, Applied: true}
	s.Old.Expected, s.New.Expected = expected.Old > 0, expected.New > 0
	var failing, unknown, degraded []string
	oldRef := SideRef{Side: "old", LoadBalancer: svc.Old.LoadBalancer, Classic: svc.Old.Classic, Selector: svc.Old.PrometheusSelector}
	newRef := SideRef{Side: "new", LoadBalancer: svc.New.LoadBalancer, Classic: svc.New.Classic, Selector: svc.New.PrometheusSelector}
	if traffic := e.traffic[svc.Environment]; traffic == nil {
		unknown = append(unknown, "no source of figures ("+h.Source+") is set up")
	} else if oldF, newF, err := traffic.Measure(ctx, oldRef, newRef, from, to); err != nil {
		unknown = append(unknown, fmt.Sprintf("the figures could not be read: %v", err))
	} else {
		s.Old.Figures, s.New.Figures = oldF, newF
	}
	for _, side := range []struct {
		name string
		sh   *SideHealth
		ref  SideRef
		conf config.Side
	}{{"old", &s.Old, oldRef, svc.Old}, {"new", &s.New, newRef, svc.New}} {
		sh := side.sh
		if sh.Requests != nil && *sh.Requests > 0 && sh.Errors != nil {
			rate := *sh.Errors / *sh.Requests
			sh.ErrorRate = &rate
		}
		if side.conf.HealthCheck != "" && e.checks != nil && sh.Expected {
			ok, err := e.checks.Healthy(ctx, side.conf.HealthCheck)
			switch {
			case err != nil:
				unknown = append(unknown, fmt.Sprintf("%s side: Route53 health check %s could not be read (%v)", side.name, side.conf.HealthCheck, err))
			case ok:
				sh.HealthCheck = "healthy"
			default:
				sh.HealthCheck = "unhealthy"
				failing = append(failing, fmt.Sprintf("%s side: Route53 health check %s is unhealthy", side.name, side.conf.HealthCheck))
			}
		}
		if side.conf.HealthURL != "" && e.probe != nil && sh.Expected {
			if err := e.probe.Probe(ctx, side.conf.HealthURL); err != nil {
				sh.Probe = err.Error()
				failing = append(failing, fmt.Sprintf("%s side: %s fails (%v)", side.name, side.conf.HealthURL, err))
			} else {
				sh.Probe = "ok"
			}
		}
		if !sh.Expected {
			continue
		}
		switch {
		case sh.Requests == nil:
			unknown = append(unknown, fmt.Sprintf("%s side: no request figures", side.name))
		case *sh.Requests == 0:
			unknown = append(unknown, fmt.Sprintf("%s side: served no requests in the window", side.name))
		case sh.ErrorRate == nil:
			unknown = append(unknown, fmt.Sprintf("%s side: no 5xx figures", side.name))
		case *sh.ErrorRate > h.MaxErrorRate:
			failing = append(failing, fmt.Sprintf("%s side: %s 5xx (limit %s)", side.name, percent(*sh.ErrorRate), percent(h.MaxErrorRate)))
		}
		maxP95 := float64(time.Duration(h.MaxP95).Milliseconds())
		switch {
		case sh.P95Ms == nil:
			unknown = append(unknown, fmt.Sprintf("%s side: no latency figures", side.name))
		case *sh.P95Ms > maxP95:
			degraded = append(degraded, fmt.Sprintf("%s side: p95 %s ms (limit %s ms)", side.name, thousands(*sh.P95Ms), thousands(maxP95)))
		}
	}
	if o, n := s.Old.Requests, s.New.Requests; o != nil && n != nil && *o+*n > 0 {
		share := 100 * *n / (*o + *n)
		s.NewShare = &share
		if off := math.Abs(share - float64(expected.New)); off > h.SplitTolerance {
			degraded = append(degraded, fmt.Sprintf("the new side served %.1f%% of requests for a weight of %d%% (tolerance %g points): resolvers or clients may be caching", share, expected.New, h.SplitTolerance))
		}
	}
	if e.alarms != nil && (len(svc.Alarms.Names) > 0 || svc.Alarms.Prefix != "") {
		firing, err := e.alarms.Firing(ctx, svc.Alarms.Names, svc.Alarms.Prefix)
		switch {
		case err != nil:
			unknown = append(unknown, fmt.Sprintf("the alarms could not be read (%v)", err))
		case len(firing) > 0:
			s.Alarms = firing
			failing = append(failing, "in ALARM: "+strings.Join(firing, ", "))
		}
	}
	switch {
	case len(failing) > 0:
		s.Verdict = VerdictFailing
	case len(unknown) > 0:
		s.Verdict = VerdictUnknown
	case len(degraded) > 0:
		s.Verdict = VerdictDegraded
	default:
		s.Verdict = VerdictHealthy
	}
	s.Reasons = append(append(append(s.Reasons, failing...), unknown...), degraded...)
	return s
}

// figuresLine is the summary in one line, for tickets.
func (s *HealthSummary) figuresLine() string {
	var parts []string
	for _, side := range []struct {
		name string
		sh   SideHealth
	}{{"old", s.Old}, {"new", s.New}} {
		if !side.sh.Expected && side.sh.Requests == nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %s requests, %s 5xx, p95 %s ms", side.name, optNum(side.sh.Requests), optPercent(side.sh.ErrorRate), optNum(side.sh.P95Ms)))
	}
	if s.NewShare != nil {
		parts = append(parts, fmt.Sprintf("new side's share %.1f%% for a weight of %d%%", *s.NewShare, s.Expected.New))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Figures " + s.From.Format("15:04") + "–" + s.To.Format("15:04 MST") + ": " + strings.Join(parts, "; ") + "."
}

// healthGate refuses a weight step while the last summary is not healthy.
// An admin's --force passes a degraded or unknown verdict, not a failing
// one nor a summary still to come.
func (e *Engine) healthGate(m *Migration, force bool) error {
	svc := m.Key.Service
	why := ""
	if m.LastHealth != nil && len(m.LastHealth.Reasons) > 0 {
		why = " (" + strings.Join(m.LastHealth.Reasons, "; ") + ")"
	}
	switch Verdict(m.Health) {
	case VerdictFailing:
		return refuse("Gate *health*: the last health summary of %s was failing%s. The gate opens when a summary is healthy again (`/migrate health %s` measures now); to send traffic back, `/migrate rollback %s`.", svc, why, svc, svc)
	case VerdictPending:
		return refuse("Gate *health*: the health summary of %s's last change is not in yet; it is posted in the thread %s after the change is live.", svc, "2×TTL plus the measuring window")
	case VerdictUnknown, VerdictDegraded:
		if !force {
			return refuse("Gate *health*: the last health summary of %s was %s%s. `/migrate health %s` measures again; an admin may `/migrate next --force %s` past it.", svc, m.Health, why, svc, svc)
		}
	}
	return nil
}

func percent(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func optPercent(f *float64) string {
	if f == nil {
		return "?"
	}
	return percent(*f)
}

func optNum(f *float64) string {
	if f == nil {
		return "?"
	}
	return thousands(*f)
}

// thousands writes a count with thousands separators: 12,345.
func thousands(f float64) string {
	s := fmt.Sprintf("%.0f", math.Round(f))
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// healthComment puts a summary in the bot's one comment on the PR.
func (e *Engine) healthComment(ctx context.Context, m *Migration, repo string, number int, s *HealthSummary) error {
	if number == 0 {
		return nil
	}
	body, err := e.tmpl.Render("health_comment.md.tmpl", e.healthView(m, s))
	if err != nil {
		return err
	}
	return e.botComment(ctx, repo, number, commentHealth, body)
}

// healthNow measures on demand (`/migrate health`): the last window up to
// now, against the applied weights. The summary goes in the thread (it
// moves the health gate) and, from a PR comment, in the bot's comment.
func (e *Engine) healthNow(ctx context.Context, req CommandRequest, key ServiceKey) error {
	return e.locked(ctx, key, func(m *Migration) error {
		svc, env, _ := e.cfg.Lookup(key.Service)
		if !healthOn(env) {
			return refuse("%s has no health settings (environments.%s.health), so migratebot does not measure %s.", key.Env, key.Env, key.Service)
		}
		now := e.clock.Now().UTC()
		s := e.measure(ctx, svc, env, m.Weights, now.Add(-time.Duration(env.Health.Window)), now)
		s.OnDemand = true
		last := m.lastMerged()
		if last != nil {
			probe := *last
			probe.To = m.Weights
			s.Applied, s.ApplyNote = e.applied(ctx, svc, env, &probe, m.Weights)
			if !s.Applied {
				s.Reasons = append([]string{"not applied yet: " + s.ApplyNote}, s.Reasons...)
				if s.Verdict != VerdictFailing {
					s.Verdict = VerdictUnknown
				}
			}
		}
		m.LastHealth, m.Health = s, string(s.Verdict)
		if last != nil && s.Verdict == VerdictHealthy && last.Ticket != nil && last.Ticket.Want == TicketImplemented {
			e.wantTicket(ctx, m, last, TicketClosed, "Health measured on demand: healthy. "+s.figuresLine())
		}
		if err := e.save(ctx, m); err != nil {
			return err
		}
		text, err := e.tmpl.Render("slack_health.tmpl", e.healthView(m, s))
		if err != nil {
			return err
		}
		text = fmt.Sprintf("Measured on demand by %s:\n%s", who(req.User), text)
		if _, err := e.chat.Post(ctx, m.Thread.Channel, m.Thread.TS, Message{Text: text}); err != nil {
			e.log.ErrorContext(ctx, "could not post the health summary", "migration", m.ID, "err", err)
		}
		e.refreshPlan(ctx, m)
		if req.Source == "github" {
			body, err := e.tmpl.Render("health_comment.md.tmpl", e.healthView(m, s))
			if err != nil {
				return err
			}
			return e.botComment(ctx, req.Repo, req.Number, commentHealth, body)
		}
		return e.remember(ctx, req, key)
	})
}

// lastMerged is the newest merged change, or nil.
func (m *Migration) lastMerged() *Change {
	for i := len(m.History) - 1; i >= 0; i-- {
		if m.History[i].State == ChangeMerged {
			return &m.History[i]
		}
	}
	return nil
}

// healthView is what the health templates show.
func (e *Engine) healthView(m *Migration, s *HealthSummary) map[string]any {
	icon := map[Verdict]string{VerdictHealthy: "✅", VerdictDegraded: "⚠️", VerdictUnknown: "❔", VerdictFailing: "🔥"}[s.Verdict]
	row := func(name string, sh SideHealth) map[string]string {
		return map[string]string{"Name": name, "Requests": optNum(sh.Requests), "ErrorRate": optPercent(sh.ErrorRate), "P95": optNum(sh.P95Ms),
			"Probe": sh.Probe, "HealthCheck": sh.HealthCheck, "Judged": map[bool]string{true: "", false: " (no traffic expected)"}[sh.Expected]}
	}
	share := ""
	var sharePct int64
	if s.NewShare != nil {
		share = fmt.Sprintf("%.1f%%", *s.NewShare)
		sharePct = int64(math.Round(*s.NewShare))
	}
	next := e.nextHint(m)
	return map[string]any{
		"Service": m.Key.Service, "S": s, "Icon": icon, "Old": row("old", s.Old), "New": row("new", s.New),
		"Share": share, "SharePct": sharePct, "Window": s.From.Format("15:04") + "–" + s.To.Format("15:04 MST"),
		"Next": next,
	}
}
