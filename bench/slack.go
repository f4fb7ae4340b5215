package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The sandbox's Slack workspace: alice is an engineer in kprod, and
// #migrations is where migrations run.
const (
	slackTeam    = "T0ACME"
	slackChannel = "C0MIGRATE"
	slackAlice   = "U0ALICE"
)

// signedCommand is one slash command, form-encoded and signed.
type signedCommand struct {
	body      []byte
	timestamp string
	signature string
}

// SlashCommands builds n distinct signed `/migrate text` commands by alice
// in #migrations, with every field Slack sends, signed now with secret as
// Slack signs them (v0, HMAC-SHA256 of "v0:<ts>:<body>"). Slack accepts a
// signature for five minutes, so build them just before a run.
func SlashCommands(secret, text string, n int) []signedCommand {
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	out := make([]signedCommand, n)
	for i := range out {
		form := url.Values{
			"token":                 {"sandbox-verification-token"},
			"team_id":               {slackTeam},
			"team_domain":           {"acme"},
			"channel_id":            {slackChannel},
			"channel_name":          {"migrations"},
			"user_id":               {slackAlice},
			"user_name":             {"alice"},
			"command":               {"/migrate"},
			"text":                  {text},
			"api_app_id":            {"A0MIGRATEBOT"},
			"is_enterprise_install": {"false"},
			"response_url":          {fmt.Sprintf("https://hooks.slack.com/commands/%s/%d/%016x", slackTeam, i, now.UnixNano()+int64(i))},
			"trigger_id":            {fmt.Sprintf("%d.%d.%016x", now.Unix(), i, now.UnixNano()+int64(i))},
		}
		body := []byte(form.Encode())
		mac := hmac.New(sha256.New, []byte(secret))
		fmt.Fprintf(mac, "v0:%s:", ts)
		mac.Write(body)
		out[i] = signedCommand{body: body, timestamp: ts, signature: "v0=" + hex.EncodeToString(mac.Sum(nil))}
	}
	return out
}

// request is the command as Slack POSTs it to target.
func (c signedCommand) request(ctx context.Context, target string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(c.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	req.Header.Set("X-Slack-Request-Timestamp", c.timestamp)
	req.Header.Set("X-Slack-Signature", c.signature)
	return req, nil
}

// CommandSender sends cmds (round robin) to target and expects what the bot
// answers a queued command: an empty 200. emptyOnly false accepts any 200
// (the floor's answer).
func CommandSender(client *http.Client, target string, cmds []signedCommand, emptyOnly bool) Send {
	return func(ctx context.Context, i int) error {
		req, err := cmds[i%len(cmds)].request(ctx, target)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		n, err := drainClose(resp)
		switch {
		case err != nil:
			return err
		case resp.StatusCode != http.StatusOK:
			return fmt.Errorf("answered %d", resp.StatusCode)
		case emptyOnly && n != 0:
			return fmt.Errorf("answered 200 with a %d-byte body, not the empty 200 of a queued command", n)
		}
		return nil
	}
}
