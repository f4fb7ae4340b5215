package main

import (
	"bytes"
	"encoding/json"
	"html"
	"maps"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/migratebot/migratebot"
)

// section returns what setup prints between the cut mark named name and the
// end mark.
func section(t *testing.T, out, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, setupCutMark+" "+name+"\n")
	if !ok {
		t.Fatalf("no %q section in:\n%s", name, out)
	}
	body, _, ok := strings.Cut(rest, setupEndMark+"\n")
	if !ok {
		t.Fatalf("the %q section has no end mark", name)
	}
	return body
}

var (
	formAction = regexp.MustCompile(`<form action="([^"]*)" method="post">`)
	formField  = regexp.MustCompile(`(?s)<textarea name="manifest"[^>]*>(.*?)</textarea>`)
)

// githubForm returns the form's action URL and the manifest it posts.
func githubForm(t *testing.T, out string) (*url.URL, map[string]any) {
	t.Helper()
	page := section(t, out, "migratebot-github-app.html")
	a, f := formAction.FindStringSubmatch(page), formField.FindStringSubmatch(page)
	if a == nil || f == nil {
		t.Fatalf("the page has no form posting a manifest field:\n%s", page)
	}
	action, err := url.Parse(html.UnescapeString(a[1]))
	if err != nil {
		t.Fatal(err)
	}
	var manifest map[string]any
	if err := json.Unmarshal([]byte(html.UnescapeString(f[1])), &manifest); err != nil {
		t.Fatalf("the manifest field is not JSON: %v\n%s", err, f[1])
	}
	return action, manifest
}

// appYAML is the repository's app.yaml, read as GitHub would after JSON.
func appYAML(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("../../app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, migratebot.AppManifest) {
		t.Fatal("the embedded AppManifest is not app.yaml")
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	// Through JSON, so that both sides hold the same types.
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	m = nil
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

type slackManifestView struct {
	Features struct {
		SlashCommands []map[string]any `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Interactivity     map[string]any `yaml:"interactivity"`
		SocketModeEnabled bool           `yaml:"socket_mode_enabled"`
	} `yaml:"settings"`
}

func TestSetup(t *testing.T) {
	repo := appYAML(t)
	var slackRepo slackManifestView
	if err := yaml.Unmarshal(migratebot.SlackManifest, &slackRepo); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name       string
		args       []string
		base       string // the bot's URL, as setup should write it
		newApp     string // the form's action, without its state
		conversion string
		appName    string
		socket     bool
	}{
		{
			name:       "personal account",
			args:       []string{"--url", "https://migratebot.acme.example"},
			base:       "https://migratebot.acme.example",
			newApp:     "https://github.com/settings/apps/new",
			conversion: "https://api.github.com/app-manifests/CODE/conversions",
			appName:    "migratebot",
		},
		{
			name:       "organization, URL with a path prefix and a trailing slash",
			args:       []string{"--url", "https://edge.acme.example/migratebot/", "--org", "acme"},
			base:       "https://edge.acme.example/migratebot",
			newApp:     "https://github.com/organizations/acme/settings/apps/new",
			conversion: "https://api.github.com/app-manifests/CODE/conversions",
			appName:    "migratebot",
		},
		{
			name:       "Socket Mode, GitHub Enterprise Server, another app name",
			args:       []string{"--url", "https://migratebot.acme.example", "--socket", "--github", "https://ghe.acme.example/", "--org", "platform", "--name", "migratebot-acme"},
			base:       "https://migratebot.acme.example",
			newApp:     "https://ghe.acme.example/organizations/platform/settings/apps/new",
			conversion: "https://ghe.acme.example/api/v3/app-manifests/CODE/conversions",
			appName:    "migratebot-acme",
			socket:     true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := runSetup(tc.args, &out, &errOut); err != nil {
				t.Fatalf("setup: %v\n%s", err, errOut.String())
			}
			text := out.String()
			if strings.Contains(text, "example.com") {
				t.Errorf("the output still names the manifests' example host:\n%s", text)
			}

			// The GitHub App: app.yaml with the bot's URLs, posted to the
			// owner's new-app page with a state that the instructions repeat.
			action, manifest := githubForm(t, text)
			state := action.Query().Get("state")
			if state == "" || len(state) < 16 {
				t.Errorf("state %q: want a random one", state)
			}
			page := *action
			page.RawQuery = ""
			if page.String() != tc.newApp {
				t.Errorf("the form posts to %s, want %s", page.String(), tc.newApp)
			}
			if !strings.Contains(text, tc.base+"/?code=CODE&state="+state) || !strings.Contains(text, "curl -fsS -X POST "+tc.conversion) {
				t.Errorf("the instructions lack the redirect with this state, or the conversion %s:\n%s", tc.conversion, text)
			}
			want := maps.Clone(repo)
			want["name"] = tc.appName
			want["hook_attributes"] = map[string]any{"url": tc.base + "/github/webhooks", "active": true}
			want["redirect_url"] = tc.base + "/"
			if diff := cmp.Diff(want, manifest); diff != "" {
				t.Errorf("the manifest is not app.yaml with the bot's URLs (-want +got):\n%s", diff)
			}

			// The Slack app: slack-app.yaml with the bot's URLs, or none in
			// Socket Mode.
			var slack slackManifestView
			if err := yaml.Unmarshal([]byte(section(t, text, "slack-app.yaml")), &slack); err != nil {
				t.Fatalf("the Slack manifest does not parse: %v", err)
			}
			if diff := cmp.Diff(slackRepo.OAuthConfig.Scopes.Bot, slack.OAuthConfig.Scopes.Bot); diff != "" {
				t.Errorf("scopes differ from slack-app.yaml's (-repo +printed):\n%s", diff)
			}
			if len(slack.Features.SlashCommands) != 1 || slack.Features.SlashCommands[0]["command"] != "/migrate" {
				t.Fatalf("slash commands %v, want /migrate", slack.Features.SlashCommands)
			}
			cmdURL, interURL := slack.Features.SlashCommands[0]["url"], slack.Settings.Interactivity["request_url"]
			if slack.Settings.Interactivity["is_enabled"] != true || slack.Settings.SocketModeEnabled != tc.socket {
				t.Errorf("settings %+v: want interactivity on and socket_mode_enabled %v", slack.Settings, tc.socket)
			}
			if tc.socket {
				if cmdURL != nil || interURL != nil {
					t.Errorf("Socket Mode, yet request URLs %v and %v", cmdURL, interURL)
				}
				if !strings.Contains(text, "MIGRATEBOT_SLACK_APP_TOKEN") || !strings.Contains(text, "connections:write") {
					t.Error("Socket Mode: the instructions do not say to create the app-level token")
				}
			} else if cmdURL != tc.base+"/slack/commands" || interURL != tc.base+"/slack/interactions" {
				t.Errorf("request URLs %v and %v, want them on %s", cmdURL, interURL, tc.base)
			}
		})
	}
}

// TestSetupTranscript: what setup prints, reviewed as a golden file (its
// random state replaced).
func TestSetupTranscript(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := runSetup([]string{"--url", "https://migratebot.acme.example", "--org", "acme"}, &out, &errOut); err != nil {
		t.Fatalf("setup: %v\n%s", err, errOut.String())
	}
	action, _ := githubForm(t, out.String())
	golden(t, "setup.txt", strings.ReplaceAll(out.String(), action.Query().Get("state"), "STATE"))
}

func TestSetupUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no --url", nil, "setup needs --url"},
		{"empty --url", []string{"--url", ""}, "setup needs --url"},
		{"plain http", []string{"--url", "http://migratebot.acme.example"}, "want https://HOST"},
		{"no host", []string{"--url", "https:///slack"}, "want https://HOST"},
		{"a query", []string{"--url", "https://migratebot.acme.example/?x=1"}, "with no query"},
		{"a bad org", []string{"--url", "https://migratebot.acme.example", "--org", "acme corp"}, "not a GitHub organization name"},
		{"a bad GitHub", []string{"--url", "https://migratebot.acme.example", "--github", "ghe.acme.example"}, "--github"},
		{"an argument", []string{"--url", "https://migratebot.acme.example", "acme"}, "takes no arguments"},
		{"an unknown flag", []string{"--host", "x"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runSetup(tc.args, &out, &errOut)
			if err == nil {
				t.Fatalf("setup %q: no error; printed:\n%s", tc.args, out.String())
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to say %q", err, tc.want)
			}
			if !strings.Contains(err.Error()+errOut.String(), "usage: migratebot setup --url") {
				t.Errorf("no usage with the error %q", err)
			}
			if out.Len() > 0 {
				t.Errorf("printed on stdout despite the error:\n%s", out.String())
			}
		})
	}

	var out, errOut bytes.Buffer
	if err := runSetup([]string{"-h"}, &out, &errOut); err != nil || !strings.Contains(errOut.String(), "-url") {
		t.Errorf("setup -h: %v, want the usage and the flags, got:\n%s", err, errOut.String())
	}
}
