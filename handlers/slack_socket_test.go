package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	goslack "github.com/slack-go/slack"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/test/slackemu"
)

const (
	emuSecret   = "slack-signing-secret"
	emuBotToken = "xoxb-emu"
	emuAppToken = "xapp-1-emu"
)

// syncQueue records what was queued, safely across the goroutines Socket
// Mode handles envelopes on; with down set, it refuses everything.
type syncQueue struct {
	mu   sync.Mutex
	down error
	jobs []bot.Job
	seen map[string]bool // delivery ids, as the Redis queue remembers them
}

func (q *syncQueue) Enqueue(_ context.Context, j bot.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.down != nil {
		return q.down
	}
	q.jobs = append(q.jobs, j)
	return nil
}

func (q *syncQueue) EnqueueDelivery(ctx context.Context, id string, j bot.Job) error {
	q.mu.Lock()
	if q.seen[id] {
		q.mu.Unlock()
		return bot.ErrDuplicate
	}
	if q.down == nil {
		if q.seen == nil {
			q.seen = map[string]bool{}
		}
		q.seen[id] = true
	}
	q.mu.Unlock()
	return q.Enqueue(ctx, j)
}

func (q *syncQueue) queued() []bot.Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]bot.Job(nil), q.jobs...)
}

// slackBot is the bot's Slack edge in front of the emulator, over HTTP or
// Socket Mode.
type slackBot struct {
	emu   *slackemu.Server
	queue *syncQueue
	api   *goslack.Client // the bot token's Web API client, to post buttons
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newSlackBot starts the emulator and the bot's Slack edge; socket picks
// the transport. The bot stops when the test ends.
func newSlackBot(t *testing.T, socket bool, botTimeout time.Duration) *slackBot {
	t.Helper()
	b := &slackBot{queue: &syncQueue{}}
	b.emu = slackemu.New(slackemu.Options{
		SigningSecret: emuSecret, BotToken: emuBotToken, AppToken: emuAppToken, SocketMode: socket,
		TeamID: "T0ACME", TeamDomain: "acme", BotTimeout: botTimeout,
	})
	t.Cleanup(b.emu.Close)
	b.emu.AddUser("U0ALICE", "alice")
	b.emu.AddUser("U0BOB", "bob")
	b.emu.AddChannel("C0MIGRATE", "migrations")
	b.api = goslack.New(emuBotToken, goslack.OptionAPIURL(b.emu.APIURL()))

	log := testLog(t)
	cfg := &config.Config{Services: map[string]*config.Service{"web-api": {}, "search": {}}}
	commands := &SlackCommands{Secret: emuSecret, Config: cfg, Queue: b.queue, Log: log}
	interactions := &SlackInteractions{Secret: emuSecret, Queue: b.queue, Log: log}
	if !socket {
		mux := http.NewServeMux()
		mux.Handle("POST /slack/commands", commands)
		mux.Handle("POST /slack/interactions", interactions)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		b.emu.SetBotURLs(srv.URL+"/slack/commands", srv.URL+"/slack/interactions")
		return b
	}
	sock := &SlackSocket{AppToken: emuAppToken, APIURL: b.emu.APIURL(), Commands: commands, Interactions: interactions, Log: log}
	stop := runSocket(t, sock)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return b
}

// runSocket runs s until the returned stop is called, which returns what
// Run returned. Run must return within 5 s of stop.
func runSocket(t *testing.T, s *SlackSocket) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return within 5s of its context's end")
			return nil
		}
	}
}

var transports = []struct {
	name   string
	socket bool
}{{"http", false}, {"socket", true}}

// TestSlashCommandsOverBothTransports: over HTTP and in Socket Mode, a
// command is queued and answered with nothing, and bad input and help are
// answered at once to the user alone, with nothing queued.
func TestSlashCommandsOverBothTransports(t *testing.T) {
	queued := func(text string) []bot.Job {
		return []bot.Job{{Kind: bot.JobCommand, Command: &bot.CommandRequest{Team: "T0ACME", Channel: "C0MIGRATE", User: "U0ALICE", Text: text}}}
	}
	tests := []struct {
		name      string
		text      string
		queueDown bool
		wantJobs  []bot.Job
		wantReply []string // what the answer shown to alice contains; nil: no answer
	}{
		{name: "queued", text: "bump 25 web-api", wantJobs: queued("bump 25 web-api")},
		{name: "queued without a service", text: "status", wantJobs: queued("status")},
		{name: "bad input", text: "frobnicate web-api", wantReply: []string{`"frobnicate" is not a migratebot command.`, bot.Usage("")}},
		{name: "bad option", text: "start --force web-api", wantReply: []string{bot.Usage(bot.VerbStart)}},
		{name: "unknown service", text: "status nosuch", wantReply: []string{`"nosuch" is not a configured service. Configured: search, web-api.`}},
		{name: "help", text: "help", wantReply: []string{bot.HelpText()}},
		{name: "empty is help", text: "", wantReply: []string{bot.HelpText()}},
		{name: "queue down", text: "next web-api", queueDown: true, wantReply: []string{"could not take your command just now", "Nothing was changed"}},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					b := newSlackBot(t, tr.socket, 3*time.Second)
					if tc.queueDown {
						b.queue.down = errors.New("redis: connection refused")
					}
					resp, err := b.emu.SlashCommand("U0ALICE", "C0MIGRATE", "/migrate", tc.text)
					if err != nil {
						t.Fatal(err)
					}
					if resp.Status != http.StatusOK {
						t.Fatalf("status %d, body %s", resp.Status, resp.Body)
					}
					if diff := cmp.Diff(tc.wantJobs, b.queue.queued(), cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("queued (-want +got):\n%s", diff)
					}
					msgs := b.emu.Messages()
					if tc.wantReply == nil {
						if len(resp.Body) != 0 || len(msgs) != 0 {
							t.Errorf("answered %q; shown %+v", resp.Body, msgs)
						}
						return
					}
					var reply goslack.Msg
					if err := json.Unmarshal(resp.Body, &reply); err != nil {
						t.Fatalf("answer %q: %v", resp.Body, err)
					}
					if reply.ResponseType != goslack.ResponseTypeEphemeral {
						t.Errorf("response_type = %q", reply.ResponseType)
					}
					for _, want := range tc.wantReply {
						if !strings.Contains(reply.Text, want) {
							t.Errorf("answer %q lacks %q", reply.Text, want)
						}
					}
					if len(msgs) != 1 || !msgs[0].Ephemeral || msgs[0].ToUser != "U0ALICE" || msgs[0].Text != reply.Text {
						t.Errorf("shown %+v, want the answer to alice alone", msgs)
					}
				})
			}
		})
	}
}

// TestButtonsOverBothTransports: a migratebot button runs its command as
// the user who pressed it; other buttons queue nothing; a press the queue
// refuses is failed back to Slack.
func TestButtonsOverBothTransports(t *testing.T) {
	button := func(actionID, value string) goslack.MsgOption {
		return goslack.MsgOptionBlocks(goslack.NewActionBlock("decide",
			goslack.NewButtonBlockElement(actionID, value, goslack.NewTextBlockObject(goslack.PlainTextType, "Go", false, false))))
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Run("queued", func(t *testing.T) {
				b := newSlackBot(t, tr.socket, 3*time.Second)
				if _, _, err := b.api.PostMessage("C0MIGRATE", button("migrate:approve", "prod/web-api")); err != nil {
					t.Fatal(err)
				}
				resp, err := b.emu.Click("U0BOB", "migrate:approve")
				if err != nil {
					t.Fatal(err)
				}
				if resp.Status != http.StatusOK {
					t.Errorf("status %d, body %s", resp.Status, resp.Body)
				}
				want := []bot.Job{{Kind: bot.JobCommand, Command: &bot.CommandRequest{
					Team: "T0ACME", Channel: "C0MIGRATE", User: "U0BOB", Text: "approve", Service: "web-api",
				}}}
				if diff := cmp.Diff(want, b.queue.queued()); diff != "" {
					t.Errorf("queued (-want +got):\n%s", diff)
				}
			})
			t.Run("not ours", func(t *testing.T) {
				b := newSlackBot(t, tr.socket, 3*time.Second)
				if _, _, err := b.api.PostMessage("C0MIGRATE", button("other:approve", "prod/web-api")); err != nil {
					t.Fatal(err)
				}
				if _, _, err := b.api.PostMessage("C0MIGRATE", button("migrate:next", "no-env")); err != nil {
					t.Fatal(err)
				}
				for _, id := range []string{"other:approve", "migrate:next"} {
					if resp, err := b.emu.Click("U0BOB", id); err != nil || resp.Status != http.StatusOK {
						t.Errorf("Click %s = %d, %v", id, resp.Status, err)
					}
				}
				if jobs := b.queue.queued(); len(jobs) != 0 {
					t.Errorf("queued %+v", jobs)
				}
			})
			t.Run("queue down", func(t *testing.T) {
				b := newSlackBot(t, tr.socket, 500*time.Millisecond)
				b.queue.down = errors.New("redis: connection refused")
				if _, _, err := b.api.PostMessage("C0MIGRATE", button("migrate:approve", "prod/web-api")); err != nil {
					t.Fatal(err)
				}
				resp, err := b.emu.Click("U0BOB", "migrate:approve")
				// Over HTTP a 503, in Socket Mode no ack: either way Slack
				// shows the user the press failed.
				if tr.socket {
					if err == nil || !strings.Contains(err.Error(), "did not ack") {
						t.Errorf("Click = %v, want no ack", err)
					}
				} else if err != nil || resp.Status != http.StatusServiceUnavailable {
					t.Errorf("Click = %d, %v; want 503", resp.Status, err)
				}
			})
		})
	}
}

func TestSocketRefusesWrongAppToken(t *testing.T) {
	emu := slackemu.New(slackemu.Options{BotToken: emuBotToken, AppToken: emuAppToken, SocketMode: true})
	t.Cleanup(emu.Close)
	for _, tc := range []struct {
		name, token, refusal, want string
	}{
		{name: "wrong app token", token: "xapp-1-wrong", want: "invalid_auth"},
		{name: "bot token", token: emuBotToken, want: "must be an xapp- token"},
		{name: "no token", token: "", want: "must be an xapp- token"},
		// slack-go would retry these forever.
		{name: "missing scope", token: emuAppToken, refusal: "missing_scope", want: "missing_scope"},
		{name: "not an app token", token: emuAppToken, refusal: "not_allowed_token_type", want: "not_allowed_token_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.refusal != "" {
				emu.FailNextError("apps.connections.open", tc.refusal, 1)
			}
			s := &SlackSocket{AppToken: tc.token, APIURL: emu.APIURL(), Log: testLog(t)}
			done := make(chan error, 1)
			go func() { done <- s.Run(context.Background()) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Run = %v, want %s", err, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run kept trying a token Slack refused")
			}
		})
	}
	if n := emu.SocketConnections(); n != 0 {
		t.Errorf("%d connections open", n)
	}
}

// TestSocketStopsWithContext: Run closes its connection and returns nil when
// its context ends.
func TestSocketStopsWithContext(t *testing.T) {
	emu := slackemu.New(slackemu.Options{BotToken: emuBotToken, AppToken: emuAppToken, SocketMode: true})
	t.Cleanup(emu.Close)
	s := &SlackSocket{AppToken: emuAppToken, APIURL: emu.APIURL(), Log: testLog(t)}
	stop := runSocket(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := emu.WaitSocketConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if err := emu.WaitSocketConnections(ctx, 0); err != nil {
		t.Error(err)
	}
}

// TestSocketReconnects: when Slack asks for a new connection, commands keep
// arriving on it.
func TestSocketReconnects(t *testing.T) {
	b := newSlackBot(t, true, 3*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.emu.WaitSocketConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	b.emu.DisconnectSockets("refresh_requested")
	if _, err := b.emu.SlashCommand("U0ALICE", "C0MIGRATE", "/migrate", "status web-api"); err != nil {
		t.Fatal(err)
	}
	if jobs := b.queue.queued(); len(jobs) != 1 || jobs[0].Command.Text != "status web-api" {
		t.Errorf("queued %+v", jobs)
	}
	if got := b.emu.Calls()["apps.connections.open"]; got != 2 {
		t.Errorf("apps.connections.open calls = %d, want 2", got)
	}
}

// TestSocketEnvelopeSentAgainRunsOnce: Slack sends an envelope again (its
// retry_attempt one more) when the ack came late; the command or press in
// it is the same trigger, and is queued once.
func TestSocketEnvelopeSentAgainRunsOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(b *slackBot) (slackemu.Response, error)
	}{
		{"slash command", func(b *slackBot) (slackemu.Response, error) {
			return b.emu.SlashCommand("U0ALICE", "C0MIGRATE", "/migrate", "next web-api")
		}},
		{"button", func(b *slackBot) (slackemu.Response, error) {
			button := goslack.MsgOptionBlocks(goslack.NewActionBlock("decide",
				goslack.NewButtonBlockElement("migrate:approve", "prod/web-api", goslack.NewTextBlockObject(goslack.PlainTextType, "Approve", false, false))))
			if _, _, err := b.api.PostMessage("C0MIGRATE", button); err != nil {
				return slackemu.Response{}, err
			}
			return b.emu.Click("U0BOB", "migrate:approve")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newSlackBot(t, true, 3*time.Second)
			if _, err := tc.send(b); err != nil {
				t.Fatal(err)
			}
			before := len(b.queue.queued())
			if before != 1 {
				t.Fatalf("%d jobs queued by the first delivery, want 1", before)
			}
			resp, err := b.emu.Resend()
			if err != nil || resp.Status != http.StatusOK || len(resp.Body) != 0 {
				t.Fatalf("sent again: %+v, %v; want acked with nothing to show", resp, err)
			}
			if got := b.queue.queued(); len(got) != before {
				t.Errorf("sent again, %d jobs queued, were %d: %+v", len(got), before, got)
			}
		})
	}
}
