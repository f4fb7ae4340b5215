package bot

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aymanbagabas/go-udiff"
	"gopkg.in/yaml.v3"

	"github.com/migratebot/migratebot/bot/trafficfile"
	"github.com/migratebot/migratebot/bot/weightfile"
	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/templates"
)

// FileReader reads a file on a repo's base branch; exists is false when
// there is no such file.
type FileReader func(ctx context.Context, repo, path string) (content []byte, exists bool, err error)

// Plan is the change a step would write, computed before anything is
// written: files of one repo, and the words its PR carries.
type Plan struct {
	Repo   string
	Files  map[string][]byte
	Delete []string
	// Before is each touched file's current content (nil: absent).
	Before map[string]*string
	// Title is the PR title's subject; What and Why are Markdown.
	Title, What, Why string
	// To is the weights after the change (unchanged for non-weight steps).
	To Weights
	// Base is Repo's base branch head, when read alongside the plan.
	Base *BaseCommit
}

// Paths lists the files a plan writes or deletes, sorted.
func (p Plan) Paths() []string {
	paths := slices.Collect(maps.Keys(p.Files))
	paths = append(paths, p.Delete...)
	slices.Sort(paths)
	return slices.Compact(paths)
}

// planner computes steps' changes for one service.
type planner struct {
	key  ServiceKey
	svc  *config.Service
	env  *config.Environment
	tmpl *templates.Set
	read FileReader
}

func newPlanner(cfg *config.Config, key ServiceKey, tmpl *templates.Set, read FileReader) (*planner, error) {
	svc, env, ok := cfg.Lookup(key.Service)
	if !ok {
		return nil, fmt.Errorf("%s is not configured", key.Service)
	}
	return &planner{key: key, svc: svc, env: env, tmpl: tmpl, read: read}, nil
}

func (p *planner) file(ctx context.Context, repo, path string) ([]byte, bool, error) {
	b, ok, err := p.read(ctx, repo, path)
	if err != nil {
		return nil, false, fmt.Errorf("read %s from %s: %w", path, repo, err)
	}
	return b, ok, nil
}

func (p *planner) mustFile(ctx context.Context, repo, path string) ([]byte, error) {
	b, ok, err := p.file(ctx, repo, path)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, refuse("%s has no file %s on %s.", repo, path, p.env.BaseBranch)
	}
	return b, nil
}

func ptrString(b []byte, exists bool) *string {
	if !exists {
		return nil
	}
	s := string(b)
	return &s
}

// weights reads the service's weights file: the applied weights, and
// whether the file (the DNS source) exists yet.
func (p *planner) weights(ctx context.Context) (Weights, []byte, bool, error) {
	w := p.svc.Weights
	content, ok, err := p.file(ctx, p.env.EnvConfigRepo, w.Path)
	if err != nil || !ok {
		return WeightsForNew(0), nil, false, err
	}
	sources, err := weightfile.Read(w.Format, content)
	if err != nil {
		return Weights{}, nil, true, refuse("%s in %s cannot be read: %v", w.Path, p.env.EnvConfigRepo, err)
	}
	var out Weights
	found, hasOld := 0, false
	for _, s := range sources {
		switch s.Name {
		case w.OldSource:
			out.Old, found, hasOld = s.Weight, found+1, true
		case w.NewSource:
			out.New, found = s.Weight, found+1
		}
	}
	if found == 1 && !hasOld {
		return Weights{}, nil, true, refuse("%s already runs on the new side alone (%s in %s has no %s source): there is nothing to migrate.", p.key.Service, w.Path, p.env.EnvConfigRepo, w.OldSource)
	}
	if found != 2 {
		return Weights{}, nil, true, refuse("%s in %s must have the sources %q (old) and %q (new).", w.Path, p.env.EnvConfigRepo, w.OldSource, w.NewSource)
	}
	if out.Old+out.New != 100 {
		return Weights{}, nil, true, refuse("%s in %s has weights %s: migratebot needs them to add up to 100.", w.Path, p.env.EnvConfigRepo, out)
	}
	return out, content, true, nil
}

// fileTTL returns the TTL a YAML weights file declares, or 0.
func fileTTL(format string, content []byte) int {
	if format != "yaml" {
		return 0
	}
	var doc struct {
		TTL int `yaml:"ttl"`
	}
	if yaml.Unmarshal(content, &doc) != nil {
		return 0
	}
	return doc.TTL
}

// step computes the change of one step; target is a weights step's (or a
// bump's) new weight for the new side.
func (p *planner) step(ctx context.Context, s Step, target int64) (Plan, error) {
	switch s.Kind {
	case StepTTL:
		return p.ttl(ctx)
	case config.StepDNSSource:
		return p.dnsSource(ctx)
	case config.StepPointTraffic:
		return p.pointTraffic(ctx)
	case config.StepWeights:
		return p.setWeights(ctx, target)
	case config.StepDecommission:
		return p.decommission(ctx)
	}
	return Plan{}, fmt.Errorf("step %s (%s) writes no change", s.ID, s.Kind)
}

func (p *planner) ttl(ctx context.Context) (Plan, error) {
	w := p.svc.Weights
	if w.Format != "yaml" {
		return Plan{}, refuse("%s keeps its TTL in %s (%s): lower it to 60 by hand, then start again.", p.key.Service, w.Path, w.Format)
	}
	content, err := p.mustFile(ctx, p.env.EnvConfigRepo, w.Path)
	if err != nil {
		return Plan{}, err
	}
	old := fileTTL(w.Format, content)
	updated, err := trafficfile.SetYAMLValue(content, "ttl", "60")
	if err != nil {
		return Plan{}, refuse("cannot set the TTL in %s: %v", w.Path, err)
	}
	weights, _, _, err := p.weights(ctx)
	if err != nil {
		return Plan{}, err
	}
	return Plan{
		Repo: p.env.EnvConfigRepo, Files: map[string][]byte{w.Path: updated},
		Before: map[string]*string{w.Path: ptrString(content, true)},
		Title:  fmt.Sprintf("lower the DNS TTL from %ds to 60s", old),
		What:   fmt.Sprintf("Sets `ttl` in `%s` from %d to **60** seconds.", w.Path, old),
		Why:    "Weighted DNS shifts answers, not connections: resolvers keep an answer for its TTL. A TTL of at most 60 s makes every weight step (and a rollback) take effect within minutes.",
		To:     weights,
	}, nil
}

// dnsSourceData is what the DNS source templates are rendered with.
type dnsSourceData struct {
	Service, Env, Entry      string
	TTL                      int
	OldSource, OldTarget     string
	NewSource, NewTarget     string
	OldResource, NewResource string
}

func tfLabel(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func (p *planner) dnsSource(ctx context.Context) (Plan, error) {
	w := p.svc.Weights
	_, _, ok, err := p.weights(ctx)
	if err != nil {
		return Plan{}, err
	}
	if ok {
		return Plan{}, refuse("%s already has %s: the DNS source exists.", p.env.EnvConfigRepo, w.Path)
	}
	data := dnsSourceData{
		Service: p.key.Service, Env: p.key.Env, Entry: p.svc.DNS.Entry, TTL: min(p.svc.DNS.TTL, 60),
		OldSource: w.OldSource, OldTarget: p.svc.Old.Target, NewSource: w.NewSource, NewTarget: p.svc.New.Target,
		OldResource: tfLabel(p.svc.DNS.Entry + "_" + w.OldSource), NewResource: tfLabel(p.svc.DNS.Entry + "_" + w.NewSource),
	}
	name := "dns_source.yaml.tmpl"
	if w.Format == "terraform" {
		name = "dns_source.tf.tmpl"
	}
	text, err := p.tmpl.Render(name, data)
	if err != nil {
		return Plan{}, err
	}
	content := []byte(text + "\n")
	// The rendered file must read back as exactly the two sources at 100/0.
	sources, err := weightfile.Read(w.Format, content)
	if err != nil || len(sources) != 2 {
		return Plan{}, fmt.Errorf("the %s template renders a file that does not read back: %v", name, err)
	}
	return Plan{
		Repo: p.env.EnvConfigRepo, Files: map[string][]byte{w.Path: content},
		Before: map[string]*string{w.Path: nil},
		Title:  "add the weighted DNS source " + p.svc.DNS.Entry,
		What: fmt.Sprintf("Adds `%s`: the new weighted entry `%s` (TTL %ds) with two sources — `%s` → `%s` at **100** (the old load balancer) and `%s` → `%s` at **0** (the new platform).",
			w.Path, p.svc.DNS.Entry, data.TTL, w.OldSource, p.svc.Old.Target, w.NewSource, p.svc.New.Target),
		Why: "Nothing points at this entry yet, and it answers with the old load balancer, so merging it changes no traffic. The next step points traffic at it; then weight steps move traffic to the new side.",
		To:  WeightsForNew(0),
	}, nil
}

func (p *planner) trafficRepo() (repo, path string) {
	if p.svc.Mode == "cname" {
		return p.env.EnvConfigRepo, p.svc.CNAME.Path
	}
	return p.svc.Proxy.Repo, p.svc.Proxy.Path
}

func (p *planner) pointTraffic(ctx context.Context) (Plan, error) {
	repo, path := p.trafficRepo()
	content, err := p.mustFile(ctx, repo, path)
	if err != nil {
		return Plan{}, err
	}
	entry := p.svc.DNS.Entry
	var updated []byte
	var what string
	switch {
	case p.svc.Mode == "cname":
		updated, err = trafficfile.SetCNAME(content, p.svc.CNAME.Resource, entry, min(p.svc.DNS.TTL, 60))
		what = fmt.Sprintf("Turns `%s` (resource `aws_route53_record.%s` in `%s`) into a CNAME of `%s`.", p.svc.DNS.Name, p.svc.CNAME.Resource, path, entry)
	case p.svc.Proxy.Format == "nginx":
		updated, err = trafficfile.SetNginxUpstream(content, p.svc.Proxy.Key, p.svc.Old.Target, entry)
		what = fmt.Sprintf("Points the nginx upstream `%s` in `%s` at `%s` instead of `%s`.", p.svc.Proxy.Key, path, entry, p.svc.Old.Target)
	case p.svc.Proxy.Format == "properties":
		updated, err = trafficfile.SetProperty(content, p.svc.Proxy.Key, entry)
		what = fmt.Sprintf("Sets the property `%s` in `%s` to `%s`.", p.svc.Proxy.Key, path, entry)
	case p.svc.Proxy.Format == "yaml":
		updated, err = trafficfile.SetYAMLValue(content, p.svc.Proxy.Key, entry)
		what = fmt.Sprintf("Sets `%s` in `%s` to `%s`.", p.svc.Proxy.Key, path, entry)
	case p.svc.Proxy.Format == "fastly":
		updated, err = trafficfile.SetFastlyBackendAddress(content, p.svc.Proxy.Key, entry)
		what = fmt.Sprintf("Sets the address of the Fastly backend `%s` in `%s` to `%s`.", p.svc.Proxy.Key, path, entry)
	default:
		return Plan{}, fmt.Errorf("proxy format %q", p.svc.Proxy.Format)
	}
	if err != nil {
		return Plan{}, refuse("cannot point traffic at %s in %s: %v", entry, path, err)
	}
	weights, _, _, err := p.weights(ctx)
	if err != nil {
		return Plan{}, err
	}
	return Plan{
		Repo: repo, Files: map[string][]byte{path: updated}, Before: map[string]*string{path: ptrString(content, true)},
		Title: "point traffic at " + entry, What: what,
		Why: fmt.Sprintf("The entry `%s` still answers with the old load balancer (weights %s), so this moves no traffic yet; it hands the split to the DNS weights.", entry, weights),
		To:  weights,
	}, nil
}

func (p *planner) setWeights(ctx context.Context, target int64) (Plan, error) {
	w := p.svc.Weights
	from, content, ok, err := p.weights(ctx)
	if err != nil {
		return Plan{}, err
	}
	if !ok {
		return Plan{}, refuse("%s has no %s yet: the DNS source step comes first.", p.env.EnvConfigRepo, w.Path)
	}
	to := WeightsForNew(target)
	updated, err := weightfile.Set(w.Format, content, map[string]int64{w.OldSource: to.Old, w.NewSource: to.New})
	if err != nil {
		return Plan{}, refuse("cannot set the weights in %s: %v", w.Path, err)
	}
	return Plan{
		Repo: p.env.EnvConfigRepo, Files: map[string][]byte{w.Path: updated}, Before: map[string]*string{w.Path: ptrString(content, true)},
		Title: fmt.Sprintf("weights %s → %s", from, to),
		What: fmt.Sprintf("Changes only the DNS weights of **%s** in `%s`:\n\n| source | side | weight now | weight after merge |\n|---|---|---:|---:|\n| `%s` | old | %d | **%d** |\n| `%s` | new | %d | **%d** |",
			p.key.Service, w.Path, w.OldSource, from.Old, to.Old, w.NewSource, from.New, to.New),
		To: to,
	}, nil
}

func (p *planner) decommission(ctx context.Context) (Plan, error) {
	w := p.svc.Weights
	from, content, ok, err := p.weights(ctx)
	if err != nil {
		return Plan{}, err
	}
	if !ok {
		return Plan{}, refuse("%s has no %s: nothing to decommission.", p.env.EnvConfigRepo, w.Path)
	}
	if from.Old != 0 {
		return Plan{}, refuse("%s still sends %d%% to the old side: decommission comes after new 100.", p.key.Service, from.Old)
	}
	// Nothing may still route to the old side when its record goes.
	if p.svc.Mode == "cname" || p.svc.Proxy != nil {
		repo, path := p.trafficRepo()
		traffic, exists, err := p.file(ctx, repo, path)
		if err != nil {
			return Plan{}, err
		}
		if exists {
			if lines := trafficfile.References(traffic, p.svc.Old.Target); len(lines) > 0 {
				return Plan{}, refuse("%s:%s still points at the old side (%s) on line %s: point it at %s first.", repo, path, p.svc.Old.Target, joinInts(lines), p.svc.DNS.Entry)
			}
		}
	}
	updated, err := weightfile.Remove(w.Format, content, w.OldSource)
	if err != nil {
		return Plan{}, refuse("cannot remove the old source from %s: %v", w.Path, err)
	}
	return Plan{
		Repo: p.env.EnvConfigRepo, Files: map[string][]byte{w.Path: updated}, Before: map[string]*string{w.Path: ptrString(content, true)},
		Title: "decommission the old side " + p.svc.Old.Target,
		What:  fmt.Sprintf("Removes the source `%s` (`%s`, weight 0) from `%s`, leaving `%s` alone at 100.", w.OldSource, p.svc.Old.Target, w.Path, w.NewSource),
		Why:   "All traffic has been on the new side for the whole decommission soak, and nothing points at the old load balancer any more. A zero-weight record still takes traffic when every other record is unhealthy, so it must go before the old load balancer does.",
		To:    from,
	}, nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

// revertPlan puts files back as Before says, for abort.
func revertPlan(repo string, before map[string]*string) Plan {
	p := Plan{Repo: repo, Files: map[string][]byte{}, Before: before}
	for _, path := range slices.Sorted(maps.Keys(before)) {
		if c := before[path]; c != nil {
			p.Files[path] = []byte(*c)
		} else {
			p.Delete = append(p.Delete, path)
		}
	}
	return p
}

// Diff renders the plan as unified diffs, one per file, in path order.
func (p Plan) Diff() string {
	var b strings.Builder
	for _, path := range slices.Sorted(maps.Keys(p.Before)) {
		before, after := "", ""
		if p.Before[path] != nil {
			before = *p.Before[path]
		}
		if c, ok := p.Files[path]; ok {
			after = string(c)
		}
		b.WriteString(udiff.Unified("a/"+path, "b/"+path, before, after))
	}
	return b.String()
}

// PlanStep computes the change one step would make, with no repo host: for
// `migratebot plan` on a local checkout. step is dns-source, point-traffic,
// ttl, decommission, bump:N or rollback:N.
func PlanStep(ctx context.Context, cfg *config.Config, tmpl *templates.Set, service, step string, read FileReader) (Plan, error) {
	svc, _, ok := cfg.Lookup(service)
	if !ok {
		return Plan{}, fmt.Errorf("%q is not a configured service (configured: %s)", service, strings.Join(cfg.ServiceNames(), ", "))
	}
	p, err := newPlanner(cfg, ServiceKey{Env: svc.Environment, Service: service}, tmpl, read)
	if err != nil {
		return Plan{}, err
	}
	kind, arg, hasArg := strings.Cut(step, ":")
	switch kind {
	case config.StepDNSSource, config.StepPointTraffic, StepTTL, config.StepDecommission:
		if hasArg {
			return Plan{}, fmt.Errorf("step %s takes no :value", kind)
		}
		return p.step(ctx, Step{ID: kind, Kind: kind}, 0)
	case "bump", "rollback":
		n, err := parseWeight(arg)
		if !hasArg || err != nil {
			return Plan{}, fmt.Errorf("step %s needs a weight from 0 to 100, like %s:25", kind, kind)
		}
		return p.setWeights(ctx, n)
	}
	return Plan{}, fmt.Errorf("%q is not a step: dns-source, point-traffic, ttl, decommission, bump:N or rollback:N", step)
}
