package slackemu

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

const testAppToken = "xapp-1-A0MIGRATEBOT-1234-emu"

func newSocketFixture(t *testing.T, edit func(*Options)) *fixture {
	t.Helper()
	return newFixtureWith(t, func(o *Options) {
		o.AppToken = testAppToken
		o.SocketMode = true
		if edit != nil {
			edit(o)
		}
	})
}

// socketBot is a bot on slack-go's own Socket Mode client. Set its handlers
// before start.
type socketBot struct {
	// onCmd returns the ack's payload (nil: an ack without one).
	onCmd func(slack.SlashCommand) any
	// onAct returns whether to ack.
	onAct func(slack.InteractionCallback) bool

	mu       sync.Mutex
	hellos   int
	requests []socketmode.Request
}

// start runs the bot until the test ends.
func (b *socketBot) start(t *testing.T, f *fixture, appToken string) {
	t.Helper()
	client := socketmode.New(slack.New("", slack.OptionAppLevelToken(appToken), slack.OptionAPIURL(f.emu.APIURL())))
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- client.RunContext(ctx) }()
	var loop sync.WaitGroup
	loop.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-client.Events:
				b.handle(ctx, client, evt)
			}
		}
	})
	t.Cleanup(func() {
		cancel()
		loop.Wait()
		if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("socket mode client: %v", err)
		}
	})
}

func (b *socketBot) handle(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	b.mu.Lock()
	if evt.Type == socketmode.EventTypeHello {
		b.hellos++
	}
	if evt.Request != nil && evt.Request.EnvelopeID != "" {
		b.requests = append(b.requests, *evt.Request)
	}
	b.mu.Unlock()
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		if p := b.onCmd(evt.Data.(slack.SlashCommand)); p != nil {
			_ = client.AckCtx(ctx, evt.Request.EnvelopeID, p)
		} else {
			_ = client.AckCtx(ctx, evt.Request.EnvelopeID, nil)
		}
	case socketmode.EventTypeInteractive:
		if b.onAct(evt.Data.(slack.InteractionCallback)) {
			_ = client.AckCtx(ctx, evt.Request.EnvelopeID, nil)
		}
	}
}

func (b *socketBot) lastRequest() socketmode.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.requests) == 0 {
		return socketmode.Request{}
	}
	return b.requests[len(b.requests)-1]
}

var envelopeIDShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestAppsConnectionsOpen(t *testing.T) {
	f := newSocketFixture(t, nil)
	for _, tc := range []struct {
		name, token, want string
	}{
		{"no token", "", "not_authed"},
		{"bot token", testToken, "not_allowed_token_type"},
		{"wrong app token", "xapp-1-wrong", "invalid_auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := slack.New("", slack.OptionAppLevelToken(tc.token), slack.OptionAPIURL(f.emu.APIURL())).StartSocketModeContext(context.Background())
			if got := slackErr(err); got != tc.want {
				t.Errorf("apps.connections.open with %q = %q, want %q", tc.token, got, tc.want)
			}
		})
	}
	// The app token is for apps.connections.open only.
	if _, _, err := slack.New(testAppToken, slack.OptionAPIURL(f.emu.APIURL())).PostMessage("C0MIGRATE", slack.MsgOptionText("hi", false)); slackErr(err) != "not_allowed_token_type" {
		t.Errorf("chat.postMessage with the app token: %v", err)
	}

	_, url, err := slack.New("", slack.OptionAppLevelToken(testAppToken), slack.OptionAPIURL(f.emu.APIURL())).StartSocketModeContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "ws://127.0.0.1:") || !strings.Contains(url, "/link/?ticket=") {
		t.Errorf("url = %q", url)
	}
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var hello socketmode.Request
	if err := ws.ReadJSON(&hello); err != nil {
		t.Fatal(err)
	}
	if hello.Type != "hello" || hello.NumConnections != 1 || hello.ConnectionInfo.AppID != "A0MIGRATEBOT" {
		t.Errorf("hello = %+v", hello)
	}
	if err := f.emu.WaitSocketConnections(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	// A ticket opens one connection.
	if _, resp, err := websocket.DefaultDialer.Dial(url, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("second dial with the same ticket: %v", err)
	}
	if got := f.emu.Calls()["apps.connections.open"]; got != 4 {
		t.Errorf("apps.connections.open calls = %d, want 4", got)
	}
}

func TestSocketSlashCommand(t *testing.T) {
	f := newSocketFixture(t, nil)
	var got slack.SlashCommand
	b := &socketBot{onCmd: func(cmd slack.SlashCommand) any {
		got = cmd
		return slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: "Working on it"}
	}}
	b.start(t, f, testAppToken)

	resp, err := f.emu.SlashCommand("U0ALICE", "C0MIGRATE", "/migrate", "plan db1")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Response = %d %v", resp.Status, resp.Header)
	}
	var ack slack.Msg
	if err := json.Unmarshal(resp.Body, &ack); err != nil || ack.Text != "Working on it" {
		t.Errorf("Response body %s: %v", resp.Body, err)
	}
	// The same fields as over HTTP.
	want := slack.SlashCommand{
		Token:       "emu-verification-token",
		TeamID:      "T0ACME",
		TeamDomain:  "acme",
		ChannelID:   "C0MIGRATE",
		ChannelName: "migrations",
		UserID:      "U0ALICE",
		UserName:    "alice",
		Command:     "/migrate",
		Text:        "plan db1",
		APIAppID:    "A0MIGRATEBOT",
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(slack.SlashCommand{}, "ResponseURL", "TriggerID")); diff != "" {
		t.Errorf("slash command (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got.ResponseURL, strings.TrimSuffix(f.emu.APIURL(), "/")+"/commands/T0ACME/") || got.TriggerID == "" {
		t.Errorf("response_url %q, trigger_id %q", got.ResponseURL, got.TriggerID)
	}
	req := b.lastRequest()
	if req.Type != "slash_commands" || !req.AcceptsResponsePayload || !envelopeIDShape.MatchString(req.EnvelopeID) {
		t.Errorf("envelope = type %q accepts_response_payload %v id %q", req.Type, req.AcceptsResponsePayload, req.EnvelopeID)
	}
	wantMsgs := []Message{{Channel: "C0MIGRATE", User: "U0BOT", Ephemeral: true, ToUser: "U0ALICE", Text: "Working on it"}}
	if diff := cmp.Diff(wantMsgs, f.emu.Messages(), cmpopts.IgnoreFields(Message{}, "TS")); diff != "" {
		t.Errorf("Messages (-want +got):\n%s", diff)
	}

	// The response_url works as it does for an HTTP command.
	if _, _, err := f.api.PostMessage("", slack.MsgOptionResponseURL(got.ResponseURL, slack.ResponseTypeInChannel), slack.MsgOptionText("Plan ready", false)); err != nil {
		t.Fatal(err)
	}
	if msgs := f.emu.Messages(); len(msgs) != 2 || msgs[1].Text != "Plan ready" || msgs[1].Ephemeral {
		t.Errorf("after response_url: %+v", msgs)
	}
}

func TestSocketEmptyAck(t *testing.T) {
	f := newSocketFixture(t, nil)
	b := &socketBot{onCmd: func(slack.SlashCommand) any { return nil }}
	b.start(t, f, testAppToken)
	resp, err := f.emu.SlashCommand("U0ALICE", "C0MIGRATE", "/migrate", "next")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK || len(resp.Body) != 0 {
		t.Errorf("Response = %d %q", resp.Status, resp.Body)
	}
	if msgs := f.emu.Messages(); len(msgs) != 0 {
		t.Errorf("an empty ack showed %+v", msgs)
	}
}

func TestSocketClick(t *testing.T) {
	f := newSocketFixture(t, nil)
	var got slack.InteractionCallback
	b := &socketBot{onAct: func(cb slack.InteractionCallback) bool { got = cb; return true }}
	b.start(t, f, testAppToken)
	_, ts, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("plan", false), slack.MsgOptionBlocks(approveBlocks...))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.emu.Click("U0BOB", "approve")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK || len(resp.Body) != 0 {
		t.Errorf("Response = %d %q", resp.Status, resp.Body)
	}
	if got.Type != slack.InteractionTypeBlockActions || got.User.ID != "U0BOB" || got.Team.ID != "T0ACME" || got.Channel.ID != "C0MIGRATE" ||
		got.Container.MessageTs != ts || got.Message.Text != "plan" || got.ResponseURL == "" {
		t.Errorf("callback = type %q user %q team %q channel %q container %+v message %q response_url %q",
			got.Type, got.User.ID, got.Team.ID, got.Channel.ID, got.Container, got.Message.Text, got.ResponseURL)
	}
	if len(got.ActionCallback.BlockActions) != 1 || got.ActionCallback.BlockActions[0].ActionID != "approve" || got.ActionCallback.BlockActions[0].Value != "run-42" {
		t.Errorf("actions = %+v", got.ActionCallback.BlockActions)
	}
	if req := b.lastRequest(); req.Type != "interactive" || req.AcceptsResponsePayload {
		t.Errorf("envelope = type %q accepts_response_payload %v", req.Type, req.AcceptsResponsePayload)
	}
	// The bot answers through response_url, as over HTTP.
	if _, _, err := f.api.PostMessage("", slack.MsgOptionReplaceOriginal(got.ResponseURL), slack.MsgOptionText("Approved", false)); err != nil {
		t.Fatal(err)
	}
	if msgs := f.emu.Messages(); len(msgs) != 1 || msgs[0].Text != "Approved" {
		t.Errorf("after replace_original: %+v", msgs)
	}
}

func TestSocketNoAck(t *testing.T) {
	f := newSocketFixture(t, func(o *Options) { o.BotTimeout = 200 * time.Millisecond })
	b := &socketBot{onAct: func(slack.InteractionCallback) bool { return false }}
	b.start(t, f, testAppToken)
	if _, _, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("plan", false), slack.MsgOptionBlocks(approveBlocks...)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.emu.Click("U0ALICE", "approve"); err == nil || !strings.Contains(err.Error(), "did not ack") {
		t.Errorf("Click without an ack: %v", err)
	}
}

func TestSocketNoConnection(t *testing.T) {
	f := newSocketFixture(t, func(o *Options) { o.BotTimeout = 100 * time.Millisecond })
	if _, err := f.emu.SlashCommand("U0ALICE", "C0MIGRATE", "/migrate", "help"); err == nil || !strings.Contains(err.Error(), "no Socket Mode connection") {
		t.Errorf("SlashCommand with no connection: %v", err)
	}
	// A wrong app token never connects.
	client := socketmode.New(slack.New("", slack.OptionAppLevelToken("xapp-wrong"), slack.OptionAPIURL(f.emu.APIURL())))
	runErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { runErr <- client.RunContext(ctx) }()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-client.Events:
			}
		}
	}()
	select {
	case err := <-runErr:
		if err == nil || err.Error() != "invalid_auth" {
			t.Errorf("RunContext = %v, want invalid_auth", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client kept trying a wrong app token")
	}
}

func TestSocketDisconnect(t *testing.T) {
	f := newSocketFixture(t, nil)
	b := &socketBot{onCmd: func(cmd slack.SlashCommand) any { return slack.Msg{Text: "got " + cmd.Text} }}
	b.start(t, f, testAppToken)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.emu.WaitSocketConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := f.emu.DisconnectSockets("refresh_requested"); n != 1 {
		t.Errorf("DisconnectSockets asked %d connections", n)
	}
	// slack-go opens a new connection; the command goes there.
	resp, err := f.emu.SlashCommand("U0ALICE", "C0MIGRATE", "/migrate", "status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(resp.Body), "got status") {
		t.Errorf("Response body = %s", resp.Body)
	}
	if err := f.emu.WaitSocketConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got := f.emu.Calls()["apps.connections.open"]; got != 2 {
		t.Errorf("apps.connections.open calls = %d, want 2", got)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.hellos != 2 {
		t.Errorf("hellos = %d, want 2", b.hellos)
	}
}

func TestSocketClosedByClose(t *testing.T) {
	f := newSocketFixture(t, nil)
	b := &socketBot{}
	b.start(t, f, testAppToken)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.emu.WaitSocketConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.emu.Close() // returns only once the connection's handler is done
	if n := f.emu.SocketConnections(); n != 0 {
		t.Errorf("%d connections open after Close", n)
	}
}
