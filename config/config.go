// Package config is migratebot's configuration: its schema, strict loading,
// defaults, and validation that reports every problem at once. Secrets are
// never in the file: see Secrets.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration file.
type Config struct {
	// Listen is the HTTP address of `serve`, e.g. ":8080".
	Listen string `yaml:"listen"`
	// Workers is how many jobs one replica runs at once.
	Workers int `yaml:"workers"`
	// MaxInFlight bounds the Slack and GitHub requests one replica serves
	// at once; beyond it a request waits a second, then is answered 503.
	MaxInFlight int         `yaml:"max_in_flight"`
	Redis       RedisConfig `yaml:"redis"`
	GitHub      GitHub      `yaml:"github"`
	Slack       Slack       `yaml:"slack"`
	AWS         AWS         `yaml:"aws"`
	// Playbooks by name; "default" always exists.
	Playbooks    map[string]Playbook     `yaml:"playbooks"`
	Environments map[string]*Environment `yaml:"environments"`
	Services     map[string]*Service     `yaml:"services"`
}

// RedisConfig says where Redis is: one server by URL (REDIS_URL in the
// environment wins over it), or Sentinel (MasterName and the sentinels'
// Addrs), or a Cluster (Cluster and some nodes' Addrs). A password, if
// needed, comes from MIGRATEBOT_REDIS_PASSWORD or the URL.
type RedisConfig struct {
	URL        string   `yaml:"url"`
	MasterName string   `yaml:"master_name"`
	Addrs      []string `yaml:"addrs"`
	Cluster    bool     `yaml:"cluster"`
	TLS        bool     `yaml:"tls"`
	// ClaimAfter is how long a job read by a replica that died may wait
	// before another replica runs it; default 5m, at least 10s.
	ClaimAfter Duration `yaml:"claim_after"`
}

// GitHub is the GitHub App's public settings. Its private key and webhook
// secret come from the environment (see Secrets).
type GitHub struct {
	AppID int64 `yaml:"app_id"`
	// APIURL is https://api.github.com/ or a GitHub Enterprise Server's
	// https://HOST/api/v3/.
	APIURL string `yaml:"api_url"`
	// Timeout bounds each call to GitHub.
	Timeout Duration `yaml:"timeout"`
}

// Slack is the Slack app's public settings. Its tokens and signing secret
// come from the environment (see Secrets).
type Slack struct {
	// APIURL is Slack's Web API base; empty means https://slack.com/api/.
	APIURL  string   `yaml:"api_url"`
	Timeout Duration `yaml:"timeout"`
	// Mode is how Slack reaches the bot with slash commands and button
	// presses: SlackModeHTTP (the default) at the bot's request URLs,
	// signed with the signing secret; or SlackModeSocket over a websocket
	// the bot opens with an app-level token, for a bot without a public URL.
	Mode string `yaml:"mode"`
}

// The Slack modes.
const (
	SlackModeHTTP   = "http"
	SlackModeSocket = "socket"
)

// AWS says how to reach AWS. Credentials come from the default chain
// (environment, shared config, IRSA, instance role), never from this file.
type AWS struct {
	Region string `yaml:"region"`
	// Endpoint, when set, sends every AWS call there (a VPC endpoint, or an
	// emulator).
	Endpoint string   `yaml:"endpoint"`
	Timeout  Duration `yaml:"timeout"`
}

// Environment is where the new platform lives.
type Environment struct {
	// EnvConfigRepo is "owner/name" of the repo holding the DNS weights files.
	EnvConfigRepo string `yaml:"env_config_repo"`
	// BaseBranch of EnvConfigRepo; default "main".
	BaseBranch string `yaml:"base_branch"`
	// ProxyRepo is "owner/name" of the proxy config repo (proxy mode).
	ProxyRepo string `yaml:"proxy_repo"`
	// Tickets says where change tickets go.
	Tickets Tickets `yaml:"tickets"`
	// Soak is the wait after a merge before the next weight step.
	Soak Duration `yaml:"soak"`
	// StepLimit is the largest weight change one step may make, in points.
	StepLimit    int64 `yaml:"step_limit"`
	AutoRollback bool  `yaml:"auto_rollback"`
	// AutoMerge lets the bot merge its PR once an approver approved it and
	// its checks are green. Off by default.
	AutoMerge bool `yaml:"auto_merge"`
	// Health turns on health summaries after every merge.
	Health *Health `yaml:"health"`
	// ChangeWindows are when weight steps may start; none means any time.
	ChangeWindows []ChangeWindow `yaml:"change_windows"`
	// Timezone of the change windows (IANA name); default UTC.
	Timezone string `yaml:"timezone"`
	// Freezes are periods when no weight step may start.
	Freezes []Freeze `yaml:"freezes"`
	// People lists who may do what, by Slack user id and GitHub login.
	People People `yaml:"people"`
}

// Tickets says which change-control system an environment uses.
type Tickets struct {
	// System is "github" (issues in Repo, by default the env-config repo;
	// the default system), "jira", "servicenow", or "none".
	System     string      `yaml:"system"`
	Repo       string      `yaml:"repo"`
	Jira       *Jira       `yaml:"jira"`
	ServiceNow *ServiceNow `yaml:"servicenow"`
}

// Jira is a Jira project for change tickets. Its API token comes from
// MIGRATEBOT_JIRA_TOKEN (and MIGRATEBOT_JIRA_EMAIL for Jira Cloud).
type Jira struct {
	URL       string         `yaml:"url"`
	Project   string         `yaml:"project"`
	IssueType string         `yaml:"issue_type"`
	Fields    map[string]any `yaml:"fields"`
	// Transitions names the workflow transition reaching each state:
	// approved, implemented, closed, cancelled. A state without one is only
	// commented on.
	Transitions map[string]string `yaml:"transitions"`
	// Statuses optionally names the status each transition leads to, so an
	// issue already there is recognised.
	Statuses map[string]string `yaml:"statuses"`
}

// ServiceNow is a ServiceNow instance for change requests. Its integration
// user comes from MIGRATEBOT_SERVICENOW_USERNAME and _PASSWORD.
type ServiceNow struct {
	URL             string            `yaml:"url"`
	AssignmentGroup string            `yaml:"assignment_group"`
	Fields          map[string]string `yaml:"fields"`
	// States maps a ticket state (open, approved, implemented, closed,
	// cancelled) to the change_request state value, where the instance's
	// differ from ServiceNow's defaults.
	States map[string]string `yaml:"states"`
}

// People are an environment's roles. Slack users are named by their user id
// (U…): ids never change, display names do.
type People struct {
	// Engineers may run every command.
	Engineers []string `yaml:"engineers"`
	// Approvers review changes; they may read status but not change weights.
	Approvers []string `yaml:"approvers"`
	// Admins may do everything engineers may, and force what gates refuse.
	Admins []string `yaml:"admins"`
	// GitHubApprovers are GitHub logins requested as reviewers on every PR,
	// whose approvals count.
	GitHubApprovers []string `yaml:"github_approvers"`
	// GitHubTeams are teams requested as reviewers on every PR, whose
	// members' approvals count: a slug of the org that owns the repo, or
	// org/slug.
	GitHubTeams []string `yaml:"github_teams"`
	// SlackApproverGroup is a Slack user group (its id, S…) whose members
	// may approve changes in Slack, like Approvers.
	SlackApproverGroup string `yaml:"slack_approver_group"`
}

// Role is what a Slack user may do in an environment.
type Role int

// Roles, weakest first.
const (
	RoleNone Role = iota
	RoleApprover
	RoleEngineer
	RoleAdmin
)

func (r Role) String() string {
	return [...]string{"none", "approver", "engineer", "admin"}[r]
}

// RoleOf returns the strongest role the Slack user has in the environment.
func (e *Environment) RoleOf(slackUser string) Role {
	switch {
	case slices.Contains(e.People.Admins, slackUser):
		return RoleAdmin
	case slices.Contains(e.People.Engineers, slackUser):
		return RoleEngineer
	case slices.Contains(e.People.Approvers, slackUser):
		return RoleApprover
	}
	return RoleNone
}

// Service is one application being moved, in one environment.
type Service struct {
	Environment string `yaml:"environment"`
	Playbook    string `yaml:"playbook"`
	// Mode is how traffic reaches the new DNS entry: "proxy" or "cname".
	Mode    string      `yaml:"mode"`
	DNS     DNS         `yaml:"dns"`
	Old     Side        `yaml:"old"`
	New     Side        `yaml:"new"`
	Weights WeightsFile `yaml:"weights"`
	// Proxy is the file pointing traffic at the service (proxy mode).
	Proxy *ProxyFile `yaml:"proxy"`
	// CNAME is the public record to turn into a CNAME (cname mode).
	CNAME *CNAMEFile `yaml:"cname"`
	// Alarms fail the service's health while in ALARM.
	Alarms Alarms `yaml:"alarms"`
}

// DNS names the service's public name and its new weighted entry.
type DNS struct {
	// Name is the public name clients use: web-api.kprod.acme.example.
	Name string `yaml:"name"`
	// Entry is the new weighted record the proxy or CNAME will point at:
	// web-api-cutover.kprod.acme.example.
	Entry string `yaml:"entry"`
	// TTL of the records, in seconds; at most 60 before the first bump.
	TTL int `yaml:"ttl"`
}

// Side is the old or the new platform of a service.
type Side struct {
	// Target is the host the side's DNS source points at.
	Target string `yaml:"target"`
	// HealthURL is probed in preflight (new side).
	HealthURL string `yaml:"health_url"`
	// CertificateARN is the ACM certificate on the side's load balancer;
	// preflight checks it covers the new DNS entry (old side).
	CertificateARN string `yaml:"certificate_arn"`
	// LoadBalancer is where health summaries read the side's requests,
	// 5xx and p95 in CloudWatch: "app/name/id" for an application load
	// balancer, or a classic load balancer's name with Classic.
	LoadBalancer string `yaml:"load_balancer"`
	Classic      bool   `yaml:"classic"`
	// HealthCheck is the side's Route53 health check id, if it has one.
	HealthCheck string `yaml:"route53_health_check"`
	// PrometheusSelector selects the side's series where the environment
	// measures with Prometheus: service="web-api",platform="k8s".
	PrometheusSelector string `yaml:"prometheus_selector"`
}

// Alarms are a service's CloudWatch alarms: any in ALARM fails its health.
type Alarms struct {
	Names  []string `yaml:"names"`
	Prefix string   `yaml:"prefix"`
}

// Health is how an environment judges a service after each merge. Without
// it, no health summary is made and no step waits for one.
type Health struct {
	// Window is how long the figures are measured over; default 10m.
	Window Duration `yaml:"window"`
	// ApplyTimeout is how long a merged change may take to show in DNS
	// before the summary says "not applied yet"; default 10m.
	ApplyTimeout Duration `yaml:"apply_timeout"`
	// Route53ZoneID is the hosted zone of the services' weighted entries:
	// a change is applied once Route53 serves the merged weights.
	Route53ZoneID string `yaml:"route53_zone_id"`
	// ApplyCheckURL, for records not in Route53, is a text/template URL
	// ({{.Service}}, {{.Entry}}, {{.Old}}, {{.New}}) that answers 2xx once
	// the change is live.
	ApplyCheckURL string `yaml:"apply_check_url"`
	// Source of the figures: "cloudwatch" (the default) or "prometheus".
	Source     string      `yaml:"source"`
	Prometheus *Prometheus `yaml:"prometheus"`
	// MaxErrorRate is the largest share of 5xx a healthy side serves
	// (default 0.05); above it the service is failing.
	MaxErrorRate float64 `yaml:"max_error_rate"`
	// MaxP95 is the slowest healthy p95 (default 1s); above it, degraded.
	MaxP95 Duration `yaml:"max_p95"`
	// SplitTolerance is how many points the new side's observed share of
	// requests may be off its weight before it is flagged (default 10).
	SplitTolerance float64 `yaml:"split_tolerance"`
}

// Prometheus measures the sides where CloudWatch does not: PromQL
// templates with {{.Selector}} (the side's prometheus_selector) and
// {{.Window}}. A bearer token, if needed, comes from
// MIGRATEBOT_PROMETHEUS_TOKEN.
type Prometheus struct {
	URL        string `yaml:"url"`
	Requests   string `yaml:"requests"`
	Errors     string `yaml:"errors"`
	P95Seconds string `yaml:"p95_seconds"`
}

// ProxyFile is the proxy configuration pointing traffic at the service.
type ProxyFile struct {
	// Repo defaults to the environment's proxy_repo.
	Repo string `yaml:"repo"`
	Path string `yaml:"path"`
	// Format is nginx, properties, yaml or fastly.
	Format string `yaml:"format"`
	// Key is what to edit: the nginx upstream name, the property key, the
	// YAML path (a.b.c) or the Fastly backend name.
	Key string `yaml:"key"`
}

// CNAMEFile is the Terraform file holding the service's public record.
type CNAMEFile struct {
	Path string `yaml:"path"`
	// Resource is the aws_route53_record's label.
	Resource string `yaml:"resource"`
}

// WeightsFile says where and how a service's weights are written.
type WeightsFile struct {
	// Path in the environment's env-config repo.
	Path string `yaml:"path"`
	// Format is "yaml" (a sources list) or "terraform" (aws_route53_record
	// weighted records).
	Format string `yaml:"format"`
	// OldSource and NewSource name the two weighted sources in the file.
	OldSource string `yaml:"old_source"`
	NewSource string `yaml:"new_source"`
}

// Duration is a time.Duration written as "30m" in YAML.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (like 30m or 2h)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Load reads, decodes strictly, applies defaults and validates a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes a config strictly (unknown keys are errors), applies the
// defaults and validates it.
func Parse(data []byte) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the config is empty")
		}
		return nil, err
	}
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// DefaultMaxInFlight bounds the requests in flight: at ~100 KB per webhook
// being read, some 25 MiB.
const DefaultMaxInFlight = 256

// DefaultWeights are the default playbook's weight targets.
var DefaultWeights = []int64{10, 25, 50, 75, 100}

func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = ":8080"
	}
	if c.Workers == 0 {
		c.Workers = 4
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.GitHub.APIURL == "" {
		c.GitHub.APIURL = "https://api.github.com/"
	}
	if c.GitHub.Timeout == 0 {
		c.GitHub.Timeout = Duration(15 * time.Second)
	}
	if c.Slack.Timeout == 0 {
		c.Slack.Timeout = Duration(10 * time.Second)
	}
	if c.Slack.Mode == "" {
		c.Slack.Mode = SlackModeHTTP
	}
	if c.AWS.Timeout == 0 {
		c.AWS.Timeout = Duration(10 * time.Second)
	}
	if c.Playbooks == nil {
		c.Playbooks = map[string]Playbook{}
	}
	if _, ok := c.Playbooks["default"]; !ok {
		c.Playbooks["default"] = DefaultPlaybook()
	}
	for _, e := range c.Environments {
		if e == nil {
			continue
		}
		if e.BaseBranch == "" {
			e.BaseBranch = "main"
		}
		if e.Soak == 0 {
			e.Soak = Duration(30 * time.Minute)
		}
		if e.StepLimit == 0 {
			e.StepLimit = 25
		}
		if e.Tickets.System == "" {
			e.Tickets.System = "github"
		}
		if e.Tickets.System == "github" && e.Tickets.Repo == "" {
			e.Tickets.Repo = e.EnvConfigRepo
		}
		if e.Timezone == "" {
			e.Timezone = "UTC"
		}
		if h := e.Health; h != nil {
			if h.Window == 0 {
				h.Window = Duration(10 * time.Minute)
			}
			if h.ApplyTimeout == 0 {
				h.ApplyTimeout = Duration(10 * time.Minute)
			}
			if h.Source == "" {
				h.Source = "cloudwatch"
			}
			if h.MaxErrorRate == 0 {
				h.MaxErrorRate = 0.05
			}
			if h.MaxP95 == 0 {
				h.MaxP95 = Duration(time.Second)
			}
			if h.SplitTolerance == 0 {
				h.SplitTolerance = 10
			}
		}
	}
	for _, s := range c.Services {
		if s == nil {
			continue
		}
		if s.Playbook == "" {
			s.Playbook = "default"
		}
		if s.Weights.Format == "" {
			s.Weights.Format = "yaml"
		}
		if s.DNS.TTL == 0 {
			s.DNS.TTL = 60
		}
	}
}

var (
	repoName     = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	slackUserID  = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	slackGroupID = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
	githubLogin  = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	githubTeam   = regexp.MustCompile(`^(?:[A-Za-z0-9][A-Za-z0-9-]{0,38}/)?[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	serviceName  = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)
	hostName     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`)
)

// Validate returns every problem in the config at once, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	r := c.Redis
	switch {
	case r.MasterName != "" && r.Cluster:
		bad("redis", "master_name (Sentinel) and cluster cannot both be set")
	case (r.MasterName != "" || r.Cluster) && len(r.Addrs) == 0:
		bad("redis.addrs", "Sentinel and Cluster need the addresses of some sentinels or nodes")
	case len(r.Addrs) > 0 && r.MasterName == "" && !r.Cluster:
		bad("redis.addrs", "set master_name (Sentinel) or cluster: true, or use url for one server")
	}
	if r.ClaimAfter != 0 && r.ClaimAfter < Duration(10*time.Second) {
		bad("redis.claim_after", "%s is shorter than 10s: jobs still running would be taken over", time.Duration(r.ClaimAfter))
	}
	if c.MaxInFlight < 1 || c.MaxInFlight > 100000 {
		bad("max_in_flight", "must be between 1 and 100000, not %d", c.MaxInFlight)
	}
	if c.Workers < 1 || c.Workers > 256 {
		bad("workers", "must be between 1 and 256, not %d", c.Workers)
	}
	if c.GitHub.AppID <= 0 {
		bad("github.app_id", "is required (the GitHub App's numeric id)")
	}
	if !strings.HasPrefix(c.GitHub.APIURL, "http://") && !strings.HasPrefix(c.GitHub.APIURL, "https://") {
		bad("github.api_url", "%q is not an http(s) URL", c.GitHub.APIURL)
	}
	if c.Slack.APIURL != "" && !strings.HasSuffix(c.Slack.APIURL, "/") {
		bad("slack.api_url", "%q must end with /", c.Slack.APIURL)
	}
	if c.Slack.Mode != SlackModeHTTP && c.Slack.Mode != SlackModeSocket {
		bad("slack.mode", "%q is not %s or %s", c.Slack.Mode, SlackModeHTTP, SlackModeSocket)
	}
	for _, name := range sortedKeys(c.Playbooks) {
		c.Playbooks[name].validate("playbooks."+name, bad)
	}
	if len(c.Environments) == 0 {
		bad("environments", "at least one environment is required")
	}
	for _, name := range sortedKeys(c.Environments) {
		e := c.Environments[name]
		f := "environments." + name
		if e == nil {
			bad(f, "is empty")
			continue
		}
		if !repoName.MatchString(e.EnvConfigRepo) {
			bad(f+".env_config_repo", "%q is not owner/name", e.EnvConfigRepo)
		}
		if e.ProxyRepo != "" && !repoName.MatchString(e.ProxyRepo) {
			bad(f+".proxy_repo", "%q is not owner/name", e.ProxyRepo)
		}
		switch e.Tickets.System {
		case "none":
		case "github":
			if e.Tickets.Repo != "" && !repoName.MatchString(e.Tickets.Repo) {
				bad(f+".tickets.repo", "%q is not owner/name", e.Tickets.Repo)
			}
		case "jira":
			j := e.Tickets.Jira
			if j == nil || !strings.HasPrefix(j.URL, "http") || j.Project == "" || j.IssueType == "" {
				bad(f+".tickets.jira", "needs url, project and issue_type")
			}
			if j != nil {
				for field, m := range map[string]map[string]string{"transitions": j.Transitions, "statuses": j.Statuses} {
					for state, name := range m {
						switch {
						case !slices.Contains([]string{"approved", "implemented", "closed", "cancelled"}, state):
							bad(f+".tickets.jira."+field, "%q is not approved, implemented, closed or cancelled", state)
						case strings.TrimSpace(name) == "":
							bad(f+".tickets.jira."+field, "%s names nothing", state)
						}
					}
				}
			}
		case "servicenow":
			sn := e.Tickets.ServiceNow
			if sn == nil || !strings.HasPrefix(sn.URL, "http") {
				bad(f+".tickets.servicenow", "needs url")
			}
			if sn != nil {
				for state, value := range sn.States {
					switch {
					case !slices.Contains([]string{"open", "approved", "implemented", "closed", "cancelled"}, state):
						bad(f+".tickets.servicenow.states", "%q is not open, approved, implemented, closed or cancelled", state)
					case strings.TrimSpace(value) == "":
						bad(f+".tickets.servicenow.states", "%s names no state value", state)
					}
				}
			}
		default:
			bad(f+".tickets.system", "%q is not one of github, jira, servicenow, none", e.Tickets.System)
		}
		if e.Soak < 0 {
			bad(f+".soak", "must not be negative")
		}
		if _, err := time.LoadLocation(e.Timezone); err != nil {
			bad(f+".timezone", "%q is not a time zone (like Europe/London)", e.Timezone)
		}
		validateWindows(f+".change_windows", e.ChangeWindows, bad)
		for i, fr := range e.Freezes {
			if !fr.To.After(fr.From) {
				bad(fmt.Sprintf("%s.freezes[%d]", f, i), "to must be after from")
			}
		}
		if e.StepLimit < 1 || e.StepLimit > 100 {
			bad(f+".step_limit", "%d is not between 1 and 100", e.StepLimit)
		}
		for role, ids := range map[string][]string{"engineers": e.People.Engineers, "approvers": e.People.Approvers, "admins": e.People.Admins} {
			for _, id := range ids {
				if !slackUserID.MatchString(id) {
					bad(f+".people."+role, "%q is not a Slack user id (U… or W…)", id)
				}
			}
		}
		if g := e.People.SlackApproverGroup; g != "" && !slackGroupID.MatchString(g) {
			bad(f+".people.slack_approver_group", "%q is not a Slack user group id (S…)", g)
		}
		for _, login := range e.People.GitHubApprovers {
			if !githubLogin.MatchString(login) {
				bad(f+".people.github_approvers", "%q is not a GitHub login", login)
			}
		}
		for _, team := range e.People.GitHubTeams {
			if !githubTeam.MatchString(team) {
				bad(f+".people.github_teams", "%q is not a team slug or org/slug", team)
			}
		}
		if h := e.Health; h != nil {
			validateHealth(f+".health", h, bad)
		}
	}
	if len(c.Services) == 0 {
		bad("services", "at least one service is required")
	}
	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		f := "services." + name
		if s == nil {
			bad(f, "is empty")
			continue
		}
		if !serviceName.MatchString(name) {
			bad(f, "%q is not a service name (lower-case letters, digits, - _ .)", name)
		}
		if _, ok := c.Environments[s.Environment]; !ok {
			bad(f+".environment", "%q is not a configured environment", s.Environment)
		}
		if _, ok := c.Playbooks[s.Playbook]; !ok {
			bad(f+".playbook", "%q is not a configured playbook", s.Playbook)
		}
		switch s.Mode {
		case "proxy", "cname":
		default:
			bad(f+".mode", "%q is not proxy or cname", s.Mode)
		}
		if s.Weights.Path == "" || strings.HasPrefix(s.Weights.Path, "/") || strings.Contains(s.Weights.Path, "..") {
			bad(f+".weights.path", "%q is not a path inside the env-config repo", s.Weights.Path)
		}
		switch s.Weights.Format {
		case "yaml", "terraform":
		default:
			bad(f+".weights.format", "%q is not yaml or terraform", s.Weights.Format)
		}
		if s.Weights.OldSource == "" {
			bad(f+".weights.old_source", "is required")
		}
		if s.Weights.NewSource == "" {
			bad(f+".weights.new_source", "is required")
		}
		if s.Weights.OldSource != "" && s.Weights.OldSource == s.Weights.NewSource {
			bad(f+".weights.new_source", "must differ from old_source")
		}
		if s.DNS.TTL < 1 {
			bad(f+".dns.ttl", "%d is not a TTL in seconds", s.DNS.TTL)
		}
		pb := c.Playbooks[s.Playbook]
		if pb.Has(StepDNSSource) || pb.Has(StepPointTraffic) {
			for _, h := range []struct{ field, v string }{{"dns.name", s.DNS.Name}, {"dns.entry", s.DNS.Entry}, {"old.target", s.Old.Target}, {"new.target", s.New.Target}} {
				if !hostName.MatchString(h.v) {
					bad(f+"."+h.field, "%q is not a host name (the playbook creates and points DNS at it)", h.v)
				}
			}
		}
		if s.New.HealthURL != "" && !strings.HasPrefix(s.New.HealthURL, "http://") && !strings.HasPrefix(s.New.HealthURL, "https://") {
			bad(f+".new.health_url", "%q is not an http(s) URL", s.New.HealthURL)
		}
		if pb.Has(StepPointTraffic) {
			switch s.Mode {
			case "proxy":
				if s.Proxy == nil {
					bad(f+".proxy", "proxy mode needs the proxy file (path, format, key)")
					break
				}
				if s.Proxy.Repo == "" && c.Environments[s.Environment] != nil {
					s.Proxy.Repo = c.Environments[s.Environment].ProxyRepo
				}
				if !repoName.MatchString(s.Proxy.Repo) {
					bad(f+".proxy.repo", "%q is not owner/name (nor is the environment's proxy_repo set)", s.Proxy.Repo)
				}
				if s.Proxy.Path == "" || s.Proxy.Key == "" {
					bad(f+".proxy", "path and key are required")
				}
				switch s.Proxy.Format {
				case "nginx", "properties", "yaml", "fastly":
				default:
					bad(f+".proxy.format", "%q is not nginx, properties, yaml or fastly", s.Proxy.Format)
				}
			case "cname":
				if s.CNAME == nil || s.CNAME.Path == "" || s.CNAME.Resource == "" {
					bad(f+".cname", "cname mode needs the public record's file (path) and resource label")
				}
			}
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Lookup returns a service and its environment.
func (c *Config) Lookup(service string) (*Service, *Environment, bool) {
	s, ok := c.Services[service]
	if !ok {
		return nil, nil, false
	}
	return s, c.Environments[s.Environment], true
}

// ServiceNames returns the configured services, sorted.
func (c *Config) ServiceNames() []string { return sortedKeys(c.Services) }

// Location returns the environment's time zone (validated at load).
func (e *Environment) Location() *time.Location {
	loc, err := time.LoadLocation(e.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// validateHealth checks an environment's health settings.
func validateHealth(f string, h *Health, bad func(field, format string, args ...any)) {
	if h.Window < Duration(time.Minute) {
		bad(f+".window", "%s is shorter than a minute: CloudWatch has no finer figures", time.Duration(h.Window))
	}
	if h.ApplyTimeout < 0 {
		bad(f+".apply_timeout", "must be positive")
	}
	if h.MaxErrorRate <= 0 || h.MaxErrorRate >= 1 {
		bad(f+".max_error_rate", "%g is not a share between 0 and 1 (0.05 is 5%%)", h.MaxErrorRate)
	}
	if h.SplitTolerance <= 0 || h.SplitTolerance > 100 {
		bad(f+".split_tolerance", "%g is not a number of points between 0 and 100", h.SplitTolerance)
	}
	if h.ApplyCheckURL != "" && !strings.HasPrefix(h.ApplyCheckURL, "http") {
		bad(f+".apply_check_url", "%q is not an http(s) URL", h.ApplyCheckURL)
	}
	switch h.Source {
	case "cloudwatch":
	case "prometheus":
		p := h.Prometheus
		if p == nil || !strings.HasPrefix(p.URL, "http") || p.Requests == "" || p.Errors == "" || p.P95Seconds == "" {
			bad(f+".prometheus", "needs url, requests, errors and p95_seconds")
		}
	default:
		bad(f+".source", "%q is not cloudwatch or prometheus", h.Source)
	}
}
