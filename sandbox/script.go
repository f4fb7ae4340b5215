package sandbox

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The script language, as DESIGN.md gives it.
const scriptUsage = `script lines:
  as <slack-user>
  /migrate <args...>
  click <action-id>
  github review <pr> approve|request-changes by <github-user>
  github merge <pr> [by <github-user>]
  github close <pr> [by <github-user>]
  github comment <pr> <text...> by <github-user>
  github redeliver
  clock +<duration>
  metrics <service> <old|new>.<requests|error_rate|p95_ms>=<value> ... [dns=stuck|live] [alarm.<name>=ALARM|OK]
<pr> is #N (the env-config repo), owner/repo#N, or last`

func (s *Sandbox) exec(ctx context.Context, line string) error {
	words := strings.Fields(line)
	switch {
	case words[0] == "as":
		if len(words) != 2 {
			return badLine("as takes one Slack user: as <slack-user>")
		}
		if _, ok := s.userIDs[words[1]]; !ok {
			return badLine("%q is not a sandbox Slack user (alice, carol, dave, mallory)", words[1])
		}
		s.asUser = words[1]
		return nil
	case words[0] == "/migrate":
		resp, err := s.slack.SlashCommand(s.userIDs[s.asUser], sandboxChannel, "/migrate", strings.TrimSpace(strings.TrimPrefix(line, "/migrate")))
		if err != nil {
			return fmt.Errorf("slash command: %w", err)
		}
		if resp.Status != 200 {
			return badLine("the bot answered the slash command with HTTP %d: %s", resp.Status, resp.Body)
		}
		return nil
	case words[0] == "click":
		if len(words) != 2 {
			return badLine("click takes one action id: click <action-id>")
		}
		resp, err := s.slack.Click(s.userIDs[s.asUser], words[1])
		if err != nil {
			return badLine("click %s: %v", words[1], err)
		}
		if resp.Status != 200 {
			return badLine("the bot answered the click with HTTP %d: %s", resp.Status, resp.Body)
		}
		return nil
	case words[0] == "github":
		return s.github(words[1:], line)
	case words[0] == "clock":
		if len(words) != 2 || !strings.HasPrefix(words[1], "+") {
			return badLine("clock takes a duration to advance by: clock +30m")
		}
		d, err := time.ParseDuration(words[1][1:])
		if err != nil || d <= 0 {
			return badLine("%q is not a positive Go duration (30m, 2h)", words[1][1:])
		}
		s.clock.Advance(d)
		return nil
	case words[0] == "metrics":
		return s.metricsLine(words[1:])
	}
	return badLine("%q is not a sandbox line.\n%s", line, scriptUsage)
}

func (s *Sandbox) github(words []string, line string) error {
	if len(words) == 0 {
		return badLine("github what?\n%s", scriptUsage)
	}
	if words[0] == "redeliver" {
		if err := s.gh.Redeliver(); err != nil {
			return badLine("github redeliver: %v", err)
		}
		return nil
	}
	if len(words) < 2 {
		return badLine("github %s needs a PR: #N, owner/repo#N or last", words[0])
	}
	repo, number, err := s.parsePR(words[1])
	if err != nil {
		return err
	}
	rest := words[2:]
	by := func(def string) (string, error) {
		if len(rest) >= 2 && rest[len(rest)-2] == "by" {
			who := rest[len(rest)-1]
			rest = rest[:len(rest)-2]
			return who, nil
		}
		if def == "" {
			return "", badLine("github %s needs `by <github-user>`", words[0])
		}
		return def, nil
	}
	switch words[0] {
	case "merge", "close":
		who, err := by("bob")
		if err != nil {
			return err
		}
		if len(rest) != 0 {
			return badLine("github %s <pr> [by <github-user>]", words[0])
		}
		if words[0] == "merge" {
			err = s.gh.Merge(repo, number, who)
		} else {
			err = s.gh.ClosePR(repo, number, who)
		}
		if err != nil {
			return badLine("github %s %s#%d: %v", words[0], repo, number, err)
		}
		return nil
	case "review":
		who, err := by("")
		if err != nil {
			return err
		}
		if len(rest) != 1 {
			return badLine("github review <pr> approve|request-changes by <github-user>")
		}
		state := map[string]string{"approve": "APPROVED", "request-changes": "CHANGES_REQUESTED"}[rest[0]]
		if state == "" {
			return badLine("%q is not approve or request-changes", rest[0])
		}
		if err := s.gh.Review(repo, number, who, state, ""); err != nil {
			return badLine("github review %s#%d: %v", repo, number, err)
		}
		return nil
	case "comment":
		who, err := by("")
		if err != nil {
			return err
		}
		if len(rest) == 0 {
			return badLine("github comment <pr> <text...> by <github-user>")
		}
		if _, err := s.gh.Comment(repo, number, who, strings.Join(rest, " ")); err != nil {
			return badLine("github comment %s#%d: %v", repo, number, err)
		}
		return nil
	}
	return badLine("%q is not a github action (review, merge, close, comment, redeliver)", words[0])
}

// parsePR reads #N, owner/repo#N or last.
func (s *Sandbox) parsePR(ref string) (string, int, error) {
	if ref == "last" {
		s.mu.Lock()
		last := s.lastPR
		s.mu.Unlock()
		if last == "" {
			return "", 0, badLine("there is no last PR: the bot has opened none yet")
		}
		ref = last
	}
	repo, num, ok := strings.Cut(ref, "#")
	if !ok {
		return "", 0, badLine("%q is not a PR: #N, owner/repo#N or last", ref)
	}
	if repo == "" {
		repo = sandboxEnvRepo
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return "", 0, badLine("%q is not a PR number", num)
	}
	return repo, n, nil
}
