package slackemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/slack-go/slack"
)

const (
	testSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	testToken  = "xoxb-1234-5678-emu"
)

type fixture struct {
	emu    *Server
	api    *slack.Client
	mu     sync.Mutex
	events []Event
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, nil)
}

// newFixtureWith is newFixture with edit applied to the Options.
func newFixtureWith(t *testing.T, edit func(*Options)) *fixture {
	t.Helper()
	f := &fixture{}
	opts := Options{
		SigningSecret: testSecret,
		BotToken:      testToken,
		TeamID:        "T0ACME",
		TeamDomain:    "acme",
		OnEvent: func(e Event) {
			// OnEvent may inspect the emulator; the change is already visible.
			if msgs := f.emu.Messages(); !slices.ContainsFunc(msgs, func(m Message) bool { return m.TS == e.Message.TS }) {
				t.Errorf("event for %s before Messages shows it", e.Message.TS)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			f.events = append(f.events, e)
		},
	}
	if edit != nil {
		edit(&opts)
	}
	f.emu = New(opts)
	t.Cleanup(f.emu.Close)
	f.emu.AddUser("U0ALICE", "alice")
	f.emu.AddUser("U0BOB", "bob")
	f.emu.AddChannel("C0MIGRATE", "migrations")
	f.api = slack.New(testToken, slack.OptionAPIURL(f.emu.APIURL()))
	return f
}

func (f *fixture) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		out = append(out, e.Kind+" "+e.Action+" "+e.Message.TS)
	}
	return out
}

// slackErr returns the Slack error code of err, or err's text.
func slackErr(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

var approveBlocks = []slack.Block{
	slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Migrate *db*?", false, false), nil, nil),
	slack.NewActionBlock("decide",
		slack.NewButtonBlockElement("approve", "run-42", slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false)),
		slack.NewButtonBlockElement("reject", "run-42", slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false)),
	),
}

func TestPostInChannelAndThread(t *testing.T) {
	f := newFixture(t)
	ch, ts, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("hello", false))
	if err != nil {
		t.Fatal(err)
	}
	if ch != "C0MIGRATE" || ts != "1700000000.000100" {
		t.Errorf("PostMessage = %q, %q", ch, ts)
	}
	_, replyTS, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("in thread", false), slack.MsgOptionTS(ts), slack.MsgOptionBroadcast())
	if err != nil {
		t.Fatal(err)
	}
	if replyTS <= ts {
		t.Errorf("reply ts %q not after %q", replyTS, ts)
	}
	// By name, as Slack allows.
	if ch, _, err := f.api.PostMessage("#migrations", slack.MsgOptionText("by name", false)); err != nil || ch != "C0MIGRATE" {
		t.Errorf("PostMessage(#migrations) = %q, %v", ch, err)
	}

	want := []Message{
		{Channel: "C0MIGRATE", TS: ts, User: "U0BOT", Text: "hello"},
		{Channel: "C0MIGRATE", TS: replyTS, ThreadTS: ts, User: "U0BOT", Text: "in thread", ReplyBroadcast: true},
		{Channel: "C0MIGRATE", TS: "1700000000.000300", User: "U0BOT", Text: "by name"},
	}
	if diff := cmp.Diff(want, f.emu.Messages()); diff != "" {
		t.Errorf("Messages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{
		"slack.message posted 1700000000.000100",
		"slack.message posted 1700000000.000200",
		"slack.message posted 1700000000.000300",
	}, f.actions()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if got := f.emu.Calls()["chat.postMessage"]; got != 3 {
		t.Errorf("Calls[chat.postMessage] = %d, want 3", got)
	}
}

func TestUpdateInPlace(t *testing.T) {
	f := newFixture(t)
	_, ts, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("pending", false), slack.MsgOptionBlocks(approveBlocks...))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := f.api.UpdateMessage("C0MIGRATE", ts, slack.MsgOptionText("running", false)); err != nil {
		t.Fatal(err)
	}
	msgs := f.emu.Messages()
	if len(msgs) != 1 || msgs[0].Text != "running" || msgs[0].Updates != 1 || msgs[0].TS != ts {
		t.Fatalf("after update: %+v", msgs)
	}
	if msgs[0].Blocks == nil {
		t.Error("update without blocks dropped the blocks; Slack keeps them")
	}
	// An empty block list clears them.
	if _, _, _, err := f.api.UpdateMessage("C0MIGRATE", ts, slack.MsgOptionText("done", false), slack.MsgOptionBlocks()); err != nil {
		t.Fatal(err)
	}
	msgs = f.emu.Messages()
	if len(msgs) != 1 || msgs[0].Text != "done" || msgs[0].Updates != 2 || msgs[0].Blocks != nil {
		t.Fatalf("after second update: %+v", msgs)
	}
	if diff := cmp.Diff([]string{
		"slack.message posted " + ts,
		"slack.message updated " + ts,
		"slack.message updated " + ts,
	}, f.actions()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestBlocksKeptAsSent(t *testing.T) {
	f := newFixture(t)
	if _, _, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(approveBlocks...)); err != nil {
		t.Fatal(err)
	}
	sent, err := json.Marshal(approveBlocks)
	if err != nil {
		t.Fatal(err)
	}
	got := f.emu.Messages()[0].Blocks
	if !bytes.Equal(got, sent) {
		t.Errorf("Blocks = %s\nwant %s", got, sent)
	}
}

func TestEphemeral(t *testing.T) {
	f := newFixture(t)
	ts, err := f.api.PostEphemeral("C0MIGRATE", "U0ALICE", slack.MsgOptionText("only you", false))
	if err != nil {
		t.Fatal(err)
	}
	want := []Message{{Channel: "C0MIGRATE", TS: ts, User: "U0BOT", Ephemeral: true, ToUser: "U0ALICE", Text: "only you"}}
	if diff := cmp.Diff(want, f.emu.Messages()); diff != "" {
		t.Errorf("Messages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"slack.message posted " + ts}, f.actions()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// Ephemeral messages cannot be updated.
	if _, _, _, err := f.api.UpdateMessage("C0MIGRATE", ts, slack.MsgOptionText("x", false)); slackErr(err) != "message_not_found" {
		t.Errorf("updating an ephemeral message: %v", err)
	}
}

func TestPermalink(t *testing.T) {
	f := newFixture(t)
	_, parent, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("parent", false))
	if err != nil {
		t.Fatal(err)
	}
	_, reply, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("reply", false), slack.MsgOptionTS(parent))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, channel, ts, want, wantErr string
	}{
		{"top level", "C0MIGRATE", parent, "https://acme.slack.com/archives/C0MIGRATE/p1700000000000100", ""},
		{"reply", "C0MIGRATE", reply, "https://acme.slack.com/archives/C0MIGRATE/p1700000000000200?cid=C0MIGRATE&thread_ts=1700000000.000100", ""},
		{"unknown ts", "C0MIGRATE", "1.2", "", "message_not_found"},
		{"unknown channel", "C0NOPE", parent, "", "channel_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.api.GetPermalink(&slack.PermalinkParameters{Channel: tc.channel, Ts: tc.ts})
			if slackErr(err) != tc.wantErr || got != tc.want {
				t.Errorf("GetPermalink = %q, %v; want %q, %q", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestWebAPIErrors(t *testing.T) {
	f := newFixture(t)
	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(f.emu.APIURL()))
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"postMessage bad token", func() error {
			_, _, err := bad.PostMessage("C0MIGRATE", slack.MsgOptionText("x", false))
			return err
		}, "invalid_auth"},
		{"auth.test bad token", func() error { _, err := bad.AuthTest(); return err }, "invalid_auth"},
		{"users.info bad token", func() error { _, err := bad.GetUserInfo("U0ALICE"); return err }, "invalid_auth"},
		{"slacktest's reactions.add, bad token", func() error {
			return bad.AddReaction("tada", slack.NewRefToMessage("C0MIGRATE", "1700000000.000100"))
		}, "invalid_auth"},
		{"unknown channel", func() error {
			_, _, err := f.api.PostMessage("C0NOPE", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"no text", func() error { _, _, err := f.api.PostMessage("C0MIGRATE"); return err }, "no_text"},
		{"update unknown", func() error {
			_, _, _, err := f.api.UpdateMessage("C0MIGRATE", "1.000001", slack.MsgOptionText("x", false))
			return err
		}, "message_not_found"},
		{"ephemeral to stranger", func() error {
			_, err := f.api.PostEphemeral("C0MIGRATE", "U0NOBODY", slack.MsgOptionText("x", false))
			return err
		}, "user_not_in_channel"},
		{"unknown user", func() error { _, err := f.api.GetUserInfo("U0NOBODY"); return err }, "user_not_found"},
		{"unknown conversation", func() error {
			_, err := f.api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "C0NOPE"})
			return err
		}, "channel_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := slackErr(tc.call()); got != tc.want {
				t.Errorf("error = %q, want %q", got, tc.want)
			}
		})
	}
	if msgs := f.emu.Messages(); len(msgs) != 0 {
		t.Errorf("failed calls recorded messages: %+v", msgs)
	}
}

func TestNotAuthedAndUnknownMethod(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, method, auth, want string
	}{
		{"no token", "auth.test", "", `{"error":"not_authed","ok":false}`},
		{"unknown method", "no.such.method", "Bearer " + testToken, `{"error":"unknown_method","ok":false}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, f.emu.APIURL()+tc.method, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(body) != tc.want {
				t.Errorf("%s = %d %s, want 200 %s", tc.method, resp.StatusCode, body, tc.want)
			}
		})
	}
}

func TestJSONBody(t *testing.T) {
	f := newFixture(t)
	body := `{"channel":"C0MIGRATE","text":"from json","blocks":[{"type":"divider"}]}`
	req, err := http.NewRequest(http.MethodPost, f.emu.APIURL()+"chat.postMessage", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		OK bool   `json:"ok"`
		TS string `json:"ts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || !got.OK {
		t.Fatalf("chat.postMessage with JSON: %+v, %v", got, err)
	}
	msgs := f.emu.Messages()
	if len(msgs) != 1 || msgs[0].Text != "from json" || string(msgs[0].Blocks) != `[{"type":"divider"}]` {
		t.Errorf("Messages = %+v", msgs)
	}
}

func TestFailNext(t *testing.T) {
	f := newFixture(t)
	f.emu.FailNext("chat.postMessage", http.StatusTooManyRequests, 2, http.Header{"Retry-After": {"7"}})
	f.emu.FailNext("chat.postMessage", http.StatusInternalServerError, 1, nil)
	f.emu.FailNextError("chat.postMessage", "msg_too_long", 1)
	post := func() error {
		_, _, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("hi", false))
		return err
	}
	for i := range 2 {
		var rl *slack.RateLimitedError
		if err := post(); !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
			t.Fatalf("call %d: err = %v, want RateLimitedError 7s", i, err)
		}
	}
	var sce slack.StatusCodeError
	if err := post(); !errors.As(err, &sce) || sce.Code != http.StatusInternalServerError {
		t.Fatalf("third call: err = %v, want StatusCodeError 500", err)
	}
	if err := post(); slackErr(err) != "msg_too_long" {
		t.Fatalf("fourth call: err = %v, want msg_too_long", err)
	}
	if err := post(); err != nil {
		t.Fatalf("fifth call: %v", err)
	}
	// The default Retry-After.
	f.emu.FailNext("auth.test", http.StatusTooManyRequests, 1, nil)
	var rl *slack.RateLimitedError
	if _, err := f.api.AuthTest(); !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Errorf("auth.test: err = %v, want RateLimitedError 1s", err)
	}
	if len(f.emu.Messages()) != 1 {
		t.Errorf("Messages = %+v, want one", f.emu.Messages())
	}
	if diff := cmp.Diff(map[string]int{"chat.postMessage": 5, "auth.test": 1}, f.emu.Calls()); diff != "" {
		t.Errorf("Calls (-want +got):\n%s", diff)
	}
}

func TestInfoMethods(t *testing.T) {
	f := newFixture(t)
	auth, err := f.api.AuthTest()
	if err != nil {
		t.Fatal(err)
	}
	if auth.TeamID != "T0ACME" || auth.UserID != "U0BOT" || auth.BotID != "B0BOT" || auth.URL != "https://acme.slack.com/" {
		t.Errorf("AuthTest = %+v", auth)
	}
	u, err := f.api.GetUserInfo("U0ALICE")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "U0ALICE" || u.Name != "alice" || u.TeamID != "T0ACME" || u.IsBot {
		t.Errorf("GetUserInfo = %+v", u)
	}
	c, err := f.api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "C0MIGRATE"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "C0MIGRATE" || c.Name != "migrations" || !c.IsChannel {
		t.Errorf("GetConversationInfo = %+v", c)
	}
	if id, ok := f.emu.UserID("bob"); !ok || id != "U0BOB" {
		t.Errorf("UserID(bob) = %q, %v", id, ok)
	}
	if _, ok := f.emu.UserID("nobody"); ok {
		t.Error("UserID(nobody) found")
	}
}

func TestUserGroupMembers(t *testing.T) {
	f := newFixture(t)
	f.emu.AddUserGroup("S0APPROVERS", "@change-approvers", "U0ALICE", "U0BOB")
	f.emu.AddUserGroup("S0EMPTY", "nobody-yet")
	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(f.emu.APIURL()))
	for _, tc := range []struct {
		name    string
		api     *slack.Client
		group   string
		want    []string
		wantErr string
	}{
		{name: "members", api: f.api, group: "S0APPROVERS", want: []string{"U0ALICE", "U0BOB"}},
		{name: "empty group", api: f.api, group: "S0EMPTY", want: []string{}},
		{name: "unknown group", api: f.api, group: "S0NOPE", want: []string{}, wantErr: "no_such_subteam"},
		{name: "no group", api: f.api, group: "", want: []string{}, wantErr: "invalid_arguments"},
		{name: "bad token", api: bad, group: "S0APPROVERS", want: []string{}, wantErr: "invalid_auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.api.GetUserGroupMembersContext(context.Background(), tc.group)
			if slackErr(err) != tc.wantErr {
				t.Errorf("error = %q, want %q", slackErr(err), tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
		})
	}
	// Replacing a group replaces its members.
	f.emu.AddUserGroup("S0APPROVERS", "change-approvers", "U0BOB")
	if got, err := f.api.GetUserGroupMembers("S0APPROVERS"); err != nil || !cmp.Equal(got, []string{"U0BOB"}) {
		t.Errorf("after replacing: %v, %v", got, err)
	}
	if n := f.emu.Calls()["usergroups.users.list"]; n != 6 {
		t.Errorf("usergroups.users.list calls = %d, want 6", n)
	}
}

// bot is a receiver standing in for migratebot's HTTP endpoints: it checks
// signatures like the bot must and hands each request to a handler.
type bot struct {
	srv    *httptest.Server
	mu     sync.Mutex
	errs   []error
	onCmd  func(w http.ResponseWriter, cmd slack.SlashCommand)
	onAct  func(w http.ResponseWriter, cb slack.InteractionCallback)
	nCalls int
}

func newBot(t *testing.T, f *fixture) *bot {
	b := &bot{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/commands", func(w http.ResponseWriter, r *http.Request) {
		if !b.verify(w, r) {
			return
		}
		cmd, err := slack.SlashCommandParse(r)
		if err != nil {
			b.fail(w, err)
			return
		}
		b.onCmd(w, cmd)
	})
	mux.HandleFunc("POST /slack/interactions", func(w http.ResponseWriter, r *http.Request) {
		if !b.verify(w, r) {
			return
		}
		if err := r.ParseForm(); err != nil {
			b.fail(w, err)
			return
		}
		var cb slack.InteractionCallback
		if err := json.Unmarshal([]byte(r.PostForm.Get("payload")), &cb); err != nil {
			b.fail(w, err)
			return
		}
		b.onAct(w, cb)
	})
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, err := range b.errs {
			t.Errorf("bot: %v", err)
		}
	})
	f.emu.SetBotURLs(b.srv.URL+"/slack/commands", b.srv.URL+"/slack/interactions")
	return b
}

// verify checks the request's signature as migratebot does and leaves the
// body readable.
func (b *bot) verify(w http.ResponseWriter, r *http.Request) bool {
	b.mu.Lock()
	b.nCalls++
	b.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		b.fail(w, err)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sv, err := slack.NewSecretsVerifier(r.Header, testSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		b.fail(w, err)
		return false
	}
	return true
}

func (b *bot) fail(w http.ResponseWriter, err error) {
	b.mu.Lock()
	b.errs = append(b.errs, err)
	b.mu.Unlock()
	http.Error(w, err.Error(), http.StatusUnauthorized)
}

func TestSlashCommand(t *testing.T) {
	f := newFixture(t)
	b := newBot(t, f)
	var got slack.SlashCommand
	b.onCmd = func(w http.ResponseWriter, cmd slack.SlashCommand) {
		got = cmd
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: "Working on it"})
	}
	resp, err := f.emu.SlashCommand("U0ALICE", "C0MIGRATE", "/migrate", "plan db1")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("status = %d, body %s", resp.Status, resp.Body)
	}

	if !strings.HasPrefix(got.ResponseURL, strings.TrimSuffix(f.emu.APIURL(), "/")+"/commands/T0ACME/") {
		t.Errorf("response_url %q does not point at the emulator", got.ResponseURL)
	}
	if got.TriggerID == "" {
		t.Error("no trigger_id")
	}
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

	// The bot answers later through response_url, with the real client.
	if _, _, err := f.api.PostMessage("", slack.MsgOptionResponseURL(got.ResponseURL, slack.ResponseTypeInChannel),
		slack.MsgOptionText("Plan for db1 ready", false), slack.MsgOptionBlocks(approveBlocks...)); err != nil {
		t.Fatal(err)
	}
	msgs := f.emu.Messages()
	ignore := cmpopts.IgnoreFields(Message{}, "TS", "Blocks")
	wantMsgs := []Message{
		{Channel: "C0MIGRATE", User: "U0BOT", Ephemeral: true, ToUser: "U0ALICE", Text: "Working on it"},
		{Channel: "C0MIGRATE", User: "U0BOT", Text: "Plan for db1 ready"},
	}
	if diff := cmp.Diff(wantMsgs, msgs, ignore); diff != "" {
		t.Errorf("Messages (-want +got):\n%s", diff)
	}
	if len(msgs) == 2 && msgs[1].Blocks == nil {
		t.Error("response_url message lost its blocks")
	}

	// replace_original replaces what this response_url posted last.
	if _, _, err := f.api.PostMessage("", slack.MsgOptionReplaceOriginal(got.ResponseURL), slack.MsgOptionText("Applied", false)); err != nil {
		t.Fatal(err)
	}
	msgs = f.emu.Messages()
	wantMsgs[1].Text, wantMsgs[1].Updates = "Applied", 1
	if diff := cmp.Diff(wantMsgs, msgs, ignore); diff != "" {
		t.Errorf("after replace_original (-want +got):\n%s", diff)
	}
	if msgs[1].Blocks != nil {
		t.Errorf("replace_original kept the old blocks: %s", msgs[1].Blocks)
	}
	if calls := f.emu.Calls(); len(calls) != 0 {
		t.Errorf("response_url posts counted as Web API calls: %v", calls)
	}
}

func TestSlashCommandImmediateAnswer(t *testing.T) {
	for _, tc := range []struct {
		name        string
		contentType string
		status      int
		body        string
		want        []Message
	}{
		{"empty ack", "", http.StatusOK, "", nil},
		{"ephemeral JSON", "application/json", http.StatusOK, `{"text":"just you"}`,
			[]Message{{Channel: "C0MIGRATE", User: "U0BOT", Ephemeral: true, ToUser: "U0ALICE", Text: "just you"}}},
		{"in_channel JSON", "application/json; charset=utf-8", http.StatusOK, `{"response_type":"in_channel","text":"everyone","blocks":[{"type":"divider"}]}`,
			[]Message{{Channel: "C0MIGRATE", User: "U0BOT", Text: "everyone", Blocks: json.RawMessage(`[{"type":"divider"}]`)}}},
		{"plain text", "text/plain", http.StatusOK, "shown as text",
			[]Message{{Channel: "C0MIGRATE", User: "U0BOT", Ephemeral: true, ToUser: "U0ALICE", Text: "shown as text"}}},
		{"error", "text/plain", http.StatusInternalServerError, "boom", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			b := newBot(t, f)
			b.onCmd = func(w http.ResponseWriter, _ slack.SlashCommand) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}
			resp, err := f.emu.SlashCommand("U0ALICE", "C0MIGRATE", "/migrate", "help")
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tc.status || string(resp.Body) != tc.body {
				t.Errorf("Response = %d %q", resp.Status, resp.Body)
			}
			if diff := cmp.Diff(tc.want, f.emu.Messages(), cmpopts.IgnoreFields(Message{}, "TS"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Messages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClick(t *testing.T) {
	f := newFixture(t)
	b := newBot(t, f)
	var got slack.InteractionCallback
	b.onAct = func(w http.ResponseWriter, cb slack.InteractionCallback) { got = cb }

	_, old, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("old plan", false), slack.MsgOptionBlocks(approveBlocks...))
	if err != nil {
		t.Fatal(err)
	}
	_, parent, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("thread", false))
	if err != nil {
		t.Fatal(err)
	}
	_, ts, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("new plan", false), slack.MsgOptionBlocks(approveBlocks...), slack.MsgOptionTS(parent))
	if err != nil {
		t.Fatal(err)
	}

	resp, err := f.emu.Click("U0ALICE", "approve")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("status = %d, body %s", resp.Status, resp.Body)
	}
	if got.Type != slack.InteractionTypeBlockActions {
		t.Errorf("type = %q", got.Type)
	}
	if got.User.ID != "U0ALICE" || got.User.Name != "alice" || got.User.TeamID != "T0ACME" {
		t.Errorf("user = %+v", got.User)
	}
	if got.Channel.ID != "C0MIGRATE" || got.Channel.Name != "migrations" || got.Team.ID != "T0ACME" || got.Team.Domain != "acme" {
		t.Errorf("channel = %+v, team = %+v", got.Channel.GroupConversation, got.Team)
	}
	wantContainer := slack.Container{Type: "message", MessageTs: ts, ThreadTs: parent, ChannelID: "C0MIGRATE"}
	if diff := cmp.Diff(wantContainer, got.Container); diff != "" {
		t.Errorf("container (-want +got):\n%s", diff)
	}
	if got.Message.Timestamp != ts || got.Message.ThreadTimestamp != parent || got.Message.Text != "new plan" || len(got.Message.Blocks.BlockSet) != 2 {
		t.Errorf("message = ts %q thread %q text %q, %d blocks", got.Message.Timestamp, got.Message.ThreadTimestamp, got.Message.Text, len(got.Message.Blocks.BlockSet))
	}
	if got.APIAppID != "A0MIGRATEBOT" || got.TriggerID == "" || got.ResponseURL == "" {
		t.Errorf("api_app_id %q trigger_id %q response_url %q", got.APIAppID, got.TriggerID, got.ResponseURL)
	}
	if len(got.ActionCallback.BlockActions) != 1 {
		t.Fatalf("actions = %+v", got.ActionCallback)
	}
	act := got.ActionCallback.BlockActions[0]
	if act.ActionID != "approve" || act.BlockID != "decide" || act.Value != "run-42" || act.Type != "button" || act.Text.Text != "Approve" || act.ActionTs == "" {
		t.Errorf("action = %+v", act)
	}

	// The bot replaces the clicked message through response_url.
	if _, _, err := f.api.PostMessage("", slack.MsgOptionReplaceOriginal(got.ResponseURL), slack.MsgOptionText("Approved by alice", false)); err != nil {
		t.Fatal(err)
	}
	msgs := f.emu.Messages()
	if len(msgs) != 3 || msgs[2].TS != ts || msgs[2].Text != "Approved by alice" || msgs[2].Updates != 1 || msgs[2].Blocks != nil {
		t.Fatalf("after replace_original: %+v", msgs)
	}
	// Now only the old message has the button.
	if _, err := f.emu.Click("U0BOB", "approve"); err != nil {
		t.Fatal(err)
	}
	if got.Container.MessageTs != old || got.User.ID != "U0BOB" {
		t.Errorf("second click hit %q as %q, want %q as U0BOB", got.Container.MessageTs, got.User.ID, old)
	}
	// Updating a message makes it the newest.
	if _, _, _, err := f.api.UpdateMessage("C0MIGRATE", old, slack.MsgOptionText("old plan, again", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("newer", false), slack.MsgOptionBlocks(approveBlocks...)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := f.api.UpdateMessage("C0MIGRATE", old, slack.MsgOptionText("old plan, updated last", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.emu.Click("U0ALICE", "reject"); err != nil {
		t.Fatal(err)
	}
	if got.Container.MessageTs != old || got.ActionCallback.BlockActions[0].ActionID != "reject" {
		t.Errorf("click after update hit %q, want %q", got.Container.MessageTs, old)
	}
}

func TestClickEphemeral(t *testing.T) {
	f := newFixture(t)
	b := newBot(t, f)
	var got slack.InteractionCallback
	b.onAct = func(w http.ResponseWriter, cb slack.InteractionCallback) { got = cb }
	ts, err := f.api.PostEphemeral("C0MIGRATE", "U0ALICE", slack.MsgOptionText("confirm?", false), slack.MsgOptionBlocks(approveBlocks...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.emu.Click("U0BOB", "approve"); err == nil {
		t.Error("bob clicked a button only alice sees")
	}
	if _, err := f.emu.Click("U0ALICE", "approve"); err != nil {
		t.Fatal(err)
	}
	if !got.Container.IsEphemeral || got.Container.MessageTs != ts || got.Message.Timestamp != "" {
		t.Errorf("container = %+v, message ts %q; want ephemeral %q and no message", got.Container, got.Message.Timestamp, ts)
	}
	if _, _, err := f.api.PostMessage("", slack.MsgOptionDeleteOriginal(got.ResponseURL)); err != nil {
		t.Fatal(err)
	}
	if msgs := f.emu.Messages(); len(msgs) != 1 || !msgs[0].Deleted {
		t.Errorf("after delete_original: %+v", msgs)
	}
	if diff := cmp.Diff([]string{"slack.message posted " + ts, "slack.message deleted " + ts}, f.actions()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestClickErrors(t *testing.T) {
	f := newFixture(t)
	if _, err := f.emu.Click("U0ALICE", "approve"); err == nil {
		t.Error("Click without an interaction URL succeeded")
	}
	b := newBot(t, f)
	b.onAct = func(http.ResponseWriter, slack.InteractionCallback) {}
	if _, _, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("no buttons", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.emu.Click("U0ALICE", "approve"); err == nil || !strings.Contains(err.Error(), "approve") {
		t.Errorf("Click with no such button: %v", err)
	}
	if _, err := f.emu.SlashCommand("U0NOBODY", "C0MIGRATE", "/migrate", ""); err == nil {
		t.Error("SlashCommand as an unknown user succeeded")
	}
	if _, err := f.emu.SlashCommand("U0ALICE", "C0NOPE", "/migrate", ""); err == nil {
		t.Error("SlashCommand in an unknown channel succeeded")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.nCalls != 0 {
		t.Errorf("bot got %d requests", b.nCalls)
	}
}

func TestSignedRequest(t *testing.T) {
	f := newFixture(t)
	body := []byte(url.Values{"command": {"/migrate"}}.Encode())
	for _, tc := range []struct {
		name   string
		ts     time.Time
		secret string
		want   error
	}{
		{"fresh", time.Now(), testSecret, nil},
		{"stale", time.Now().Add(-10 * time.Minute), testSecret, slack.ErrExpiredTimestamp},
		{"future", time.Now().Add(10 * time.Minute), testSecret, slack.ErrExpiredTimestamp},
		{"wrong secret", time.Now(), "not-the-secret", slack.ErrInvalidSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := f.emu.SignedRequest("http://bot.example/slack/commands", body, tc.ts, tc.secret)
			got, err := io.ReadAll(req.Body)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("body = %q, %v", got, err)
			}
			if ct := req.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q", ct)
			}
			sv, err := slack.NewSecretsVerifier(req.Header, testSecret)
			if err == nil {
				_, _ = sv.Write(got)
				err = sv.Ensure()
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("verify: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestWaitFor(t *testing.T) {
	f := newFixture(t)
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _, _ = f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("later", false))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := f.emu.WaitFor(ctx, func(m []Message) bool { return len(m) == 1 })
	if err != nil || msgs[0].Text != "later" {
		t.Fatalf("WaitFor = %+v, %v", msgs, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := f.emu.WaitFor(ctx, func(m []Message) bool { return len(m) == 2 }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor never true: %v", err)
	}
}

func TestSlacktestHandlersBehindFront(t *testing.T) {
	f := newFixture(t)
	// reactions.add is slacktest's own canned handler, reached through the
	// emulator's front handler.
	if err := f.api.AddReaction("tada", slack.NewRefToMessage("C0MIGRATE", "1700000000.000100")); err != nil {
		t.Fatal(err)
	}
	f.emu.FailNext("reactions.add", http.StatusTooManyRequests, 1, nil)
	var rl *slack.RateLimitedError
	if err := f.api.AddReaction("tada", slack.NewRefToMessage("C0MIGRATE", "1700000000.000100")); !errors.As(err, &rl) {
		t.Errorf("AddReaction after FailNext: %v", err)
	}
	if got := f.emu.Calls()["reactions.add"]; got != 2 {
		t.Errorf("Calls[reactions.add] = %d, want 2", got)
	}
}

func TestDirectMessage(t *testing.T) {
	f := newFixture(t)
	ch, _, err := f.api.PostMessage("U0ALICE", slack.MsgOptionText("psst", false))
	if err != nil {
		t.Fatal(err)
	}
	if ch != "D0ALICE" {
		t.Errorf("channel = %q, want D0ALICE", ch)
	}
	c, err := f.api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: ch})
	if err != nil || !c.IsIM || c.User != "U0ALICE" {
		t.Errorf("GetConversationInfo(%s) = %+v, %v", ch, c, err)
	}
}

// TestThreadMetadataAndReplies: metadata posted with a message comes back
// from conversations.replies only when asked for, is kept by chat.update
// without metadata, and the replies page with a cursor, as slack-go reads
// them.
func TestThreadMetadataAndReplies(t *testing.T) {
	f := newFixture(t)
	_, root, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("root", false))
	if err != nil {
		t.Fatal(err)
	}
	md := slack.SlackMetadata{EventType: "migratebot_message", EventPayload: map[string]any{"key": "k1"}}
	_, reply, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("step", false), slack.MsgOptionTS(root), slack.MsgOptionMetadata(md))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, _, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText(fmt.Sprint("more ", i), false), slack.MsgOptionTS(root)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := f.api.UpdateMessage("C0MIGRATE", reply, slack.MsgOptionText("step, updated", false)); err != nil {
		t.Fatal(err)
	}
	var all []slack.Message
	params := &slack.GetConversationRepliesParameters{ChannelID: "C0MIGRATE", Timestamp: root, Limit: 2, IncludeAllMetadata: true}
	for pages := 0; ; pages++ {
		msgs, more, cursor, err := f.api.GetConversationReplies(params)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, msgs...)
		if !more {
			if pages != 2 {
				t.Errorf("%d pages of 2 for 5 messages, want 3", pages+1)
			}
			break
		}
		params.Cursor = cursor
	}
	if len(all) != 5 || all[0].Timestamp != root || all[1].Timestamp != reply || all[1].Text != "step, updated" {
		t.Fatalf("replies = %+v", all)
	}
	if got := all[1].Metadata; got.EventType != "migratebot_message" || got.EventPayload["key"] != "k1" {
		t.Errorf("metadata after an update without metadata = %+v, want kept", got)
	}
	plain, _, _, err := f.api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: "C0MIGRATE", Timestamp: root})
	if err != nil || len(plain) != 5 || plain[1].Metadata.EventType != "" {
		t.Errorf("without include_all_metadata: %+v, %v; want 5 messages and no metadata", plain, err)
	}
	if _, _, _, err := f.api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: "C0MIGRATE", Timestamp: "1.000001"}); slackErr(err) != "thread_not_found" {
		t.Errorf("replies of no message: %v, want thread_not_found", err)
	}
	for _, md := range []string{`{"event_type":"x"}`, `{"event_payload":{}}`, `{"event_type":"x","event_payload":[1]}`, `not json`} {
		form := url.Values{"channel": {"C0MIGRATE"}, "text": {"x"}, "metadata": {md}, "token": {testToken}}
		resp, err := http.PostForm(f.emu.APIURL()+"chat.postMessage", form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `"invalid_metadata_format"`) {
			t.Errorf("metadata %s: %s, want invalid_metadata_format", md, body)
		}
	}
	if n := len(f.emu.Messages()); n != 5 {
		t.Errorf("%d messages after refused posts, want 5", n)
	}
}

// TestLoseNextAnswer: the call takes effect, and the bot gets a 502.
func TestLoseNextAnswer(t *testing.T) {
	f := newFixture(t)
	f.emu.LoseNextAnswer("chat.postMessage", 1)
	var sce slack.StatusCodeError
	if _, _, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("lost", false)); !errors.As(err, &sce) || sce.Code != http.StatusBadGateway {
		t.Fatalf("err = %v, want StatusCodeError 502", err)
	}
	if _, _, err := f.api.PostMessage("C0MIGRATE", slack.MsgOptionText("kept", false)); err != nil {
		t.Fatal(err)
	}
	msgs := f.emu.Messages()
	if len(msgs) != 2 || msgs[0].Text != "lost" || msgs[1].Text != "kept" {
		t.Errorf("Messages = %+v, want both posted", msgs)
	}
}

// TestChannelHistory: conversations.history lists the channel's own
// messages (not thread replies, unless broadcast), newest first, after
// oldest, with metadata when asked and a cursor for more.
func TestChannelHistory(t *testing.T) {
	f := newFixture(t)
	post := func(opts ...slack.MsgOption) string {
		t.Helper()
		_, ts, err := f.api.PostMessage("C0MIGRATE", opts...)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	early := post(slack.MsgOptionText("early", false))
	md := slack.SlackMetadata{EventType: "migratebot_message", EventPayload: map[string]any{"key": "plan-1"}}
	plan := post(slack.MsgOptionText("plan", false), slack.MsgOptionMetadata(md))
	post(slack.MsgOptionText("reply", false), slack.MsgOptionTS(plan))
	shout := post(slack.MsgOptionText("broadcast", false), slack.MsgOptionTS(plan), slack.MsgOptionBroadcast())
	last := post(slack.MsgOptionText("last", false))

	var got []slack.Message
	params := &slack.GetConversationHistoryParameters{ChannelID: "C0MIGRATE", Oldest: early, Limit: 2, IncludeAllMetadata: true}
	for {
		resp, err := f.api.GetConversationHistory(params)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.Messages...)
		if !resp.HasMore {
			break
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	var tss []string
	for _, m := range got {
		tss = append(tss, m.Timestamp)
	}
	if diff := cmp.Diff([]string{last, shout, plan}, tss); diff != "" {
		t.Errorf("history after %s (-want +got):\n%s", early, diff)
	}
	if len(got) == 3 && got[2].Metadata.EventPayload["key"] != "plan-1" {
		t.Errorf("the plan's metadata = %+v", got[2].Metadata)
	}
	resp, err := f.api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C0MIGRATE", Oldest: early, Inclusive: true, Latest: plan})
	if err != nil || len(resp.Messages) != 2 || resp.Messages[0].Timestamp != plan || resp.Messages[1].Timestamp != early || resp.Messages[0].Metadata.EventType != "" {
		t.Errorf("inclusive range without metadata: %+v, %v", resp, err)
	}
}
