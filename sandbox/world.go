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

const (
	sandboxTeam        = "T0ACME"
	sandboxChannel     = "C0MIGRATE"
	sandboxChannelName = "migrations"
	sandboxOwner       = "acme"
	sandboxInstall     = 7001
	sandboxEnvRepo     = "acme/envs-config"
	sandboxSlackToken  = "xoxb-sandbox-token"
)

var seedRepos = map[string]map[string]string{
	"acme/envs-config": {
		"README.md": "# envs-config\n\nEnvironment configuration for acme. DNS sources live under dns/, Terraform under terraform/.\n",
		"dns/kprod/web-api.yaml": `# DNS sources for web-api in kprod.
# Weighted records: the share of DNS answers each target gets.
record: web-api.kprod.acme.example
ttl: 60
sources:
  - name: legacy-elb   # classic ELB, to be retired
    target: web-api-1234.us-east-1.elb.amazonaws.com
    weight: 100
  - name: k8s          # new platform
    target: web-api.k8s.kprod.acme.example
    weight: 0
`,
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
		"terraform/route53/billing.tf": `# Weighted records for billing.kprod.acme.example
resource "aws_route53_record" "billing_legacy" {
  zone_id        = var.zone_id
  name           = "billing-origin.kprod.acme.example"
  type           = "CNAME"
  ttl            = 60
  set_identifier = "billing-legacy"
  records        = ["billing-9012.us-east-1.elb.amazonaws.com"]

  weighted_routing_policy {
    weight = 100
  }
}
`,
	},
	"acme/edge-proxy": {
		"nginx/upstreams/web-api.conf": "upstream web_api {\n    server web-api-1234.us-east-1.elb.amazonaws.com:443;\n}\n",
	},
	"acme/change-requests": {
		"README.md": "# change-requests\n\nChange tickets, one issue per change.\n",
	},
}
