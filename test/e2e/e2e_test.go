// Package e2e drives migratebot end to end: signed Slack requests and signed
// GitHub webhooks through the real HTTP handlers, a real redis-server, and
// the GitHub and Slack emulators speaking their wire protocols.
package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/internal/redistest"
	"github.com/migratebot/migratebot/internal/sandboxtest"
	"github.com/migratebot/migratebot/sandbox"
	"github.com/migratebot/migratebot/test/awsemu"
	"github.com/migratebot/migratebot/test/slackemu"
)

func TestMain(m *testing.M) { redistest.Main(m) }

const envRepo = "acme/envs-config"
const searchFile = "dns/kprod/search.yaml"

var searchKey = bot.ServiceKey{Env: "kprod", Service: "search"}

// harness is the bot under test (sandboxtest), with this package's helpers.
type harness struct{ *sandboxtest.Harness }

// newHarness starts the bot on the package's real redis-server.
func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessWith(t, nil)
}

// newHarnessWith starts the bot with a changed sandbox config.
func newHarnessWith(t testing.TB, configure func(*config.Config)) *harness {
	t.Helper()
	return newHarnessOpts(t, sandbox.Options{Configure: configure})
}

// newHarnessOpts starts the bot with sandbox options (key prefix and logs
// are the harness's own).
func newHarnessOpts(t testing.TB, o sandbox.Options) *harness {
	t.Helper()
	return &harness{sandboxtest.New(t, o)}
}

func (h *harness) migration() *bot.Migration { return h.migrationOf("search") }

func (h *harness) migrationOf(service string) *bot.Migration {
	h.T.Helper()
	env := "kprod"
	if svc, ok := h.SB.App().Config.Services[service]; ok {
		env = svc.Environment
	}
	return h.Migration(bot.ServiceKey{Env: env, Service: service})
}

// snapshot is everything the bot keeps in Redis (its keys and their
// values) and on GitHub (PRs, branches), to show that bad input changed
// nothing. The intake's records of the Slack triggers and GitHub
// deliveries it has taken are left out: every request taken leaves one,
// refused or not, so that it is not run twice, and they expire.
func (h *harness) snapshot() string {
	h.T.Helper()
	ctx := context.Background()
	rdb := h.SB.Redis()
	var keys []string
	iter := rdb.Scan(ctx, 0, h.Prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		if strings.Contains(iter.Val(), ":{queue}:delivery:") {
			continue
		}
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		h.T.Fatal(err)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		typ := rdb.Type(ctx, k).Val()
		var val any
		switch typ {
		case "string":
			val = rdb.Get(ctx, k).Val()
		case "hash":
			val = rdb.HGetAll(ctx, k).Val()
		case "set":
			v := rdb.SMembers(ctx, k).Val()
			sort.Strings(v)
			val = v
		case "list":
			val = rdb.LRange(ctx, k, 0, -1).Val()
		case "stream":
			n := rdb.XLen(ctx, k).Val()
			if n == 0 {
				continue // an empty queue: created by the first job, holds nothing
			}
			val = fmt.Sprintf("%d entries", n)
		}
		fmt.Fprintf(&b, "%s (%s ttl>0:%v) = %v\n", k, typ, rdb.TTL(ctx, k).Val() > 0, val)
	}
	gh := h.SB.GitHub()
	for _, pr := range gh.PRs(envRepo) {
		fmt.Fprintf(&b, "PR #%d %s %s merged=%v\n", pr.Number, pr.Head, pr.State, pr.Merged)
	}
	fmt.Fprintf(&b, "branches %v\n", gh.Branches(envRepo))
	return b.String()
}

func ephemeralTo(evs []sandbox.Event, user string) []string {
	var out []string
	for _, e := range evs {
		if e.Kind == "slack.message" && e.Ephemeral != nil && *e.Ephemeral && e.ToUser == user {
			out = append(out, e.Text)
		}
	}
	return out
}

func countKind(evs []sandbox.Event, kind, action string) int {
	n := 0
	for _, e := range evs {
		if e.Kind == kind && e.Action == action {
			n++
		}
	}
	return n
}

func threadMessages(msgs []slackemu.Message, thread string) []slackemu.Message {
	var out []slackemu.Message
	for _, m := range msgs {
		if m.ThreadTS == thread && !m.Ephemeral {
			out = append(out, m)
		}
	}
	return out
}

// awsCert is a valid certificate naming only domain.
func awsCert(arn, domain string) awsemu.Certificate {
	return awsemu.Certificate{ARN: arn, DomainName: domain, SANs: []string{domain}, NotAfter: time.Now().AddDate(1, 0, 0), Status: "ISSUED"}
}
