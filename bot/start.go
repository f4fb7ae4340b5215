package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/migratebot/migratebot/bot/trafficfile"
	"github.com/migratebot/migratebot/config"
)

// check is one preflight result.
type check struct {
	ok   bool
	warn bool // shown, but does not stop the migration
	text string
}

func (c check) String() string {
	switch {
	case !c.ok:
		return "✖ " + c.text
	case c.warn:
		return "⚠ " + c.text
	}
	return "✔ " + c.text
}

// preflightResult is what preflight found out.
type preflightResult struct {
	checks        []check
	weights       Weights
	ttl           int
	sourceExists  bool // the weights file (the DNS source) is there already
	trafficExists bool // traffic already points at the new entry
}

func (r preflightResult) failed() bool {
	for _, c := range r.checks {
		if !c.ok {
			return true
		}
	}
	return false
}

// preflight runs the checks that can stop a migration before anything is
// written. Each is reported with its reason.
func (e *Engine) preflight(ctx context.Context, key ServiceKey) (preflightResult, error) {
	svc, env, _ := e.cfg.Lookup(key.Service)
	pb := e.cfg.Playbooks[svc.Playbook]
	p, err := e.planner(key, nil)
	if err != nil {
		return preflightResult{}, err
	}
	var r preflightResult
	add := func(ok bool, format string, args ...any) {
		r.checks = append(r.checks, check{ok: ok, text: fmt.Sprintf(format, args...)})
	}
	warn := func(format string, args ...any) {
		r.checks = append(r.checks, check{ok: true, warn: true, text: fmt.Sprintf(format, args...)})
	}
	add(true, "not already migrating")

	// The weights file: absent before the dns-source step, required after.
	weights, content, exists, err := p.weights(ctx)
	var no *refusal
	switch {
	case errors.As(err, &no):
		add(false, "%s", no.text)
	case err != nil:
		add(false, "%s is not readable: %v", env.EnvConfigRepo, err)
	case exists:
		r.sourceExists, r.weights = true, weights
		r.ttl = fileTTL(svc.Weights.Format, content)
		add(weights.New < 100, "%s:%s has the sources %s and %s at %s", env.EnvConfigRepo, svc.Weights.Path, svc.Weights.OldSource, svc.Weights.NewSource, weights)
		if pb.Has(config.StepDNSSource) {
			warn("the DNS source exists already: the dns-source step is skipped")
		}
	case pb.Has(config.StepDNSSource):
		r.weights = WeightsForNew(0)
		add(true, "%s is readable; %s is not there yet (the dns-source step adds it)", env.EnvConfigRepo, svc.Weights.Path)
	default:
		add(false, "%s has no %s, and playbook %q has no dns-source step to add it", env.EnvConfigRepo, svc.Weights.Path, svc.Playbook)
	}

	// The file that points traffic (proxy or public record).
	if pb.Has(config.StepPointTraffic) {
		repo, path := p.trafficRepo()
		traffic, ok, err := p.file(ctx, repo, path)
		switch {
		case err != nil:
			add(false, "%s is not readable: %v", repo, err)
		case !ok:
			add(false, "%s has no %s (services.%s.%s.path)", repo, path, key.Service, map[bool]string{true: "cname", false: "proxy"}[svc.Mode == "cname"])
		case len(trafficfile.References(traffic, svc.DNS.Entry)) > 0 && len(trafficfile.References(traffic, svc.Old.Target)) == 0:
			r.trafficExists = true
			add(true, "%s:%s points at %s already: the point-traffic step is skipped", repo, path, svc.DNS.Entry)
		default:
			add(true, "%s:%s is readable", repo, path)
		}
	}

	// The new target answers.
	switch {
	case svc.New.HealthURL == "":
		warn("no health URL for the new target (services.%s.new.health_url): not probed", key.Service)
	case e.probe == nil:
		warn("health probes are not configured: %s not probed", svc.New.HealthURL)
	default:
		if err := e.probe.Probe(ctx, svc.New.HealthURL); err != nil {
			add(false, "the new target does not answer %s: %v", svc.New.HealthURL, err)
		} else {
			add(true, "the new target answers %s", svc.New.HealthURL)
		}
	}

	// TTL: at most 60 s, or the first step lowers it.
	if r.ttl == 0 {
		r.ttl = svc.DNS.TTL
	}
	if r.ttl <= 60 {
		add(true, "TTL %ds ≤ 60s", r.ttl)
	} else {
		warn("TTL %ds > 60s: the first step lowers it to 60s", r.ttl)
	}

	// The old load balancer's certificate covers the new name.
	if arn := svc.Old.CertificateARN; arn != "" {
		host := svc.DNS.Entry
		if host == "" {
			host = svc.DNS.Name
		}
		switch {
		case e.certs == nil:
			warn("AWS is not configured: certificate %s not checked", arn)
		default:
			c, err := e.certs.CheckCertificate(ctx, arn, host, e.clock.Now())
			switch {
			case err != nil:
				add(false, "certificate %s cannot be read: %v", arn, err)
			case c.Expired:
				add(false, "certificate %s expired on %s", arn, c.NotAfter.UTC().Format("2006-01-02"))
			case !c.Covers:
				add(false, "certificate %s does not cover %s (it names %s)", arn, host, strings.Join(c.Domains, ", "))
			default:
				add(true, "certificate covers %s (valid until %s)", host, c.NotAfter.UTC().Format("2006-01-02"))
			}
		}
	}
	return r, nil
}

func (e *Engine) start(ctx context.Context, req CommandRequest, key ServiceKey) error {
	unlock, err := e.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	if m, err := e.store.Load(ctx, key); err == nil && m.Thread.TS == "" && m.Status == StatusActive {
		// A start cut off between saving the migration and saving its
		// plan's ts (its replica died, or Slack's answer was lost): finish
		// it, once.
		return e.postPlan(ctx, req, key, m, true)
	} else if err == nil {
		return refuse("%s is already migrating (`%s`, started by <@%s>): its thread is the conversation. `/migrate status %s` shows where it is.", key.Service, m.ID, m.StartedBy, key.Service)
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("load %s: %w", key, err)
	}
	r, err := e.preflight(ctx, key)
	if err != nil {
		return err
	}
	lines := make([]string, len(r.checks))
	for i, c := range r.checks {
		lines[i] = c.String()
	}
	if r.failed() {
		return refuse("Preflight for %s failed; nothing was started or written:\n%s", key.Service, strings.Join(lines, "\n"))
	}
	svc, _, _ := e.cfg.Lookup(key.Service)
	now := e.clock.Now().UTC()
	m := &Migration{
		ID: key.Service + "-" + now.Format("20060102-150405"), Key: key, Status: StatusActive,
		Playbook: svc.Playbook, Steps: BuildSteps(e.cfg.Playbooks[svc.Playbook]),
		Weights: r.weights, TTL: r.ttl, Preflight: lines, StartedBy: req.User, StartedAt: now, UpdatedAt: now,
	}
	for i := range m.Steps {
		s := &m.Steps[i]
		switch {
		case s.Kind == config.StepPreflight:
			s.Status, s.DoneBy, s.DoneAt = StepDone, req.User, now
		case s.Kind == config.StepDNSSource && r.sourceExists, s.Kind == config.StepPointTraffic && r.trafficExists:
			s.Status = StepSkipped
		}
	}
	if r.ttl > 60 {
		at := 0
		if len(m.Steps) > 0 && m.Steps[0].Kind == config.StepPreflight {
			at = 1
		}
		m.Steps = append(m.Steps[:at], append([]Step{{ID: StepTTL, Kind: StepTTL, Status: StepPending}}, m.Steps[at:]...)...)
	}
	if err := e.store.Create(ctx, m); errors.Is(err, ErrExists) {
		return refuse("%s is already migrating: `/migrate status %s` shows where it is.", key.Service, key.Service)
	} else if err != nil {
		return fmt.Errorf("create migration for %s: %w", key, err)
	}
	return e.postPlan(ctx, req, key, m, false)
}

// postPlan posts a new migration's plan, whose thread is its conversation;
// resumed, the plan may have been posted already, and is found instead.
func (e *Engine) postPlan(ctx context.Context, req CommandRequest, key ServiceKey, m *Migration, resumed bool) error {
	plan, err := e.planMessage(m)
	if err != nil {
		return err
	}
	ts, err := e.postOnce(ctx, m, req.Channel, "", plan, resumed)
	if err != nil {
		return fmt.Errorf("post the plan of %s: %w", key, err)
	}
	m.Thread = Thread{Channel: req.Channel, TS: ts}
	if err := e.save(ctx, m); err != nil {
		return err
	}
	if err := e.store.IndexThread(ctx, m.Thread, key); err != nil {
		return fmt.Errorf("index the thread of %s: %w", key, err)
	}
	return e.remember(ctx, req, key)
}
