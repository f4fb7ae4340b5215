package sandbox

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/migratebot/migratebot/bot/weightfile"
	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/test/awsemu"
)

// The sandbox's AWS world for health summaries. A pipeline outside the bot
// applies what merges: after every script line, each service's weights
// file on the env-config repo's main branch is written to Route53 (unless
// a script holds the service's DNS with `metrics <service> dns=stuck`).
// CloudWatch reports, per side, what the metrics lines last set, and by
// default a healthy service whose requests split as DNS weighs.

// requestsPerWindow is how many requests a service serves in a window,
// split between the sides by their weights unless a script sets them.
const requestsPerWindow = 12000

// sideMetrics are what a script set for one side; nil keeps the default.
type sideMetrics struct {
	requests, errorRate, p95Ms *float64
}

// serviceWorld is a service's AWS state as the script shaped it.
type serviceWorld struct {
	old, new sideMetrics
	// stuck holds Route53 at what it serves: the pipeline is not applying.
	stuck bool
}

func (s *Sandbox) world(service string) *serviceWorld {
	w := s.services[service]
	if w == nil {
		w = &serviceWorld{}
		s.services[service] = w
	}
	return w
}

// applyDNS writes what the env-config repo says to Route53 and refreshes
// CloudWatch's figures. It runs after every settle round.
func (s *Sandbox) applyDNS() {
	for _, name := range slices.Sorted(maps.Keys(s.cfg.Services)) {
		svc := s.cfg.Services[name]
		env := s.cfg.Environments[svc.Environment]
		if env.Health == nil {
			continue
		}
		w := s.world(name)
		weights, targets := map[string]int64{}, map[string]string{}
		if content, ok := s.gh.File(env.EnvConfigRepo, env.BaseBranch, svc.Weights.Path); ok {
			if sources, err := weightfile.Read(svc.Weights.Format, []byte(content)); err == nil {
				for _, src := range sources {
					weights[src.Name], targets[src.Name] = src.Weight, src.Target
					if src.Target == "" { // a Terraform reference, not a name
						targets[src.Name] = src.Name + ".target.invalid"
					}
				}
			}
		}
		if !w.stuck {
			s.aws.SetWeightedRecords(env.Health.Route53ZoneID, svc.DNS.Entry, "CNAME", int64(svc.DNS.TTL), weights, targets)
		}
		total := weights[svc.Weights.OldSource] + weights[svc.Weights.NewSource]
		for _, side := range []struct {
			conf   config.Side
			m      sideMetrics
			weight int64
			p95    float64
		}{{svc.Old, w.old, weights[svc.Weights.OldSource], 210}, {svc.New, w.new, weights[svc.Weights.NewSource], 180}} {
			if side.conf.LoadBalancer == "" {
				continue
			}
			requests := 0.0
			if total > 0 {
				requests = requestsPerWindow * float64(side.weight) / float64(total)
			}
			if side.m.requests != nil {
				requests = *side.m.requests
			}
			rate, p95 := 0.002, side.p95
			if side.m.errorRate != nil {
				rate = *side.m.errorRate
			}
			if side.m.p95Ms != nil {
				p95 = *side.m.p95Ms
			}
			errs := requests * rate
			s.aws.SetLoadBalancerMetrics(side.conf.LoadBalancer, side.conf.Classic, awsemu.LoadBalancerMetrics{Requests: &requests, Errors5xx: &errs, P95Ms: &p95})
		}
	}
}

// metricsLine runs `metrics <service> <old|new>.<name>=<value> ...`, with
// names requests, error_rate (a share, 0.08, or 8%) and p95_ms; and
// dns=stuck|live, alarm.<name>=ALARM|OK.
func (s *Sandbox) metricsLine(words []string) error {
	const usage = "metrics <service> <old|new>.<requests|error_rate|p95_ms>=<value> ... | dns=stuck|live | alarm.<name>=ALARM|OK"
	if len(words) < 2 {
		return badLine("usage: %s", usage)
	}
	name := words[0]
	svc, ok := s.cfg.Services[name]
	if !ok {
		return badLine("%q is not a sandbox service (%s)", name, strings.Join(slices.Sorted(maps.Keys(s.cfg.Services)), ", "))
	}
	if s.cfg.Environments[svc.Environment].Health == nil {
		return badLine("metrics: %s's environment has no health settings", name)
	}
	// Check every word before changing anything: a bad line changes nothing.
	type set func(w *serviceWorld)
	var sets []set
	for _, word := range words[1:] {
		key, value, ok := strings.Cut(word, "=")
		if !ok {
			return badLine("%q is not name=value; usage: %s", word, usage)
		}
		switch {
		case key == "dns":
			if value != "stuck" && value != "live" {
				return badLine("dns=%s: say dns=stuck or dns=live", value)
			}
			stuck := value == "stuck"
			sets = append(sets, func(w *serviceWorld) { w.stuck = stuck })
			continue
		case strings.HasPrefix(key, "alarm."):
			alarm := strings.TrimPrefix(key, "alarm.")
			if alarm == "" || value != "ALARM" && value != "OK" {
				return badLine("%s: say alarm.<name>=ALARM or alarm.<name>=OK", word)
			}
			sets = append(sets, func(*serviceWorld) { s.aws.SetAlarm(alarm, value) })
			continue
		}
		side, metric, ok := strings.Cut(key, ".")
		if !ok || side != "old" && side != "new" {
			return badLine("%q: name a side, old.<name> or new.<name>; usage: %s", key, usage)
		}
		pct := strings.HasSuffix(value, "%")
		v, err := strconv.ParseFloat(strings.TrimSuffix(value, "%"), 64)
		if err != nil || v < 0 {
			return badLine("%q is not a number ≥ 0", value)
		}
		if pct {
			v /= 100
		}
		switch metric {
		case "requests", "p95_ms":
			if pct {
				return badLine("%s is a count, not a percentage", key)
			}
		case "error_rate":
			if v > 1 {
				return badLine("error_rate %s is above 1: give a share (0.08) or a percentage (8%%)", value)
			}
		default:
			return badLine("%q is not a metric: requests, error_rate or p95_ms", metric)
		}
		sets = append(sets, func(w *serviceWorld) {
			m := &w.old
			if side == "new" {
				m = &w.new
			}
			switch metric {
			case "requests":
				m.requests = &v
			case "error_rate":
				m.errorRate = &v
			case "p95_ms":
				m.p95Ms = &v
			}
		})
	}
	w := s.world(name)
	for _, f := range sets {
		f(w)
	}
	s.applyDNS()
	return nil
}

// seedAWS creates the hosted zones the services' entries live in, and
// their health checks, healthy.
func (s *Sandbox) seedAWS(cfg *config.Config) error {
	for name, env := range cfg.Environments {
		if env.Health == nil {
			continue
		}
		if env.Health.Route53ZoneID == "" {
			return fmt.Errorf("the sandbox's %s health settings name no Route53 zone", name)
		}
		s.aws.AddHostedZone(env.Health.Route53ZoneID, name+".acme.example.")
	}
	for _, svc := range cfg.Services {
		for _, side := range []config.Side{svc.Old, svc.New} {
			if side.HealthCheck != "" {
				s.aws.SetHealthCheck(side.HealthCheck, true)
			}
		}
	}
	return nil
}
