package sandbox

// The sandbox's seeded world: people, repos and their files. Every seeded
// service is ready to migrate.

// slackUsers are the sandbox's Slack users by name; config/sandbox.yaml names
// them by id.
var slackUsers = []struct{ ID, Name string }{
	{"U0ALICE", "alice"},     // engineer: may run commands
	{"U0CAROL", "carol"},     // change approver
	{"U0DAVE", "dave"},       // environment admin
	{"U0MALLORY", "mallory"}, // no rights
}

// githubUsers and their permission on every acme repo.
var githubUsers = []struct{ Login, Permission string }{
	{"alice", "write"},
	{"carol", "write"}, // approver
	{"bob", "write"},
	{"eve", "none"},
}

// githubTeams are the acme org's teams and their members.
var githubTeams = map[string][]string{
	"change-approvers": {"carol"},
	"network":          {"bob"}, // code owners of terraform/route53/
}

// slackGroups are the Slack user groups: id, handle and members by name.
var slackGroups = []struct {
	ID, Handle string
	Members    []string
}{
	{"S0APPROVERS", "change-approvers", []string{"carol"}},
}

const (
	sandboxTeam        = "T0ACME"
	sandboxChannel     = "C0MIGRATE"
	sandboxChannelName = "migrations"
	sandboxOwner       = "acme"
	sandboxInstall     = 7001
	sandboxEnvRepo     = "acme/envs-config"
	sandboxSlackToken  = "xoxb-sandbox-token"
	sandboxAWSKey      = "AKIASANDBOX"
	sandboxAWSSecret   = "sandbox-aws-secret"
)

// certificates are the ACM certificates of the old load balancers: each
// covers the service's cutover entry, as preflight requires.
var certificates = []struct {
	ARN, Domain string
	SANs        []string
}{
	{"arn:aws:acm:us-east-1:111122223333:certificate/web-api-legacy", "web-api.kprod.acme.example", []string{"web-api.kprod.acme.example", "*.kprod.acme.example"}},
	{"arn:aws:acm:us-east-1:111122223333:certificate/billing-legacy", "billing.kprod.acme.example", []string{"billing.kprod.acme.example", "billing-cutover.kprod.acme.example"}},
}

// seedRepos are the repos as a platform team has them before any
// migration: web-api and billing have no cutover entry yet (the dns-source
// step adds it); search has its weighted sources already.
var seedRepos = map[string]map[string]string{
	"acme/envs-config": {
		"README.md":          "# envs-config\n\nEnvironment configuration for acme. DNS sources live under dns/, Terraform under terraform/.\n",
		".github/CODEOWNERS": "# Route53 records in Terraform are the network team's.\n/terraform/route53/ @acme/network\n",
		"dns/kprod/search.yaml": `# DNS sources for search in kprod (source and proxy already in place).
record: search.kprod.acme.example
ttl: 60
sources:
  - name: legacy-elb
    target: search-5678.us-east-1.elb.amazonaws.com
    weight: 100
  - name: k8s
    target: search.k8s.kprod.acme.example
    weight: 0
`,
		"dns/kdev/catalog.yaml": `# DNS sources for catalog in kdev (source and proxy already in place).
record: catalog.kdev.acme.example
ttl: 60
sources:
  - name: legacy-elb
    target: catalog-3456.us-east-1.elb.amazonaws.com
    weight: 100
  - name: k8s
    target: catalog.k8s.kdev.acme.example
    weight: 0
`,
		"terraform/route53/billing.tf": `# Public records for billing in kprod.
resource "aws_route53_record" "billing_public" {
  zone_id = var.zone_id
  name    = "billing.kprod.acme.example"
  type    = "CNAME"
  ttl     = 60
  records = ["billing-9012.us-east-1.elb.amazonaws.com"] # classic ELB
}
`,
	},
	"acme/edge-proxy": {
		"nginx/upstreams/web-api.conf": `# web-api upstream, used by the edge proxies.
upstream web_api {
    server web-api-1234.us-east-1.elb.amazonaws.com:443 max_fails=3;
    keepalive 32;
}
`,
	},
	"acme/change-requests": {
		"README.md": "# change-requests\n\nChange tickets, one issue per change.\n",
	},
}
