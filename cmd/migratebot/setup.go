package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/migratebot/migratebot"
)

const setupUsage = `usage: migratebot setup --url https://HOST [--org ORG] [--socket] [--name NAME] [--github https://GHE-HOST]
  prints how to create the GitHub App and the Slack app from the repository's
  manifests (app.yaml, slack-app.yaml), with the bot's public URL in them`

// runSetup prints the GitHub App manifest flow (a form posting app.yaml as
// JSON) and the Slack app manifest, both pointing at the bot's public URL,
// with short instructions around each. It changes nothing anywhere.
func runSetup(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, setupUsage)
		fs.PrintDefaults()
	}
	rawURL := fs.String("url", "", "the bot's public base URL, e.g. https://migratebot.example.com (required)")
	org := fs.String("org", "", "create the GitHub App in this organization (default: your personal account)")
	socket := fs.Bool("socket", false, "Slack Socket Mode: Slack needs no public URL of the bot")
	name := fs.String("name", "", "the GitHub App's name, unique across GitHub (default: app.yaml's)")
	githubWeb := fs.String("github", "https://github.com", "GitHub's address; for GitHub Enterprise Server, https://HOST")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("setup takes no arguments, only flags: %q\n%s", fs.Args(), setupUsage)
	}
	if *rawURL == "" {
		return errors.New("setup needs --url, the bot's public base URL (https://HOST)\n" + setupUsage)
	}
	base, err := httpsBaseURL("--url", *rawURL)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, setupUsage)
	}
	github, err := httpsBaseURL("--github", *githubWeb)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, setupUsage)
	}
	if *org != "" && !githubOrgName.MatchString(*org) {
		return fmt.Errorf("--org %q is not a GitHub organization name\n%s", *org, setupUsage)
	}

	appJSON, err := githubAppManifest(migratebot.AppManifest, base, *name)
	if err != nil {
		return fmt.Errorf("app.yaml: %w", err)
	}
	slackYAML, err := slackAppManifest(migratebot.SlackManifest, base, *socket)
	if err != nil {
		return fmt.Errorf("slack-app.yaml: %w", err)
	}
	state := rand.Text()

	// GitHub's manifest flow: a form POSTs the manifest to the new-app page
	// of the account that will own the app; state comes back on the redirect.
	newApp := github + "/settings/apps/new"
	owner, signedIn := "your personal account", "the account that will own the app"
	if *org != "" {
		newApp = github + "/organizations/" + url.PathEscape(*org) + "/settings/apps/new"
		owner, signedIn = "the organization "+*org, "an owner of the organization "+*org
	}
	newApp += "?state=" + url.QueryEscape(state)
	api := "https://api.github.com"
	if github != "https://github.com" {
		api = github + "/api/v3" // GitHub Enterprise Server
	}
	var form bytes.Buffer
	if err := githubManifestForm.Execute(&form, map[string]any{"Action": newApp, "Owner": owner, "Manifest": string(appJSON)}); err != nil {
		return fmt.Errorf("render the manifest form: %w", err)
	}

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("migratebot setup for %s", base)
	p("")
	p("== 1. The GitHub App (webhooks: %s/github/webhooks)", base)
	p("")
	p("GitHub creates the app from app.yaml by its manifest flow, posted from a form.")
	p("Save the page between the marks as migratebot-github-app.html, open it in a")
	p("browser signed in to GitHub as %s,", signedIn)
	p("and press the button.")
	p("")
	p("%s migratebot-github-app.html", setupCutMark)
	b.WriteString(form.String())
	p("%s", setupEndMark)
	p("")
	p("GitHub then sends the browser to")
	p("  %s/?code=CODE&state=%s", base, state)
	p("The bot serves no page there, as expected. Copy CODE from the address bar")
	p("(state must be the one above), and within the hour exchange it for the app's")
	p("id and credentials:")
	p("")
	p("  curl -fsS -X POST %s/app-manifests/CODE/conversions", api)
	p("")
	p("From its JSON answer:")
	p("  id              goes in the config as github.app_id")
	p("  pem             is the private key: MIGRATEBOT_GITHUB_PRIVATE_KEY (or _FILE)")
	p("  webhook_secret  is MIGRATEBOT_GITHUB_WEBHOOK_SECRET (or _FILE)")
	p("Then install the app (its settings → Install App) on the account that owns")
	p("the env-config repos.")
	p("")
	if *socket {
		p("== 2. The Slack app (Socket Mode: Slack needs no URL of the bot)")
	} else {
		p("== 2. The Slack app (%s/slack/commands and /slack/interactions)", base)
	}
	p("")
	p("At https://api.slack.com/apps choose Create New App → From a manifest, pick")
	p("the workspace, and paste the YAML between the marks:")
	p("")
	p("%s slack-app.yaml", setupCutMark)
	b.Write(slackYAML)
	p("%s", setupEndMark)
	p("")
	p("Then:")
	p("  1. Install the app to the workspace. Give the bot its Bot User OAuth Token")
	p("     (xoxb-…) as MIGRATEBOT_SLACK_BOT_TOKEN, and the Signing Secret (Basic")
	p("     Information) as MIGRATEBOT_SLACK_SIGNING_SECRET.")
	step := 2
	if *socket {
		p("  2. In Basic Information → App-Level Tokens, generate a token with the")
		p("     connections:write scope. Give it to the bot as MIGRATEBOT_SLACK_APP_TOKEN,")
		p("     and set slack.mode: socket in the config.")
		step++
	}
	p("  %d. Invite the bot to the channel where migrations run.", step)
	_, err = io.WriteString(stdout, b.String())
	return err
}

// The marks around what is to be saved or pasted, so that a person (and a
// test) finds exactly that.
const (
	setupCutMark = "-----8<-----"
	setupEndMark = "-----8<----- end"
)

// githubOrgName is GitHub's rule for organization names.
var githubOrgName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)

// httpsBaseURL checks an https base URL and returns it without a trailing
// slash. A path is kept: the bot may be served under a prefix.
func httpsBaseURL(flagName, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", flagName, raw, err)
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%s %q: want https://HOST[/PATH], with no query: Slack and GitHub call the bot there", flagName, raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// rebaseURL moves a manifest's example URL onto base, keeping its path: the
// paths are the bot's routes, and the manifests are their truth.
func rebaseURL(example, base string) (string, error) {
	u, err := url.Parse(example)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q is not a URL", example)
	}
	return base + u.EscapedPath(), nil
}

// githubAppManifest turns app.yaml into the JSON GitHub's manifest flow
// takes, in app.yaml's order, with the webhook and redirect URLs on base.
// url (the app's homepage) stays the project's page.
func githubAppManifest(appYAML []byte, base, name string) ([]byte, error) {
	root, err := yamlTop(appYAML)
	if err != nil {
		return nil, err
	}
	for _, path := range [][]string{{"hook_attributes", "url"}, {"redirect_url"}} {
		v := yamlLookup(root, path...)
		if v == nil {
			return nil, fmt.Errorf("no %s", strings.Join(path, "."))
		}
		u, err := rebaseURL(v.Value, base)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", strings.Join(path, "."), err)
		}
		v.Value = u
	}
	if name != "" {
		v := yamlLookup(root, "name")
		if v == nil {
			return nil, errors.New("no name")
		}
		v.Value = name
	}
	var compact bytes.Buffer
	if err := yamlToJSON(&compact, root); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// yamlToJSON writes a YAML node as JSON, keeping the order of mapping keys.
func yamlToJSON(w *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		w.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				w.WriteByte(',')
			}
			key, err := json.Marshal(n.Content[i].Value)
			if err != nil {
				return err
			}
			w.Write(key)
			w.WriteByte(':')
			if err := yamlToJSON(w, n.Content[i+1]); err != nil {
				return err
			}
		}
		w.WriteByte('}')
	case yaml.SequenceNode:
		w.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := yamlToJSON(w, c); err != nil {
				return err
			}
		}
		w.WriteByte(']')
	case yaml.ScalarNode:
		var v any // the scalar's YAML type: string, bool, number or null
		if err := n.Decode(&v); err != nil {
			return err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		w.Write(b)
	default:
		return fmt.Errorf("line %d: aliases and anchors are not supported", n.Line)
	}
	return nil
}

// yamlTop parses one YAML document and returns its top node.
func yamlTop(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("not one YAML document")
	}
	return doc.Content[0], nil
}

// slackAppManifest returns slack-app.yaml with its request URLs on base, or,
// for Socket Mode, without them and with socket_mode_enabled. Comments are
// dropped: they explain the repository's file, not what is pasted.
func slackAppManifest(slackYAML []byte, base string, socket bool) ([]byte, error) {
	root, err := yamlTop(slackYAML)
	if err != nil {
		return nil, err
	}
	yamlDropComments(root)

	// Where Slack calls the bot: each slash command's url, and interactivity's
	// request_url.
	type requestURL struct {
		where string
		in    *yaml.Node // the mapping holding it
		key   string
	}
	var found []requestURL
	cmds := yamlLookup(root, "features", "slash_commands")
	if cmds == nil || cmds.Kind != yaml.SequenceNode || len(cmds.Content) == 0 {
		return nil, errors.New("no features.slash_commands")
	}
	for _, c := range cmds.Content {
		found = append(found, requestURL{"features.slash_commands", c, "url"})
	}
	found = append(found, requestURL{"settings.interactivity", yamlLookup(root, "settings", "interactivity"), "request_url"})
	for _, r := range found {
		v := yamlLookup(r.in, r.key)
		if v == nil {
			return nil, fmt.Errorf("no %s.%s", r.where, r.key)
		}
		if socket {
			yamlRemove(r.in, r.key)
			continue
		}
		u, err := rebaseURL(v.Value, base)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", r.where, r.key, err)
		}
		v.Value = u
	}
	sm := yamlLookup(root, "settings", "socket_mode_enabled")
	if sm == nil {
		return nil, errors.New("no settings.socket_mode_enabled")
	}
	sm.Value = fmt.Sprint(socket)

	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// yamlLookup follows mapping keys from n, returning the value node or nil.
func yamlLookup(n *yaml.Node, path ...string) *yaml.Node {
	for _, key := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}

// yamlRemove deletes a key and its value from a mapping node.
func yamlRemove(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// yamlDropComments removes every comment from n and below.
func yamlDropComments(n *yaml.Node) {
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for _, c := range n.Content {
		yamlDropComments(c)
	}
}

// githubManifestForm posts the manifest to GitHub. The manifest is shown in
// a text area, so it can be read (and edited) before it is sent.
var githubManifestForm = template.Must(template.New("form").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Create the migratebot GitHub App</title></head>
<body>
<h1>Create the migratebot GitHub App</h1>
<p>For {{.Owner}}, from migratebot's app.yaml. The button sends this manifest to GitHub.</p>
<form action="{{.Action}}" method="post">
<textarea name="manifest" rows="40" cols="100">{{.Manifest}}</textarea>
<p><button type="submit">Create the GitHub App</button></p>
</form>
</body>
</html>
`))
