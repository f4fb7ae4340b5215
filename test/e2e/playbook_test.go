package e2e

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/weightfile"
	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/sandbox"
)

const proxyRepo = "acme/edge-proxy"

// runScript runs a sandbox script from sandbox/scripts and returns each
// line's events, by line text, in order.
func (h *harness) runScript(name string) []scriptLine {
	h.T.Helper()
	f, err := os.Open("../../sandbox/scripts/" + name)
	if err != nil {
		h.T.Fatal(err)
	}
	defer f.Close()
	var out []scriptLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		text := sandbox.StripComment(strings.TrimSpace(sc.Text()))
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		out = append(out, scriptLine{text: text, events: h.Do(text)})
	}
	return out
}

type scriptLine struct {
	text   string
	events []sandbox.Event
}

// said returns what the bot told a user alone on the script's lines.
func said(lines []scriptLine, user string) string {
	var b strings.Builder
	for _, l := range lines {
		for _, s := range ephemeralTo(l.events, user) {
			b.WriteString(s + "\n")
		}
	}
	return b.String()
}

func threadText(lines []scriptLine) string {
	var b strings.Builder
	for _, l := range lines {
		for _, e := range l.events {
			if e.Kind == "slack.message" && e.Thread != "" {
				b.WriteString(e.Text + "\n")
			}
		}
	}
	return b.String()
}

func prSteps(h *harness, repo string) []string {
	var out []string
	for _, pr := range h.SB.GitHub().PRs(repo) {
		out = append(out, strings.TrimPrefix(pr.Head, "migratebot/"))
	}
	return out
}

func mainFile(t *testing.T, h *harness, repo, path string) (string, bool) {
	t.Helper()
	return h.SB.GitHub().File(repo, "main", path)
}

func archived(t *testing.T, h *harness, service string) bot.Migration {
	t.Helper()
	key := bot.ServiceKey{Env: "kprod", Service: service}
	if _, err := h.SB.App().Store.Load(context.Background(), key); err != bot.ErrNotFound {
		t.Fatalf("%s is still active (frozen): %v", service, err)
	}
	hist, err := h.SB.App().Store.History(context.Background(), key)
	if err != nil || len(hist) == 0 {
		t.Fatalf("no history for %s: %v", service, err)
	}
	return hist[0]
}

// TestProxyModeStartToDecommission: web-api, YAML weights and an nginx
// upstream, from preflight to the old source's removal, with the gates that
// refuse on the way.
func TestProxyModeStartToDecommission(t *testing.T) {
	h := newHarness(t)
	lines := h.runScript("proxy-mode.txt")
	want := []string{"web-api/dns-source", "web-api/point-traffic", "web-api/weights-10", "web-api/weights-25", "web-api/weights-50", "web-api/weights-75", "web-api/weights-100", "web-api/decommission"}
	if got := prSteps(h, envRepo); strings.Join(got, " ") != strings.Join(append(want[:1:1], want[2:]...), " ") {
		t.Errorf("env-config PRs = %v", got)
	}
	if got := prSteps(h, proxyRepo); len(got) != 1 || got[0] != "web-api/point-traffic" {
		t.Errorf("proxy PRs = %v", got)
	}
	told := said(lines, "alice")
	for _, gate := range []string{"waits for a person", "Gate *soak*", "Gate *step size*", "Gate *decommission soak*", "Please confirm"} {
		if !strings.Contains(told, gate) {
			t.Errorf("alice was never told %q:\n%s", gate, told)
		}
	}
	preflight := lines[1].events[0].Text
	for _, check := range []string{"✔ not already migrating", "dns-source step adds it", "✔ acme/edge-proxy:nginx/upstreams/web-api.conf is readable", "✔ the new target answers", "✔ TTL 60s", "✔ certificate covers web-api-cutover.kprod.acme.example"} {
		if !strings.Contains(preflight, check) {
			t.Errorf("the plan lacks the preflight line %q:\n%s", check, preflight)
		}
	}
	if !strings.Contains(threadText(lines), "⏰ web-api has run at new 100 for 14d") {
		t.Errorf("no decommission reminder in the thread:\n%s", threadText(lines))
	}
	weights, ok := mainFile(t, h, envRepo, "dns/kprod/web-api.yaml")
	if !ok {
		t.Fatal("the weights file is gone")
	}
	sources, err := weightfile.ReadYAML([]byte(weights))
	if err != nil || len(sources) != 1 || sources[0].Name != "k8s" || sources[0].Weight != 100 {
		t.Errorf("after decommission the sources are %+v (%v), want k8s alone at 100", sources, err)
	}
	proxy, _ := mainFile(t, h, proxyRepo, "nginx/upstreams/web-api.conf")
	if !strings.Contains(proxy, "server web-api-cutover.kprod.acme.example:443 max_fails=3;") || strings.Contains(proxy, "elb.amazonaws.com") {
		t.Errorf("the upstream after the migration:\n%s", proxy)
	}
	if m := archived(t, h, "web-api"); m.Status != bot.StatusCompleted {
		t.Errorf("web-api ended %s", m.Status)
	}
}

// TestCnameModeStartToDecommission: billing, Terraform weighted records and
// a public CNAME; an admin forces a bigger step after confirming it.
func TestCnameModeStartToDecommission(t *testing.T) {
	h := newHarness(t)
	lines := h.runScript("cname-mode.txt")
	got := strings.Join(prSteps(h, envRepo), " ")
	if want := "billing/dns-source billing/point-traffic billing/weights-10 billing/weights-25 billing/weights-75 billing/weights-100 billing/decommission"; got != want {
		t.Errorf("PRs = %s\nwant %s", got, want)
	}
	if told := said(lines, "dave"); !strings.Contains(told, "a step of 50 points, above the limit of 25") {
		t.Errorf("dave was not asked to confirm the forced step: %q", told)
	}
	tf, _ := mainFile(t, h, envRepo, "terraform/route53/billing-cutover.tf")
	sources, err := weightfile.ReadHCL([]byte(tf))
	if err != nil || len(sources) != 1 || sources[0].Name != "billing-k8s" || sources[0].Weight != 100 {
		t.Errorf("after decommission the records are %+v (%v):\n%s", sources, err, tf)
	}
	public, _ := mainFile(t, h, envRepo, "terraform/route53/billing.tf")
	if !strings.Contains(public, `"billing-cutover.kprod.acme.example"`) || strings.Contains(public, "elb.amazonaws.com\"]") {
		t.Errorf("the public record after the migration:\n%s", public)
	}
	if m := archived(t, h, "billing"); m.Status != bot.StatusCompleted {
		t.Errorf("billing ended %s", m.Status)
	}
}

// TestRollbackFrom50IsOneCommandOnePR: at 50, /migrate rollback opens one
// urgent PR to 100/0 at once, with no gate in the way.
func TestRollbackFrom50IsOneCommandOnePR(t *testing.T) {
	h := newHarness(t)
	lines := h.runScript("rollback.txt")
	var rollbackLine scriptLine
	for _, l := range lines {
		if l.text == "/migrate rollback" {
			rollbackLine = l
		}
	}
	if n := countKind(rollbackLine.events, "github.pull_request", "opened"); n != 1 {
		t.Fatalf("rollback opened %d PRs, want 1", n)
	}
	if len(ephemeralTo(rollbackLine.events, "alice")) != 0 {
		t.Errorf("rollback was refused: %v", ephemeralTo(rollbackLine.events, "alice"))
	}
	prs := h.SB.GitHub().PRs(envRepo)
	pr := prs[len(prs)-1]
	if pr.Head != "migratebot/search/rollback-0" || !strings.HasPrefix(pr.Title, "URGENT") || !strings.Contains(strings.Join(pr.Labels, ","), "urgent") || !pr.Merged {
		t.Errorf("rollback PR = %+v", pr)
	}
	if w := weightsIn(t, mustFile(t, h, "main")); w["legacy-elb"] != 100 || w["k8s"] != 0 {
		t.Errorf("after the rollback main has %v", w)
	}
	m := h.migration()
	if m.Weights != (bot.Weights{Old: 100, New: 0}) {
		t.Errorf("weights after rollback: %v", m.Weights)
	}
	if cur, _ := m.Current(); cur.ID != "weights-10" {
		t.Errorf("after a rollback to 0 the next step is %s, want weights-10 again", cur.ID)
	}
}

// TestRollbackSupersedesOpenPR: a rollback while a bump is open closes it.
func TestRollbackSupersedesOpenPR(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start search", "/migrate bump 25", "github merge last", "clock +30m", "/migrate next")
	open := h.SB.GitHub().PRs(envRepo)[1]
	h.Do("/migrate rollback to 10")
	closed, _ := h.SB.GitHub().PR(envRepo, open.Number)
	if closed.State != "closed" || closed.Merged {
		t.Errorf("the superseded PR is %s", closed.State)
	}
	prs := h.SB.GitHub().PRs(envRepo)
	if len(prs) != 3 || prs[2].Head != "migratebot/search/rollback-10" {
		t.Fatalf("PRs: %+v", prs)
	}
	if w := weightsIn(t, mustFile(t, h, prs[2].Head)); w["k8s"] != 10 || w["legacy-elb"] != 90 {
		t.Errorf("rollback to 10 writes %v", w)
	}
}

// TestAbortRestoresRepos: aborted at new 25, the revert PRs put every file
// back byte for byte, and the service is unfrozen.
func TestAbortRestoresRepos(t *testing.T) {
	h := newHarness(t)
	gh := h.SB.GitHub()
	paths := map[string][]string{
		envRepo:   {"dns/kprod/web-api.yaml", "dns/kprod/search.yaml", "terraform/route53/billing.tf"},
		proxyRepo: {"nginx/upstreams/web-api.conf"},
	}
	before := map[string]*string{}
	for repo, ps := range paths {
		for _, p := range ps {
			if c, ok := gh.File(repo, "main", p); ok {
				before[repo+":"+p] = &c
			} else {
				before[repo+":"+p] = nil
			}
		}
	}
	lines := h.runScript("abort.txt")
	reverts := 0
	for _, pr := range append(gh.PRs(envRepo), gh.PRs(proxyRepo)...) {
		if strings.Contains(pr.Head, "/revert-") {
			reverts++
			if !pr.Merged {
				t.Errorf("revert %s not merged", pr.Head)
			}
		}
	}
	if reverts != 3 {
		t.Errorf("%d revert PRs, want 3 (weights, proxy, entry)", reverts)
	}
	for repo, ps := range paths {
		for _, p := range ps {
			c, ok := gh.File(repo, "main", p)
			want := before[repo+":"+p]
			switch {
			case want == nil && ok:
				t.Errorf("%s:%s should not exist after the abort:\n%s", repo, p, c)
			case want != nil && (!ok || c != *want):
				t.Errorf("%s:%s differs from before the migration:\n%s\nwant:\n%s", repo, p, c, *want)
			}
		}
	}
	last := lines[len(lines)-1]
	if countKind(last.events, "slack.message", "posted") != 1 || len(ephemeralTo(last.events, "alice")) != 0 {
		t.Errorf("web-api could not start again after the abort: %+v", last.events)
	}
	if !strings.Contains(threadText(lines), "Abort complete") {
		t.Error("the thread was not told the abort completed")
	}
}

func TestAbortBeforeAnyMergeUnfreezesAtOnce(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start web-api", "/migrate next")
	open := h.SB.GitHub().PRs(envRepo)[0]
	h.Do("/migrate abort")
	if pr, _ := h.SB.GitHub().PR(envRepo, open.Number); pr.State != "closed" {
		t.Errorf("the open PR is %s", pr.State)
	}
	for _, b := range h.SB.GitHub().Branches(envRepo) {
		if b == open.Head {
			t.Errorf("branch %s left behind", b)
		}
	}
	if m := archived(t, h, "web-api"); m.Status != bot.StatusAborted {
		t.Errorf("status %s", m.Status)
	}
}

// TestGatesRefuseAndOpen: each gate names itself and when it opens, and
// opens when the fake clock gets there.
func TestGatesRefuseAndOpen(t *testing.T) {
	t.Run("change window", func(t *testing.T) {
		// The sandbox clock starts Monday 2026-01-05 09:00 UTC.
		h := newHarnessWith(t, func(c *config.Config) {
			c.Environments["kprod"].ChangeWindows = []config.ChangeWindow{{Days: []string{"tue"}, Start: "10:00", End: "12:00"}}
		})
		h.Do("as alice", "/migrate start search")
		told := ephemeralTo(h.Do("/migrate next"), "alice")
		if len(told) != 1 || !strings.Contains(told[0], "Gate *change window*") || !strings.Contains(told[0], "Tue 6 Jan 10:00 UTC") {
			t.Fatalf("told %q", told)
		}
		h.Do("clock +25h") // Tuesday 10:00
		if told := ephemeralTo(h.Do("/migrate next"), "alice"); len(told) != 0 {
			t.Fatalf("inside the window still refused: %q", told)
		}
	})
	t.Run("freeze", func(t *testing.T) {
		h := newHarnessWith(t, func(c *config.Config) {
			c.Environments["kprod"].Freezes = []config.Freeze{{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC), Reason: "new-year freeze"}}
		})
		h.Do("as alice", "/migrate start search")
		told := ephemeralTo(h.Do("/migrate next"), "alice")
		if len(told) != 1 || !strings.Contains(told[0], "Gate *freeze*") || !strings.Contains(told[0], "new-year freeze") {
			t.Fatalf("told %q", told)
		}
		h.Do("clock +3h")
		if told := ephemeralTo(h.Do("/migrate next"), "alice"); len(told) != 0 {
			t.Fatalf("after the freeze still refused: %q", told)
		}
	})
	t.Run("soak is at least twice the TTL", func(t *testing.T) {
		h := newHarnessWith(t, func(c *config.Config) {
			c.Environments["kprod"].Soak = config.Duration(time.Minute)
			c.Environments["kprod"].Health = nil // the soak alone
		})
		h.Do("as alice", "/migrate start search", "/migrate next", "github merge last", "clock +1m")
		told := ephemeralTo(h.Do("/migrate next"), "alice")
		if len(told) != 1 || !strings.Contains(told[0], "the soak of 2m ends") {
			t.Fatalf("told %q, want a 2×TTL soak", told)
		}
		h.Do("clock +1m")
		if told := ephemeralTo(h.Do("/migrate next"), "alice"); len(told) != 0 {
			t.Fatalf("after 2×TTL still refused: %q", told)
		}
	})
	t.Run("health", func(t *testing.T) {
		h := newHarness(t)
		h.Do("as alice", "/migrate start search")
		m := h.migration()
		m.Health = "failing"
		if err := h.SB.App().Store.Save(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		told := ephemeralTo(h.Do("/migrate next"), "alice")
		if len(told) != 1 || !strings.Contains(told[0], "Gate *health*") {
			t.Fatalf("told %q", told)
		}
	})
	t.Run("paused", func(t *testing.T) {
		h := newHarness(t)
		h.Do("as alice", "/migrate start search", "/migrate pause")
		told := ephemeralTo(h.Do("/migrate next"), "alice")
		if len(told) != 1 || !strings.Contains(told[0], "is paused") {
			t.Fatalf("told %q", told)
		}
		h.Do("/migrate resume")
		if told := ephemeralTo(h.Do("/migrate next"), "alice"); len(told) != 0 {
			t.Fatalf("after resume still refused: %q", told)
		}
	})
	t.Run("confirmation is the requester's", func(t *testing.T) {
		h := newHarness(t)
		h.Do("as alice", "/migrate start search", "as dave", "/migrate bump 60 --force")
		if told := ephemeralTo(h.Do("as alice", "/migrate confirm search"), "alice"); len(told) != 1 || !strings.Contains(told[0], "Only <@U0DAVE>") {
			t.Fatalf("alice confirming dave's force: %q", told)
		}
		if prs := h.SB.GitHub().PRs(envRepo); len(prs) != 0 {
			t.Fatalf("a PR opened without dave's confirmation")
		}
		h.Do("as dave", "click migrate:confirm")
		if prs := h.SB.GitHub().PRs(envRepo); len(prs) != 1 || prs[0].Head != "migratebot/search/weights-60" {
			t.Fatalf("after dave confirmed: %+v", prs)
		}
	})
}

// TestPreflightRefuses: a failing check stops the start, says why, and
// writes nothing.
func TestPreflightRefuses(t *testing.T) {
	t.Run("new target down", func(t *testing.T) {
		h := newHarness(t)
		h.SB.SetHealthy("web-api", false)
		before := h.snapshot()
		told := ephemeralTo(h.Do("as alice", "/migrate start web-api"), "alice")
		if len(told) != 1 || !strings.Contains(told[0], "✖ the new target does not answer") || !strings.Contains(told[0], "HTTP 503") || !strings.Contains(told[0], "nothing was started") {
			t.Fatalf("told %q", told)
		}
		if after := h.snapshot(); after != before {
			t.Errorf("a failed preflight changed state")
		}
	})
	t.Run("certificate does not cover the new name", func(t *testing.T) {
		h := newHarness(t)
		h.SB.AWS().AddCertificate(awsCert("arn:aws:acm:us-east-1:111122223333:certificate/web-api-legacy", "web-api.kprod.acme.example"))
		told := ephemeralTo(h.Do("as alice", "/migrate start web-api"), "alice")
		if len(told) != 1 || !strings.Contains(told[0], "does not cover web-api-cutover.kprod.acme.example") {
			t.Fatalf("told %q", told)
		}
	})
	t.Run("TTL above 60 adds a TTL step first", func(t *testing.T) {
		h := newHarness(t)
		content, _ := h.SB.GitHub().File(envRepo, "main", searchFile)
		high := strings.Replace(content, "ttl: 60", "ttl: 300", 1)
		if _, err := h.SB.GitHub().Push(envRepo, "main", map[string]*string{searchFile: &high}, "raise the ttl", "bob"); err != nil {
			t.Fatal(err)
		}
		evs := h.Do("as alice", "/migrate start search")
		if !strings.Contains(evs[0].Text, "⚠ TTL 300s > 60s") {
			t.Fatalf("plan: %s", evs[0].Text)
		}
		h.Do("/migrate next")
		pr := h.SB.GitHub().PRs(envRepo)[0]
		got, _ := h.SB.GitHub().File(envRepo, pr.Head, searchFile)
		if pr.Head != "migratebot/search/ttl" || got != content {
			t.Errorf("the TTL PR (%s) should put the file back to ttl 60:\n%s", pr.Head, got)
		}
	})
}

// TestDecommissionRefusedWhileOldSideReferenced: decommission checks nothing
// still points at the old load balancer.
func TestDecommissionRefusedWhileOldSideReferenced(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start web-api", "/migrate next", "github merge last", "/migrate next", "github merge last", "/migrate done deployed")
	for range 5 {
		h.Do("clock +30m", "/migrate next", "github merge last")
	}
	// Someone adds the old ELB back as a backup server.
	conf, _ := h.SB.GitHub().File(proxyRepo, "main", "nginx/upstreams/web-api.conf")
	conf = strings.Replace(conf, "    keepalive 32;", "    server web-api-1234.us-east-1.elb.amazonaws.com:443 backup;\n    keepalive 32;", 1)
	if _, err := h.SB.GitHub().Push(proxyRepo, "main", map[string]*string{"nginx/upstreams/web-api.conf": &conf}, "add a backup", "bob"); err != nil {
		t.Fatal(err)
	}
	told := ephemeralTo(h.Do("clock +336h", "/migrate next", "click migrate:confirm"), "alice")
	if len(told) != 2 || !strings.Contains(told[1], "still points at the old side") || !strings.Contains(told[1], "line 4") {
		t.Fatalf("told %q", told)
	}
	if m := h.migrationOf("web-api"); m.Open != nil {
		t.Errorf("a decommission PR opened: %+v", m.Open)
	}
}

// TestListPlanStatus: the read-only commands answer the asking user alone,
// and plan opens nothing.
func TestListPlanStatus(t *testing.T) {
	h := newHarness(t)
	h.Do("as alice", "/migrate start web-api", "/migrate start search", "/migrate bump 10 search")
	list := ephemeralTo(h.Do("/migrate list"), "alice")
	if len(list) != 1 || !strings.Contains(list[0], "Active migrations* (2)") || !strings.Contains(list[0], "`search` (kprod) · at weights-10") || !strings.Contains(list[0], "PR #1> open") {
		t.Errorf("list: %q", list)
	}
	if told := ephemeralTo(h.Do("as mallory", "/migrate list"), "mallory"); len(told) != 1 || !strings.Contains(told[0], "You may not list") {
		t.Errorf("mallory's list: %q", told)
	}
	before := len(h.SB.GitHub().PRs(envRepo))
	plan := ephemeralTo(h.Do("as carol", "/migrate plan web-api"), "carol")
	if len(plan) != 1 {
		t.Fatalf("plan: %q", plan)
	}
	for _, want := range []string{"*dns-source* → acme/envs-config", "+record: web-api-cutover.kprod.acme.example", "*point-traffic* → acme/edge-proxy",
		"-    server web-api-1234.us-east-1.elb.amazonaws.com:443 max_fails=3;", "+    server web-api-cutover.kprod.acme.example:443 max_fails=3;",
		"*manual-deployed* — a person confirms", "*weights-10*", "-    weight: 100\n+    weight: 90", "*weights-100*", "*decommission*"} {
		if !strings.Contains(plan[0], want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if len(h.SB.GitHub().PRs(envRepo)) != before {
		t.Error("plan opened a PR")
	}
	status := ephemeralTo(h.Do("/migrate status web-api"), "carol")
	if len(status) != 1 || !strings.Contains(status[0], "✔ preflight → ○ dns-source → ○ point-traffic → ○ deployed (manual) → ○ 10") || !strings.Contains(status[0], "Last health: no summary yet") {
		t.Errorf("status: %q", status)
	}
}

// TestIrreversibleStepConfirmsAndBlocksAbort: a step marked irreversible
// asks its requester to confirm, and once merged, abort is refused with the
// reason and changes nothing.
func TestIrreversibleStepConfirmsAndBlocksAbort(t *testing.T) {
	h := newHarnessWith(t, func(c *config.Config) {
		pb := c.Playbooks["default"]
		for i := range pb.Steps {
			if pb.Steps[i].Kind == config.StepPointTraffic {
				pb.Steps[i].Irreversible = true
			}
		}
	})
	h.Do("as alice", "/migrate start billing", "/migrate next", "github merge last")
	told := ephemeralTo(h.Do("/migrate next"), "alice")
	if len(told) != 1 || !strings.Contains(told[0], "Please confirm: point-traffic for billing, which cannot be undone") {
		t.Fatalf("told %q", told)
	}
	if n := len(h.SB.GitHub().PRs(envRepo)); n != 1 {
		t.Fatalf("%d PRs before the confirmation", n)
	}
	h.Do("click migrate:confirm", "github merge last")
	before := h.snapshot()
	told = ephemeralTo(h.Do("/migrate abort"), "alice")
	if len(told) != 1 || !strings.Contains(told[0], "cannot be aborted: the irreversible step point-traffic merged") {
		t.Fatalf("abort: %q", told)
	}
	if after := h.snapshot(); after != before {
		t.Error("a refused abort changed state")
	}
}
