package slackemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Socket Mode (https://api.slack.com/apis/socket-mode), as Slack speaks it:
//
//   - apps.connections.open, called with the app-level token, answers a
//     one-time websocket URL: ws://HOST/link/?ticket=…&app_id=….
//   - On that websocket the emulator first sends {"type":"hello",…}, then
//     pings every socketPingEvery (slack-go reconnects when pings stop).
//   - Each slash command or button press is one envelope:
//     {"envelope_id":…, "type":"slash_commands"|"interactive",
//     "payload":{…}, "accepts_response_payload":…}. The bot acks it with
//     {"envelope_id":…, "payload":{…}}; the payload is optional and, for a
//     slash command, is what an HTTP answer's body would be.
//   - DisconnectSockets sends {"type":"disconnect",…}, and Slack sends
//     nothing more on a connection it asked to close.

// socketPingEvery is how often the emulator pings each connection. slack-go
// gives up on a connection after 30 s without a ping.
const socketPingEvery = 10 * time.Second

// socketState is the emulator's side of Socket Mode. Server.mu guards it.
type socketState struct {
	tickets map[string]bool                 // one-time websocket tickets
	conns   []*socketConn                   // open connections, oldest first
	acks    map[string]chan json.RawMessage // envelopes awaiting their ack
	changed chan struct{}                   // closed and replaced when conns change
	closed  bool                            // Close was called
	wg      sync.WaitGroup                  // one per connection's handler
	// last is the last envelope delivered, for Resend.
	last *envelope
}

// envelope is what one delivery sent.
type envelope struct {
	id, kind        string
	payload         any
	acceptsResponse bool
	attempt         int
}

// socketConn is one open Socket Mode connection.
type socketConn struct {
	ws       *websocket.Conn
	wmu      sync.Mutex // gorilla/websocket allows one writer at a time
	draining bool       // sent a disconnect; guarded by Server.mu
	done     chan struct{}
}

func (c *socketConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	return c.ws.WriteJSON(v)
}

// socketsChanged wakes whoever waits on the connections. Callers hold s.mu.
func (s *Server) socketsChanged() {
	close(s.sock.changed)
	s.sock.changed = make(chan struct{})
}

// appsConnectionsOpen answers apps.connections.open, whose caller sent tok
// (not empty).
func (s *Server) appsConnectionsOpen(w http.ResponseWriter, tok string) {
	switch {
	case tok == s.opts.BotToken:
		writeJSON(w, http.StatusOK, apiErr("not_allowed_token_type"))
		return
	case s.opts.AppToken == "" || tok != s.opts.AppToken:
		writeJSON(w, http.StatusOK, apiErr("invalid_auth"))
		return
	}
	ticket := randomHex(16)
	s.mu.Lock()
	s.sock.tickets[ticket] = true
	s.mu.Unlock()
	url := "ws" + strings.TrimPrefix(s.baseURL, "http") + "/link/?ticket=" + ticket + "&app_id=" + s.opts.AppID
	writeJSON(w, http.StatusOK, obj{"ok": true, "url": url})
}

var upgrader = websocket.Upgrader{
	// slack-go sends "Origin: https://api.slack.com"; the one-time ticket
	// is what authenticates the connection.
	CheckOrigin: func(*http.Request) bool { return true },
}

// serveSocket serves a websocket URL that apps.connections.open handed out,
// until the bot or Close closes it.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	ok := s.sock.tickets[ticket] && !s.sock.closed
	delete(s.sock.tickets, ticket)
	s.mu.Unlock()
	if !ok {
		http.Error(w, "invalid_ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	c := &socketConn{ws: ws, done: make(chan struct{})}

	s.mu.Lock()
	if s.sock.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.sock.wg.Add(1)
	defer s.sock.wg.Done()
	n := len(s.sock.conns) + 1
	s.mu.Unlock()

	// hello goes first, before the connection can carry an envelope.
	if err := c.write(obj{
		"type":            "hello",
		"num_connections": n,
		"debug_info":      obj{"host": "applink-emu", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": obj{"app_id": s.opts.AppID},
	}); err != nil {
		_ = ws.Close()
		return
	}
	s.mu.Lock()
	if s.sock.closed {
		// Close ran while hello was on its way; it did not see c.
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.sock.conns = append(s.sock.conns, c)
	s.socketsChanged()
	s.mu.Unlock()

	var pinger sync.WaitGroup
	pinger.Go(func() {
		t := time.NewTicker(socketPingEvery)
		defer t.Stop()
		for {
			// WriteControl may run alongside other writes.
			if ws.WriteControl(websocket.PingMessage, []byte("emu"), time.Now().Add(5*time.Second)) != nil {
				return
			}
			select {
			case <-c.done:
				return
			case <-t.C:
			}
		}
	})

	s.readAcks(c)

	s.mu.Lock()
	for i, o := range s.sock.conns {
		if o == c {
			s.sock.conns = append(s.sock.conns[:i], s.sock.conns[i+1:]...)
			break
		}
	}
	s.socketsChanged()
	s.mu.Unlock()
	close(c.done)
	_ = ws.Close()
	pinger.Wait()
}

// readAcks reads the bot's acks until the connection closes. An ack nobody
// waits for (late, or for an unknown envelope) is dropped, as Slack drops
// it; the delivery that waited reports the missing ack.
func (s *Server) readAcks(c *socketConn) {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		ch := s.sock.acks[ack.EnvelopeID]
		delete(s.sock.acks, ack.EnvelopeID)
		s.mu.Unlock()
		if ch != nil {
			ch <- ack.Payload // buffered: the waiter may have given up
		}
	}
}

// liveSocket returns the connection to deliver to: the newest one not
// asked to disconnect. A bot still connecting gets the time it has to
// answer (BotTimeout) to finish.
func (s *Server) liveSocket() (*socketConn, error) {
	deadline := time.NewTimer(s.opts.BotTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		var c *socketConn
		for _, o := range s.sock.conns {
			if !o.draining {
				c = o
			}
		}
		changed := s.sock.changed
		s.mu.Unlock()
		if c != nil {
			return c, nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil, errors.New("slackemu: no Socket Mode connection is open (Slack would show the user dispatch_failed)")
		}
	}
}

// deliver sends an envelope over the bot's connection and waits up to
// BotTimeout for its ack. The Response is 200 with the ack's payload as its
// body (JSON), or no body if the ack had none.
func (s *Server) deliver(kind string, payload any, acceptsResponse bool) (Response, error) {
	return s.sendEnvelope(&envelope{id: envelopeID(), kind: kind, payload: payload, acceptsResponse: acceptsResponse})
}

// Resend sends the last envelope again, with its envelope_id and
// retry_attempt one more, as Slack does when an ack came late or not at
// all (retry_reason "timeout"), and waits for its ack.
func (s *Server) Resend() (Response, error) {
	s.mu.Lock()
	last := s.sock.last
	s.mu.Unlock()
	if last == nil {
		return Response{}, fmt.Errorf("slackemu: no envelope to send again")
	}
	again := *last
	again.attempt++
	return s.sendEnvelope(&again)
}

func (s *Server) sendEnvelope(e *envelope) (Response, error) {
	kind, id := e.kind, e.id
	c, err := s.liveSocket()
	if err != nil {
		return Response{}, err
	}
	acked := make(chan json.RawMessage, 1)
	s.mu.Lock()
	s.sock.acks[id] = acked
	s.sock.last = e
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sock.acks, id)
		s.mu.Unlock()
	}()
	msg := obj{
		"envelope_id":              id,
		"type":                     kind,
		"payload":                  e.payload,
		"accepts_response_payload": e.acceptsResponse,
	}
	if e.attempt > 0 {
		msg["retry_attempt"], msg["retry_reason"] = e.attempt, "timeout"
	}
	if err := c.write(msg); err != nil {
		return Response{}, fmt.Errorf("slackemu: sending a %s envelope: %w", kind, err)
	}
	timeout := time.NewTimer(s.opts.BotTimeout)
	defer timeout.Stop()
	select {
	case p := <-acked:
		resp := Response{Status: http.StatusOK, Header: http.Header{}}
		if len(p) > 0 && string(p) != "null" {
			resp.Header.Set("Content-Type", "application/json")
			resp.Body = p
		}
		return resp, nil
	case <-c.done:
		return Response{}, fmt.Errorf("slackemu: the Socket Mode connection closed before the bot acked %s envelope %s", kind, id)
	case <-timeout.C:
		return Response{}, fmt.Errorf("slackemu: the bot did not ack %s envelope %s within %s (Slack would retry it)", kind, id, s.opts.BotTimeout)
	}
}

// envelopeID makes an envelope_id, shaped like Slack's (a UUID).
func envelopeID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// SocketConnections returns how many Socket Mode connections are open and
// not asked to disconnect.
func (s *Server) SocketConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveSockets()
}

func (s *Server) liveSockets() int {
	n := 0
	for _, c := range s.sock.conns {
		if !c.draining {
			n++
		}
	}
	return n
}

// WaitSocketConnections waits until exactly n Socket Mode connections are
// open and not asked to disconnect, or returns ctx's error.
func (s *Server) WaitSocketConnections(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		got, changed := s.liveSockets(), s.sock.changed
		s.mu.Unlock()
		if got == n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("slackemu: %d Socket Mode connections open, want %d: %w", got, n, ctx.Err())
		case <-changed:
		}
	}
}

// DisconnectSockets asks every open Socket Mode connection to go away, as
// Slack does before it recycles a server (reason "refresh_requested",
// "warning" or "link_disabled"), and returns how many it asked. Nothing more
// is delivered on them; the bot is expected to open a new connection.
func (s *Server) DisconnectSockets(reason string) int {
	s.mu.Lock()
	var asked []*socketConn
	for _, c := range s.sock.conns {
		if !c.draining {
			c.draining = true
			asked = append(asked, c)
		}
	}
	if len(asked) > 0 {
		s.socketsChanged()
	}
	s.mu.Unlock()
	for _, c := range asked {
		// A connection that is already gone needs no asking.
		_ = c.write(obj{"type": "disconnect", "reason": reason, "debug_info": obj{"host": "applink-emu"}})
	}
	return len(asked)
}

// closeSockets closes every Socket Mode connection and waits for their
// handlers; no new one is accepted.
func (s *Server) closeSockets() {
	s.mu.Lock()
	s.sock.closed = true
	conns := append([]*socketConn(nil), s.sock.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		// Closing makes the connection's reader return; Close may run
		// alongside it.
		_ = c.ws.Close()
	}
	s.sock.wg.Wait()
}
