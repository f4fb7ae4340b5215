// Package slackemu emulates the parts of Slack that migratebot talks to, for
// end-to-end tests and the sandbox command.
//
// It plays two roles:
//
//   - Slack's Web API, which the bot calls with the real slack-go client:
//     slack.New(token, slack.OptionAPIURL(emu.APIURL())).
//   - Slack's side of slash commands and interactivity: SlashCommand and Click
//     POST signed requests to the bot, as Slack does, and the response_url they
//     hand out points back at the emulator.
//   - With Options.SocketMode, Slack's Socket Mode instead: apps.connections.open
//     hands the bot (slack-go's socketmode client, with the app-level token)
//     a websocket, and SlashCommand and Click deliver envelopes over it and
//     wait for their acks. See socket.go.
//
// The Web API is served by slack-go's own test server (slacktest). The
// emulator's handlers are registered through slacktest's Binder mechanism; its
// Handle keeps the first handler registered for a pattern and binders run
// before slacktest registers its defaults, so the emulator's handlers replace
// slacktest's (chat.postMessage, chat.postEphemeral, auth.test, users.info,
// conversations.info) and add what it lacks (chat.update, chat.delete,
// chat.getPermalink, conversations.replies and conversations.history with
// message metadata, usergroups.users.list, and "unknown_method" for
// anything else). In front of slacktest sits a small handler of the
// emulator's own that every Web API call goes through: it counts the call,
// applies FailNext and checks the token, then proxies to slacktest (and,
// with LoseNextAnswer, drops slacktest's answer). That is
// what lets the checks cover slacktest's remaining canned handlers
// (reactions.add, bots.info, ...) too, which a Binder cannot wrap because
// slacktest's handlers are unexported.
package slackemu

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack/slacktest"
)

// Options configures a Server. Zero fields get the defaults noted.
type Options struct {
	// SigningSecret signs requests to the bot: X-Slack-Signature is
	// "v0=" + hex(HMAC-SHA256(secret, "v0:<ts>:<body>")), with
	// X-Slack-Request-Timestamp holding <ts>.
	SigningSecret string
	// BotToken is the xoxb- token the bot must send (Authorization: Bearer,
	// or the token form field). A missing token gets not_authed, the app
	// token not_allowed_token_type, any other token invalid_auth.
	BotToken string
	// AppToken is the app-level (xapp-) token apps.connections.open
	// requires. A missing token gets not_authed, the bot token
	// not_allowed_token_type, any other token invalid_auth.
	AppToken string
	// SocketMode makes SlashCommand and Click deliver through the bot's
	// Socket Mode connection instead of POSTing to CommandURL and
	// InteractionURL, as Slack does for an app with Socket Mode on.
	SocketMode bool
	// TeamID and TeamDomain name the workspace. Defaults "T0EMU" and "emu".
	TeamID, TeamDomain string
	// TeamName is what auth.test reports as the team. Defaults to TeamDomain.
	TeamName string
	// CommandURL is the bot's slash-command endpoint, InteractionURL its
	// interactivity endpoint. Either may be set later with SetBotURLs.
	CommandURL     string
	InteractionURL string
	// OnEvent is called synchronously, in order, for every message posted,
	// updated or deleted (ephemeral ones included). It may call the inspection
	// methods (Messages, Calls, ...) but must not drive the emulator
	// (SlashCommand, Click) or make the bot call the Web API and wait for it:
	// events are delivered one at a time, so that would deadlock.
	OnEvent func(Event)

	// BotUserID, BotID, BotName and AppID describe the bot, as auth.test,
	// users.info and interaction payloads report it. Defaults "U0BOT", "B0BOT",
	// "migratebot" and "A0MIGRATEBOT".
	BotUserID, BotID, BotName, AppID string
	// VerificationToken is the (deprecated) token field Slack still puts in
	// slash commands and interaction payloads. Default
	// "emu-verification-token".
	VerificationToken string
	// Addr is the address the Web API listens on, e.g. "127.0.0.1:3999".
	// Default: a free port on 127.0.0.1.
	Addr string
	// BotTimeout is how long SlashCommand and Click wait for the bot to
	// answer, or in Socket Mode to ack (and, if the bot is still connecting,
	// for its connection). Slack gives up after 3 seconds, which is the
	// default.
	BotTimeout time.Duration
}

// Message is a message as the emulator holds it.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // parent's ts for a reply, else ""
	// User is who posted it: the bot's user ID for everything the bot sends.
	User      string
	Ephemeral bool
	ToUser    string // for ephemeral messages: the only user who sees it
	Text      string
	// Blocks are the blocks as the bot sent them (a JSON array), or nil.
	Blocks      json.RawMessage
	Attachments json.RawMessage // as the bot sent them, or nil
	// Metadata is the message metadata the bot attached
	// ({"event_type":…,"event_payload":{…}}), or nil.
	Metadata json.RawMessage
	// ReplyBroadcast is set for a thread reply also sent to the channel.
	ReplyBroadcast bool
	Updates        int  // times the message was changed after it was posted
	Deleted        bool // deleted with chat.delete or delete_original
}

// Event reports a change to the messages.
type Event struct {
	Kind    string // "slack.message"
	Action  string // "posted" | "updated" | "deleted"
	Message Message
}

// Response is what the bot answered to a request from Slack.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Server is a running emulator. Its methods are safe for concurrent use.
type Server struct {
	opts    Options
	st      *slacktest.Server
	front   *httptest.Server
	proxy   *httputil.ReverseProxy
	toBot   *http.Client
	baseURL string // front's URL, no trailing slash

	// evMu serialises changes to the messages together with the delivery
	// of their events, so OnEvent sees them in order.
	evMu sync.Mutex

	mu             sync.Mutex
	commandURL     string
	interactionURL string
	users          map[string]*user // by ID
	userOrder      []string
	channels       map[string]*channel   // by ID
	groups         map[string]*userGroup // by ID
	msgs           []*message
	tsSeq          int64
	touchSeq       int64
	idSeq          int64
	calls          map[string]int
	failures       map[string][]*failure
	lost           map[string]int   // answers to lose, by method
	hooks          map[string]*hook // response URLs, by path
	changed        chan struct{}    // closed and replaced on every change
	sock           socketState
}

type user struct {
	id, name string
	isBot    bool
}

// userGroup is a user group ("@change-approvers"), by Slack also called a
// subteam; its ID starts with S.
type userGroup struct {
	id, handle string
	members    []string // user IDs
}

type channel struct {
	id, name string
	isIM     bool
	imUser   string
}

type message struct {
	Message
	touched int64 // when last posted or changed, for Click's "newest"
}

type failure struct {
	status    int
	header    http.Header
	slackErr  string
	remaining int
}

// hook is one response_url.
type hook struct {
	userID, channelID string
	origin            *message // the message whose button was clicked, if any
	last              *message // the last message posted through this hook
}

// New starts an emulator. Close it when done.
func New(opts Options) *Server {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&opts.TeamID, "T0EMU")
	def(&opts.TeamDomain, "emu")
	def(&opts.TeamName, opts.TeamDomain)
	def(&opts.BotUserID, "U0BOT")
	def(&opts.BotID, "B0BOT")
	def(&opts.BotName, "migratebot")
	def(&opts.AppID, "A0MIGRATEBOT")
	def(&opts.VerificationToken, "emu-verification-token")
	if opts.BotTimeout <= 0 {
		opts.BotTimeout = 3 * time.Second
	}

	s := &Server{
		opts:           opts,
		commandURL:     opts.CommandURL,
		interactionURL: opts.InteractionURL,
		users:          map[string]*user{},
		channels:       map[string]*channel{},
		groups:         map[string]*userGroup{},
		calls:          map[string]int{},
		failures:       map[string][]*failure{},
		lost:           map[string]int{},
		hooks:          map[string]*hook{},
		changed:        make(chan struct{}),
		sock: socketState{
			tickets: map[string]bool{},
			acks:    map[string]chan json.RawMessage{},
			changed: make(chan struct{}),
		},
	}
	s.addUser(&user{id: opts.BotUserID, name: opts.BotName, isBot: true})

	s.st = slacktest.NewTestServer(s.bind)
	s.st.SetBotName(opts.BotName)
	s.st.BotID = opts.BotUserID
	s.st.Start()
	target, err := url.Parse(s.st.GetAPIURL())
	if err != nil {
		panic("slackemu: slacktest URL: " + err.Error())
	}
	s.proxy = &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
	}

	s.front = httptest.NewUnstartedServer(http.HandlerFunc(s.serveFront))
	if opts.Addr != "" {
		l, err := net.Listen("tcp", opts.Addr)
		if err != nil {
			s.st.Stop()
			panic(fmt.Sprintf("slackemu: listen on %s: %v", opts.Addr, err))
		}
		_ = s.front.Listener.Close()
		s.front.Listener = l
	}
	s.front.Start()
	s.baseURL = s.front.URL
	s.toBot = &http.Client{
		Timeout:   opts.BotTimeout,
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
	}
	return s
}

// APIURL is what to pass to slack.OptionAPIURL. It ends in "/".
func (s *Server) APIURL() string { return s.baseURL + "/" }

// Close stops the emulator. It closes Socket Mode connections too.
func (s *Server) Close() {
	s.closeSockets()
	s.front.Close()
	s.st.Stop()
	if t, ok := s.proxy.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	s.toBot.CloseIdleConnections()
}

// SetBotURLs sets the bot's slash-command and interactivity endpoints.
func (s *Server) SetBotURLs(commandURL, interactionURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commandURL, s.interactionURL = commandURL, interactionURL
}

// AddUser adds a workspace member, e.g. AddUser("U0ALICE", "alice").
func (s *Server) AddUser(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUser(&user{id: id, name: name})
}

func (s *Server) addUser(u *user) {
	if _, ok := s.users[u.id]; !ok {
		s.userOrder = append(s.userOrder, u.id)
	}
	s.users[u.id] = u
}

// AddChannel adds a channel the bot is in, e.g. AddChannel("C0MIGRATE", "migrations").
func (s *Server) AddChannel(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[id] = &channel{id: id, name: strings.TrimPrefix(name, "#")}
}

// AddUserGroup adds a user group, or replaces its members, e.g.
// AddUserGroup("S0APPROVERS", "change-approvers", "U0ALICE").
func (s *Server) AddUserGroup(id, handle string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = &userGroup{id: id, handle: strings.TrimPrefix(handle, "@"), members: slices.Clone(members)}
}

// UserID returns the ID of the user with this name.
func (s *Server) UserID(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.userOrder {
		if s.users[id].name == name {
			return id, true
		}
	}
	return "", false
}

// Messages returns every message in post order, with its current content.
// Deleted messages stay, marked Deleted.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot()
}

func (s *Server) snapshot() []Message {
	out := make([]Message, len(s.msgs))
	for i, m := range s.msgs {
		out[i] = m.copy()
	}
	return out
}

func (m *message) copy() Message {
	c := m.Message
	c.Blocks = slices.Clone(c.Blocks)
	c.Attachments = slices.Clone(c.Attachments)
	c.Metadata = slices.Clone(c.Metadata)
	return c
}

// WaitFor waits until cond holds for the messages (checked now and after
// every change) and returns them, or returns ctx's error.
func (s *Server) WaitFor(ctx context.Context, cond func([]Message) bool) ([]Message, error) {
	for {
		s.mu.Lock()
		msgs, changed := s.snapshot(), s.changed
		s.mu.Unlock()
		if cond(msgs) {
			return msgs, nil
		}
		select {
		case <-ctx.Done():
			return msgs, ctx.Err()
		case <-changed:
		}
	}
}

// Calls returns the number of Web API calls by method name
// ("chat.postMessage": 3). Calls that failed (FailNext, bad token, errors)
// count too.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// FailNext makes the next count calls of method fail with this HTTP status and
// these headers, before the token is checked. A 429 gets "Retry-After: 1"
// unless header sets it (slack-go then returns *slack.RateLimitedError); its
// body is {"ok":false,"error":"ratelimited"}. Failures queue up behind ones
// already set for the method.
func (s *Server) FailNext(method string, status int, count int, header http.Header) {
	if count <= 0 {
		return
	}
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if status == http.StatusTooManyRequests && h.Get("Retry-After") == "" {
		h.Set("Retry-After", "1")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], &failure{status: status, header: h, remaining: count})
}

// FailNextError makes the next count calls of method answer HTTP 200 with
// {"ok":false,"error":slackError}, as Slack does for e.g. "msg_too_long".
func (s *Server) FailNextError(method, slackError string, count int) {
	if count <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], &failure{status: http.StatusOK, slackErr: slackError, remaining: count})
}

// LoseNextAnswer makes the next count calls of method take effect and then
// answer 502 Bad Gateway, as when a proxy or the network loses Slack's
// answer: the message is posted, and the bot does not learn its ts.
func (s *Server) LoseNextAnswer(method string, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost[method] += count
}

func (s *Server) takeFailure(method string) *failure {
	q := s.failures[method]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	f.remaining--
	if f.remaining <= 0 {
		s.failures[method] = q[1:]
	}
	return f
}

// change applies f, which returns the events it caused, under the lock, then
// delivers the events in order.
func (s *Server) change(f func() []Event) {
	s.evMu.Lock()
	defer s.evMu.Unlock()
	s.mu.Lock()
	evs := f()
	if len(evs) > 0 {
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()
	if s.opts.OnEvent != nil {
		for _, e := range evs {
			s.opts.OnEvent(e)
		}
	}
}

func event(action string, m *message) Event {
	return Event{Kind: "slack.message", Action: action, Message: m.copy()}
}

// nextTS returns a new message ts: unique, increasing, Slack-shaped.
func (s *Server) nextTS() string {
	s.tsSeq++
	micro := s.tsSeq * 100
	return fmt.Sprintf("%d.%06d", 1700000000+micro/1_000_000, micro%1_000_000)
}

func (s *Server) nextID() int64 {
	s.idSeq++
	return s.idSeq
}

// resolveChannel finds a channel by ID, by name ("#name" or "name"), or by
// user ID (the IM channel with that user, as chat.postMessage allows).
func (s *Server) resolveChannel(ref string) (*channel, bool) {
	if ref == "" {
		return nil, false
	}
	if c, ok := s.channels[ref]; ok {
		return c, true
	}
	name := strings.TrimPrefix(ref, "#")
	for _, c := range s.channels {
		if !c.isIM && c.name == name {
			return c, true
		}
	}
	if u, ok := s.users[ref]; ok && !u.isBot {
		id := "D" + u.id[1:]
		c := &channel{id: id, name: id, isIM: true, imUser: u.id}
		s.channels[id] = c
		return c, true
	}
	return nil, false
}

func (s *Server) findMessage(channelID, ts string) *message {
	for _, m := range s.msgs {
		if m.Channel == channelID && m.TS == ts && !m.Ephemeral && !m.Deleted {
			return m
		}
	}
	return nil
}
