package slackemu

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/slack-go/slack/slacktest"
)

// Slack's limits, as its API enforces them.
const (
	maxTextLen = 40000
	maxBlocks  = 50
)

// bind registers the emulator's Web API handlers on slacktest's mux. It runs
// before slacktest registers its own handlers, and slacktest keeps the first
// handler for a pattern, so these replace slacktest's.
func (s *Server) bind(c slacktest.Customize) {
	for method, h := range map[string]func(url.Values) any{
		"chat.postMessage":      s.chatPostMessage,
		"chat.postEphemeral":    s.chatPostEphemeral,
		"chat.update":           s.chatUpdate,
		"chat.delete":           s.chatDelete,
		"chat.getPermalink":     s.chatGetPermalink,
		"auth.test":             s.authTest,
		"users.info":            s.usersInfo,
		"conversations.info":    s.conversationsInfo,
		"conversations.replies": s.conversationsReplies,
		"conversations.history": s.conversationsHistory,
		"usergroups.users.list": s.usergroupsUsersList,
	} {
		c.Handle("/"+method, apiHandler(h))
	}
	// Slack answers methods it does not have like this; slacktest would 404.
	c.Handle("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, apiErr("unknown_method"))
	})
}

// serveFront is the emulator's own front handler: response URLs and Socket
// Mode websockets are served here; every Web API call is counted, subjected
// to FailNext and the token check, then answered here (apps.connections.open)
// or proxied to slacktest.
func (s *Server) serveFront(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/commands/") || strings.HasPrefix(r.URL.Path, "/actions/") {
		s.serveResponseURL(w, r)
		return
	}
	if r.URL.Path == "/link/" {
		s.serveSocket(w, r)
		return
	}
	method := strings.TrimPrefix(r.URL.Path, "/")
	params, err := readParams(r)

	s.mu.Lock()
	s.calls[method]++
	f := s.takeFailure(method)
	lose := f == nil && s.lost[method] > 0
	if lose {
		s.lost[method]--
	}
	s.mu.Unlock()

	if f != nil {
		for k, vs := range f.header {
			w.Header()[k] = vs
		}
		code := f.slackErr
		switch {
		case code != "":
		case f.status == http.StatusTooManyRequests:
			code = "ratelimited"
		default:
			code = "emulated_failure"
		}
		writeJSON(w, f.status, apiErr(code))
		return
	}
	if err != nil {
		writeJSON(w, http.StatusOK, apiErr("invalid_form_data"))
		return
	}
	switch tok := token(r, params); {
	case tok == "":
		writeJSON(w, http.StatusOK, apiErr("not_authed"))
		return
	case method == "apps.connections.open":
		s.appsConnectionsOpen(w, tok)
		return
	case s.opts.AppToken != "" && tok == s.opts.AppToken:
		writeJSON(w, http.StatusOK, apiErr("not_allowed_token_type"))
		return
	case tok != s.opts.BotToken:
		writeJSON(w, http.StatusOK, apiErr("invalid_auth"))
		return
	}
	if lose {
		s.proxy.ServeHTTP(httptest.NewRecorder(), r) // done, and the answer dropped
		http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
		return
	}
	s.proxy.ServeHTTP(w, r)
}

// token returns the token a Web API call carries: Authorization: Bearer, else
// the token parameter.
func token(r *http.Request, params url.Values) string {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(tok)
	}
	return params.Get("token")
}

// readParams returns a Web API call's arguments: the query string, plus the
// body, form-encoded or JSON (non-string JSON values are kept as JSON text,
// e.g. blocks). It leaves r.Body readable again.
func readParams(r *http.Request) (url.Values, error) {
	params := url.Values{}
	for k, vs := range r.URL.Query() {
		params[k] = append(params[k], vs...)
	}
	if r.Body == nil {
		return params, nil
	}
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return params, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return params, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			return params, err
		}
		for k, raw := range obj {
			var str string
			switch {
			case string(raw) == "null":
			case json.Unmarshal(raw, &str) == nil:
				params.Set(k, str)
			default:
				params.Set(k, string(raw))
			}
		}
		return params, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return params, err
	}
	for k, vs := range form {
		params[k] = append(params[k], vs...)
	}
	return params, nil
}

func apiHandler(h func(url.Values) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		params, err := readParams(r)
		if err != nil {
			writeJSON(w, http.StatusOK, apiErr("invalid_form_data"))
			return
		}
		writeJSON(w, http.StatusOK, h(params))
	}
}

type obj = map[string]any

func apiErr(code string) obj { return obj{"ok": false, "error": code} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// content is a message's content as a call gives it. A nil Blocks or
// Attachments with the has flag set means "clear them".
type content struct {
	text                   string
	hasText                bool
	blocks, attachments    json.RawMessage
	hasBlocks, hasAttached bool
	// metadata is the message metadata given, or nil; chat.update keeps
	// the message's metadata when the call has none.
	metadata json.RawMessage
}

// readContent validates text, blocks and attachments; it returns a Slack error
// code if they are invalid.
func readContent(p url.Values) (content, string) {
	c := content{text: p.Get("text"), hasText: p.Has("text")}
	if len([]rune(c.text)) > maxTextLen {
		return c, "msg_too_long"
	}
	var ok bool
	if c.blocks, c.hasBlocks, ok = jsonArray(p, "blocks", maxBlocks); !ok {
		return c, "invalid_blocks"
	}
	if c.attachments, c.hasAttached, ok = jsonArray(p, "attachments", 100); !ok {
		return c, "invalid_attachments"
	}
	if p.Has("metadata") {
		if c.metadata, ok = validMetadata(p.Get("metadata")); !ok {
			return c, "invalid_metadata_format"
		}
	}
	return c, ""
}

// validMetadata checks message metadata as Slack does: a JSON object with
// a string event_type and an object event_payload. It returns the metadata
// (nil for {}, which clears it).
func validMetadata(raw string) (json.RawMessage, bool) {
	var md struct {
		EventType    *string         `json:"event_type"`
		EventPayload json.RawMessage `json:"event_payload"`
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		return nil, false
	}
	if len(fields) == 0 {
		return nil, true
	}
	if err := json.Unmarshal([]byte(raw), &md); err != nil || md.EventType == nil || *md.EventType == "" {
		return nil, false
	}
	var payload map[string]any
	if err := json.Unmarshal(md.EventPayload, &payload); err != nil || payload == nil {
		return nil, false
	}
	return json.RawMessage(raw), true
}

// jsonArray reads parameter name as a JSON array of at most max objects. It
// returns the array (nil if empty), whether the parameter was given, and
// whether it was valid.
func jsonArray(p url.Values, name string, max int) (json.RawMessage, bool, bool) {
	if !p.Has(name) {
		return nil, false, true
	}
	arr, ok := validArray(json.RawMessage(p.Get(name)), max)
	return arr, true, ok
}

// validArray checks that raw is a JSON array of at most max objects. It
// returns the array, or nil if raw is empty, null or [].
func validArray(raw json.RawMessage, max int) (json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, true
	}
	var items []map[string]any
	if err := json.Unmarshal(raw, &items); err != nil || len(items) > max {
		return nil, false
	}
	if len(items) == 0 {
		return nil, true
	}
	return slices.Clone(raw), true
}

func (c content) empty() bool {
	return c.text == "" && c.blocks == nil && c.attachments == nil
}

func (s *Server) chatPostMessage(p url.Values) any {
	c, code := readContent(p)
	if code != "" {
		return apiErr(code)
	}
	if c.empty() {
		return apiErr("no_text")
	}
	var resp any
	s.change(func() []Event {
		ch, ok := s.resolveChannel(p.Get("channel"))
		if !ok {
			resp = apiErr("channel_not_found")
			return nil
		}
		m := s.newMessage(ch.id, p.Get("thread_ts"), c)
		m.Metadata = c.metadata
		m.ReplyBroadcast = m.ThreadTS != "" && p.Get("reply_broadcast") == "true"
		resp = obj{"ok": true, "channel": ch.id, "ts": m.TS, "message": s.messageJSON(m)}
		return []Event{event("posted", m)}
	})
	return resp
}

func (s *Server) chatPostEphemeral(p url.Values) any {
	c, code := readContent(p)
	if code != "" {
		return apiErr(code)
	}
	if c.empty() {
		return apiErr("no_text")
	}
	var resp any
	s.change(func() []Event {
		ch, ok := s.resolveChannel(p.Get("channel"))
		if !ok {
			resp = apiErr("channel_not_found")
			return nil
		}
		u, ok := s.users[p.Get("user")]
		if !ok || u.isBot {
			resp = apiErr("user_not_in_channel")
			return nil
		}
		m := s.newMessage(ch.id, p.Get("thread_ts"), c)
		m.Ephemeral, m.ToUser = true, u.id
		resp = obj{"ok": true, "message_ts": m.TS}
		return []Event{event("posted", m)}
	})
	return resp
}

// newMessage adds a message from the bot. Callers hold s.mu.
func (s *Server) newMessage(channelID, threadTS string, c content) *message {
	s.touchSeq++
	m := &message{
		Message: Message{
			Channel:     channelID,
			TS:          s.nextTS(),
			ThreadTS:    threadTS,
			User:        s.opts.BotUserID,
			Text:        c.text,
			Blocks:      c.blocks,
			Attachments: c.attachments,
		},
		touched: s.touchSeq,
	}
	s.msgs = append(s.msgs, m)
	return m
}

// edited is m's content after applying c. With replace, fields c lacks are
// cleared (a response_url replace_original); otherwise they are kept
// (chat.update).
func edited(m *message, c content, replace bool) content {
	next := content{text: m.Text, blocks: m.Blocks, attachments: m.Attachments}
	if replace || c.hasText {
		next.text = c.text
	}
	if replace || c.hasBlocks {
		next.blocks = c.blocks
	}
	if replace || c.hasAttached {
		next.attachments = c.attachments
	}
	return next
}

// setContent gives m new content and counts the update. Callers hold s.mu.
func (s *Server) setContent(m *message, c content) {
	m.Text, m.Blocks, m.Attachments = c.text, c.blocks, c.attachments
	m.Updates++
	s.touchSeq++
	m.touched = s.touchSeq
}

func (s *Server) chatUpdate(p url.Values) any {
	c, code := readContent(p)
	if code != "" {
		return apiErr(code)
	}
	if !c.hasText && !c.hasBlocks && !c.hasAttached {
		return apiErr("no_text")
	}
	var resp any
	s.change(func() []Event {
		ch, ok := s.resolveChannel(p.Get("channel"))
		if !ok {
			resp = apiErr("channel_not_found")
			return nil
		}
		m := s.findMessage(ch.id, p.Get("ts"))
		if m == nil {
			resp = apiErr("message_not_found")
			return nil
		}
		next := edited(m, c, false)
		if next.empty() {
			resp = apiErr("no_text")
			return nil
		}
		s.setContent(m, next)
		if p.Has("metadata") {
			m.Metadata = c.metadata
		}
		resp = obj{"ok": true, "channel": ch.id, "ts": m.TS, "text": m.Text, "message": s.messageJSON(m)}
		return []Event{event("updated", m)}
	})
	return resp
}

func (s *Server) chatDelete(p url.Values) any {
	var resp any
	s.change(func() []Event {
		ch, ok := s.resolveChannel(p.Get("channel"))
		if !ok {
			resp = apiErr("channel_not_found")
			return nil
		}
		m := s.findMessage(ch.id, p.Get("ts"))
		if m == nil {
			resp = apiErr("message_not_found")
			return nil
		}
		m.Deleted = true
		resp = obj{"ok": true, "channel": ch.id, "ts": m.TS}
		return []Event{event("deleted", m)}
	})
	return resp
}

func (s *Server) chatGetPermalink(p url.Values) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.resolveChannel(p.Get("channel"))
	if !ok {
		return apiErr("channel_not_found")
	}
	m := s.findMessage(ch.id, p.Get("message_ts"))
	if m == nil {
		return apiErr("message_not_found")
	}
	return obj{"ok": true, "channel": ch.id, "permalink": s.permalink(m)}
}

// permalink is
// https://<domain>.slack.com/archives/<channel>/p<ts without the dot>, with
// ?thread_ts=<parent ts>&cid=<channel> for a reply.
func (s *Server) permalink(m *message) string {
	link := "https://" + s.opts.TeamDomain + ".slack.com/archives/" + m.Channel + "/p" + strings.ReplaceAll(m.TS, ".", "")
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		link += "?" + url.Values{"thread_ts": {m.ThreadTS}, "cid": {m.Channel}}.Encode()
	}
	return link
}

func (s *Server) authTest(url.Values) any {
	return obj{
		"ok":                    true,
		"url":                   "https://" + s.opts.TeamDomain + ".slack.com/",
		"team":                  s.opts.TeamName,
		"user":                  s.opts.BotName,
		"team_id":               s.opts.TeamID,
		"user_id":               s.opts.BotUserID,
		"bot_id":                s.opts.BotID,
		"is_enterprise_install": false,
	}
}

func (s *Server) usersInfo(p url.Values) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[p.Get("user")]
	if !ok {
		return apiErr("user_not_found")
	}
	profile := obj{
		"real_name":               u.name,
		"real_name_normalized":    u.name,
		"display_name":            u.name,
		"display_name_normalized": u.name,
		"team":                    s.opts.TeamID,
	}
	if u.isBot {
		profile["bot_id"] = s.opts.BotID
		profile["api_app_id"] = s.opts.AppID
	}
	return obj{"ok": true, "user": obj{
		"id":          u.id,
		"team_id":     s.opts.TeamID,
		"name":        u.name,
		"deleted":     false,
		"real_name":   u.name,
		"tz":          "Etc/UTC",
		"tz_label":    "Coordinated Universal Time",
		"tz_offset":   0,
		"profile":     profile,
		"is_bot":      u.isBot,
		"is_app_user": false,
		"updated":     1700000000,
	}}
}

func (s *Server) conversationsInfo(p url.Values) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[p.Get("channel")]
	if !ok {
		return apiErr("channel_not_found")
	}
	c := obj{
		"id":              ch.id,
		"created":         1700000000,
		"is_archived":     false,
		"is_member":       true,
		"is_private":      false,
		"context_team_id": s.opts.TeamID,
	}
	if ch.isIM {
		c["is_im"] = true
		c["user"] = ch.imUser
	} else {
		c["name"] = ch.name
		c["name_normalized"] = ch.name
		c["is_channel"] = true
		c["creator"] = s.opts.BotUserID
	}
	return obj{"ok": true, "channel": c}
}

// conversationsReplies answers conversations.replies: the thread's parent
// and its replies, oldest first, limit at a time (default 100, at most
// 1000) with a cursor for the rest. Metadata is included only with
// include_all_metadata, as Slack does. A ts that is not a message is
// thread_not_found; a reply's ts gives that reply alone.
func (s *Server) conversationsReplies(p url.Values) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.resolveChannel(p.Get("channel"))
	if !ok {
		return apiErr("channel_not_found")
	}
	ts := p.Get("ts")
	if ts == "" {
		return apiErr("invalid_arguments")
	}
	parent := s.findMessage(ch.id, ts)
	if parent == nil {
		return apiErr("thread_not_found")
	}
	thread := []*message{parent}
	if parent.ThreadTS == "" || parent.ThreadTS == parent.TS {
		for _, m := range s.msgs {
			if m.Channel == ch.id && m.ThreadTS == ts && m.TS != ts && !m.Ephemeral && !m.Deleted {
				thread = append(thread, m)
			}
		}
	}
	return s.page(p, thread)
}

// conversationsHistory answers conversations.history: the channel's
// messages (not thread replies, unless also sent to the channel), newest
// first, after oldest and up to latest (exclusive, unless inclusive),
// paged as conversations.replies is.
func (s *Server) conversationsHistory(p url.Values) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.resolveChannel(p.Get("channel"))
	if !ok {
		return apiErr("channel_not_found")
	}
	oldest, latest := p.Get("oldest"), p.Get("latest")
	inclusive := p.Get("inclusive") == "true" || p.Get("inclusive") == "1"
	within := func(ts string) bool {
		if oldest != "" && (tsBefore(ts, oldest) || (!inclusive && ts == oldest)) {
			return false
		}
		return latest == "" || tsBefore(ts, latest) || (inclusive && ts == latest)
	}
	var history []*message
	for i := len(s.msgs) - 1; i >= 0; i-- {
		m := s.msgs[i]
		top := m.ThreadTS == "" || m.ThreadTS == m.TS || m.ReplyBroadcast
		if m.Channel == ch.id && top && !m.Ephemeral && !m.Deleted && within(m.TS) {
			history = append(history, m)
		}
	}
	return s.page(p, history)
}

// tsBefore orders two message ts ("1700000000.000100") by time: by their
// seconds, then their fraction.
func tsBefore(a, b string) bool {
	as, af, _ := strings.Cut(a, ".")
	bs, bf, _ := strings.Cut(b, ".")
	if len(as) != len(bs) {
		return len(as) < len(bs)
	}
	if as != bs {
		return as < bs
	}
	return af+strings.Repeat("0", max(0, len(bf)-len(af))) < bf+strings.Repeat("0", max(0, len(af)-len(bf)))
}

// page answers a message list limit at a time (default 100, at most 1000)
// with a cursor for the rest, with each message's metadata when the call
// asks include_all_metadata, as Slack does.
func (s *Server) page(p url.Values, list []*message) any {
	limit := 100
	if l := p.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return apiErr("invalid_limit")
		}
		limit = min(n, 1000)
	}
	start := 0
	if c := p.Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "cur_"))
		if err != nil || !strings.HasPrefix(c, "cur_") || n < 0 || n > len(list) {
			return apiErr("invalid_cursor")
		}
		start = n
	}
	end := min(start+limit, len(list))
	withMeta := p.Get("include_all_metadata") == "true" || p.Get("include_all_metadata") == "1"
	msgs := make([]obj, 0, end-start)
	for _, m := range list[start:end] {
		j := s.messageJSON(m)
		if withMeta && m.Metadata != nil {
			j["metadata"] = m.Metadata
		}
		msgs = append(msgs, j)
	}
	next := ""
	if end < len(list) {
		next = "cur_" + strconv.Itoa(end)
	}
	return obj{"ok": true, "messages": msgs, "has_more": next != "", "response_metadata": obj{"next_cursor": next}}
}

func (s *Server) usergroupsUsersList(p url.Values) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := p.Get("usergroup")
	if id == "" {
		return apiErr("invalid_arguments")
	}
	g, ok := s.groups[id]
	if !ok {
		return apiErr("no_such_subteam")
	}
	// "users":[] for an empty group, never null, as Slack sends it.
	return obj{"ok": true, "users": append([]string{}, g.members...)}
}

// messageJSON is a message in Slack's JSON shape, as API answers and
// interaction payloads carry it.
func (s *Server) messageJSON(m *message) obj {
	j := obj{
		"type":   "message",
		"user":   m.User,
		"bot_id": s.opts.BotID,
		"app_id": s.opts.AppID,
		"team":   s.opts.TeamID,
		"text":   m.Text,
		"ts":     m.TS,
	}
	if m.ThreadTS != "" {
		j["thread_ts"] = m.ThreadTS
	}
	if m.Blocks != nil {
		j["blocks"] = withBlockIDs(m.Blocks)
	}
	if m.Attachments != nil {
		j["attachments"] = m.Attachments
	}
	return j
}
