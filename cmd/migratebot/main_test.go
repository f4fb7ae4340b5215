package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/internal/redistest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const walkthrough = "../../sandbox/scripts/walkthrough.txt"

func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(args, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("migratebot %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file; run go test ./cmd/migratebot -update and review the diff.\ngot:\n%s", name, got)
	}
}

// TestSandboxTranscript: the README's sandbox command prints the PRs with
// their YAML diffs and the thread's messages.
func TestSandboxTranscript(t *testing.T) {
	t.Setenv("REDIS_URL", "") // the embedded Redis, as on a fresh machine
	out := runCLI(t, "sandbox", "--script", walkthrough)
	for _, want := range []string{
		"github PR acme/envs-config#1 opened",
		"branch: migratebot/search/weights-10",
		"-    weight: 100\n        +    weight: 90",
		"-    weight: 0\n        +    weight: 10",
		"github PR acme/envs-config#1 merged by bob",
		"-    weight: 90\n        +    weight: 75",
		"slack posted in the thread",
		"merged by carol: now old 75 / new 25",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
	golden(t, "walkthrough.txt", out)
}

// TestSandboxJSON: with --json every effect is one JSON object per line with
// kind, action and the script line that caused it.
func TestSandboxJSON(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	out := runCLI(t, "sandbox", "--script", walkthrough, "--json")
	kinds := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	var opened []map[string]any
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		for _, f := range []string{"kind", "action", "line"} {
			if _, ok := ev[f]; !ok {
				t.Errorf("event lacks %q: %s", f, sc.Text())
			}
		}
		kinds[fmt.Sprint(ev["kind"], ".", ev["action"])]++
		if ev["kind"] == "github.pull_request" && ev["action"] == "opened" {
			opened = append(opened, ev)
		}
	}
	if kinds["github.pull_request.opened"] != 2 || kinds["github.pull_request.merged"] != 2 || kinds["slack.message.posted"] < 4 || kinds["slack.message.updated"] < 4 {
		t.Errorf("event counts: %v", kinds)
	}
	if len(opened) > 0 {
		files, _ := opened[0]["files"].(map[string]any)
		content, _ := files["dns/kprod/search.yaml"].(string)
		if !strings.Contains(content, "weight: 90") || opened[0]["line"] != float64(5) || opened[0]["branch"] != "migratebot/search/weights-10" {
			t.Errorf("first opened PR event: %v", opened[0])
		}
	}
	golden(t, "walkthrough.jsonl", out)
}

func TestSandboxBadLineIsAnErrorEvent(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	script := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(script, []byte("as nobody\nfly to the moon\ngithub merge #99\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runCLI(t, "sandbox", "--script", script, "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 error events, got:\n%s", out)
	}
	for i, l := range lines {
		var ev struct {
			Kind    string
			Line    int
			Message string
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Kind != "error" || ev.Line != i+1 || ev.Message == "" {
			t.Errorf("line %d: %s", i+1, l)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"fly"}, {"serve"}, {"sandbox", "extra"}} {
		var out, errOut bytes.Buffer
		err := run(args, strings.NewReader(""), &out, &errOut)
		if err == nil || !strings.Contains(err.Error()+errOut.String(), "usage") && !strings.Contains(err.Error(), "serve needs") {
			t.Errorf("migratebot %v: %v", args, err)
		}
	}
}

// TestServeHealthAndReadiness: serve answers /healthz, and /readyz only
// while Redis answers.
func TestServeHealthAndReadiness(t *testing.T) {
	rs, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Stop()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(config.EnvGitHubPrivateKey, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})))
	t.Setenv(config.EnvGitHubWebhookSecret, "whsec")
	t.Setenv(config.EnvSlackBotToken, "xoxb-test")
	t.Setenv(config.EnvSlackSigningSecret, "signing")
	t.Setenv("REDIS_URL", "redis://"+rs.Addr)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	cfg := strings.Replace(string(config.SandboxYAML), "workers: 2", "workers: 2\nlisten: "+addr, 1)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- serve(ctx, []string{"--config", cfgPath}, &logs) }()

	get := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(10 * time.Second)
	for get("/healthz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("serve never answered /healthz")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with Redis up = %d", code)
	}
	rs.Stop()
	if code := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down = %d, want 503", code)
	}
	if code := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz with Redis down = %d, want 200 (alive, not ready)", code)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	for _, secret := range []string{"xoxb-test", "whsec", "BEGIN RSA"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a secret reached the logs: %s", secret)
		}
	}
}

// TestPlanOnALocalCheckout: migratebot plan prints a step's diff from files
// on disk, with no GitHub.
func TestPlanOnALocalCheckout(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, config.SandboxYAML, 0o600); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(dir, "envs-config")
	weights := "record: search.kprod.acme.example\nttl: 60\nsources:\n  - name: legacy-elb # old\n    target: search-5678.us-east-1.elb.amazonaws.com\n    weight: 100\n  - name: k8s\n    target: search.k8s.kprod.acme.example\n    weight: 0\n"
	if err := os.MkdirAll(filepath.Join(repo, "dns/kprod"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "dns/kprod/search.yaml"), []byte(weights), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runCLI(t, "plan", "--config", cfgPath, "--service", "search", "--step", "bump:25", "--repo", repo)
	want := "--- a/dns/kprod/search.yaml\n+++ b/dns/kprod/search.yaml\n"
	for _, w := range []string{want, "-    weight: 100\n+    weight: 75\n", "-    weight: 0\n+    weight: 25\n", "  - name: legacy-elb # old\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("plan output lacks %q:\n%s", w, out)
		}
	}
	out = runCLI(t, "plan", "--config", cfgPath, "--service", "web-api", "--step", "dns-source", "--repo", repo)
	if !strings.Contains(out, "+++ b/dns/kprod/web-api.yaml") || !strings.Contains(out, "+record: web-api-cutover.kprod.acme.example") {
		t.Errorf("dns-source plan:\n%s", out)
	}
	for _, args := range [][]string{
		{"plan", "--config", cfgPath, "--service", "search", "--step", "bump:250", "--repo", repo},
		{"plan", "--config", cfgPath, "--service", "nosuch", "--step", "bump:25", "--repo", repo},
		{"plan", "--config", cfgPath, "--service", "search", "--step", "teleport", "--repo", repo},
		{"plan", "--config", cfgPath, "--service", "search"},
	} {
		var o, e bytes.Buffer
		if err := run(args, strings.NewReader(""), &o, &e); err == nil || o.Len() != 0 {
			t.Errorf("%v: err %v, printed %q", args[3:], err, o.String())
		}
	}
	if got, _ := os.ReadFile(filepath.Join(repo, "dns/kprod/search.yaml")); string(got) != weights {
		t.Error("plan changed the checkout")
	}
}
