package slackemu

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SlashCommand runs a slash command as userID in channelID: it POSTs the
// command to the bot's CommandURL, form-encoded and signed as Slack does, with
// all the fields Slack sends. The response_url it gives points back at the
// emulator, which records what the bot POSTs there.
//
// The bot's immediate answer is recorded as Slack shows it: an empty 200 body
// records nothing; a JSON body (slack.Msg shape) is a message, ephemeral to
// userID unless response_type is "in_channel"; any other 200 body is shown to
// userID as ephemeral text. Non-200 answers record nothing.
//
// In Socket Mode the same fields go, as a JSON object of strings, in a
// "slash_commands" envelope; the Response is 200 with the ack's payload as
// its body, recorded as a JSON answer would be. An envelope not acked within
// BotTimeout is an error.
func (s *Server) SlashCommand(userID, channelID, command, text string) (Response, error) {
	s.mu.Lock()
	target, socket := s.commandURL, s.opts.SocketMode
	u, uok := s.users[userID]
	ch, cok := s.channels[channelID]
	if (target == "" && !socket) || !uok || !cok {
		s.mu.Unlock()
		switch {
		case target == "" && !socket:
			return Response{}, errors.New("slackemu: no command URL set")
		case !uok:
			return Response{}, fmt.Errorf("slackemu: unknown user %q", userID)
		default:
			return Response{}, fmt.Errorf("slackemu: unknown channel %q", channelID)
		}
	}
	responseURL, hk := s.newHook("commands", userID, channelID, nil)
	form := url.Values{
		"token":                 {s.opts.VerificationToken},
		"team_id":               {s.opts.TeamID},
		"team_domain":           {s.opts.TeamDomain},
		"channel_id":            {ch.id},
		"channel_name":          {channelName(ch)},
		"user_id":               {u.id},
		"user_name":             {u.name},
		"command":               {command},
		"text":                  {text},
		"api_app_id":            {s.opts.AppID},
		"is_enterprise_install": {"false"},
		"response_url":          {responseURL},
		"trigger_id":            {s.triggerID()},
	}
	s.mu.Unlock()

	var resp Response
	var err error
	if socket {
		fields := make(map[string]string, len(form))
		for k := range form {
			fields[k] = form.Get(k)
		}
		resp, err = s.deliver("slash_commands", fields, true)
	} else {
		resp, err = s.send(target, []byte(form.Encode()))
	}
	if err != nil || resp.Status != http.StatusOK || len(bytes.TrimSpace(resp.Body)) == 0 {
		return resp, err
	}
	rm := responseMsg{Text: string(resp.Body)}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "application/json" {
		rm = responseMsg{}
		if err := json.Unmarshal(resp.Body, &rm); err != nil {
			return resp, fmt.Errorf("slackemu: bot answered %s with invalid JSON: %w", command, err)
		}
	}
	if code := s.respond(hk, rm); code != "" {
		return resp, fmt.Errorf("slackemu: bot's answer to %s rejected: %s", command, code)
	}
	return resp, nil
}

// Click presses the button with this action_id, as userID, on the newest
// message (by when it was posted or last updated) that has one and that userID
// sees (ephemeral messages to other users are skipped). It POSTs a
// block_actions payload to the bot's InteractionURL, signed, as Slack does.
// What the bot POSTs to the payload's response_url is recorded; the bot's
// immediate answer is not (Slack ignores it for block_actions).
//
// As Slack does, the payload has no "message" when the message is ephemeral:
// Slack does not keep ephemeral messages. The container still identifies it.
//
// In Socket Mode the payload goes in an "interactive" envelope instead; the
// Response is 200 with the ack's payload, if any. An envelope not acked
// within BotTimeout is an error.
func (s *Server) Click(userID, actionID string) (Response, error) {
	s.mu.Lock()
	target, socket := s.interactionURL, s.opts.SocketMode
	u, uok := s.users[userID]
	var m *message
	var btn button
	for _, cand := range s.msgs {
		if cand.Deleted || (cand.Ephemeral && cand.ToUser != userID) || (m != nil && cand.touched < m.touched) {
			continue
		}
		if b, ok := findButton(cand.Blocks, actionID); ok {
			m, btn = cand, b
		}
	}
	if (target == "" && !socket) || !uok || m == nil {
		s.mu.Unlock()
		switch {
		case target == "" && !socket:
			return Response{}, errors.New("slackemu: no interaction URL set")
		case !uok:
			return Response{}, fmt.Errorf("slackemu: unknown user %q", userID)
		default:
			return Response{}, fmt.Errorf("slackemu: no message has a button with action_id %q", actionID)
		}
	}
	responseURL, _ := s.newHook("actions", userID, m.Channel, m)
	container := obj{
		"type":         "message",
		"message_ts":   m.TS,
		"channel_id":   m.Channel,
		"is_ephemeral": m.Ephemeral,
	}
	if m.ThreadTS != "" {
		container["thread_ts"] = m.ThreadTS
	}
	action := obj{
		"type":      "button",
		"action_id": actionID,
		"block_id":  btn.blockID,
		"action_ts": nowTS(),
	}
	if btn.text != nil {
		action["text"] = btn.text
	}
	if btn.value != nil {
		action["value"] = btn.value
	}
	chName := m.Channel
	if ch, ok := s.channels[m.Channel]; ok {
		chName = channelName(ch)
	}
	payload := obj{
		"type":                  "block_actions",
		"token":                 s.opts.VerificationToken,
		"api_app_id":            s.opts.AppID,
		"trigger_id":            s.triggerID(),
		"response_url":          responseURL,
		"user":                  obj{"id": u.id, "username": u.name, "name": u.name, "team_id": s.opts.TeamID},
		"team":                  obj{"id": s.opts.TeamID, "domain": s.opts.TeamDomain},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               obj{"id": m.Channel, "name": chName},
		"container":             container,
		"state":                 obj{"values": obj{}},
		"actions":               []obj{action},
	}
	if !m.Ephemeral {
		payload["message"] = s.messageJSON(m)
	}
	s.mu.Unlock()

	if socket {
		// Slack takes no response payload for block_actions.
		return s.deliver("interactive", payload, false)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return Response{}, err
	}
	return s.send(target, []byte(url.Values{"payload": {string(b)}}.Encode()))
}

// SignedRequest returns a POST of body to url, form-encoded and signed with
// secret at ts the way Slack signs requests. Tests of the bot's request checks
// use it to send stale or wrongly signed requests. It panics if url is invalid.
func (s *Server) SignedRequest(url string, body []byte, ts time.Time, secret string) *http.Request {
	req, err := signedRequest(url, body, ts, secret)
	if err != nil {
		panic("slackemu: " + err.Error())
	}
	return req
}

func signedRequest(url string, body []byte, ts time.Time, secret string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	unix := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	_, _ = io.WriteString(mac, "v0:"+unix+":")
	_, _ = mac.Write(body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	req.Header.Set("X-Slack-Request-Timestamp", unix)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return req, nil
}

// send POSTs a signed request to the bot and reads its answer.
func (s *Server) send(target string, body []byte) (Response, error) {
	req, err := signedRequest(target, body, time.Now(), s.opts.SigningSecret)
	if err != nil {
		return Response{}, fmt.Errorf("slackemu: %w", err)
	}
	resp, err := s.toBot.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("slackemu: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	r := Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if err != nil {
		return r, fmt.Errorf("slackemu: reading the bot's answer: %w", err)
	}
	return r, nil
}

// newHook makes a response_url. Callers hold s.mu.
func (s *Server) newHook(kind, userID, channelID string, origin *message) (string, *hook) {
	path := fmt.Sprintf("/%s/%s/%d/%s", kind, s.opts.TeamID, s.nextID(), randomHex(12))
	hk := &hook{userID: userID, channelID: channelID, origin: origin}
	s.hooks[path] = hk
	return s.baseURL + path, hk
}

// triggerID makes a trigger_id. Callers hold s.mu.
func (s *Server) triggerID() string {
	return fmt.Sprintf("%d.%d.%s", s.nextID(), time.Now().Unix(), randomHex(16))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func nowTS() string {
	now := time.Now()
	return fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
}

func channelName(ch *channel) string {
	if ch.isIM {
		return "directmessage"
	}
	return ch.name
}

// responseMsg is what a bot sends to a response_url or answers a slash
// command with (slack.Msg's shape).
type responseMsg struct {
	ResponseType    string          `json:"response_type"`
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	Attachments     json.RawMessage `json:"attachments"`
	ThreadTS        string          `json:"thread_ts"`
	ReplaceOriginal flexBool        `json:"replace_original"`
	DeleteOriginal  flexBool        `json:"delete_original"`
}

// flexBool accepts true, false, "true" and "false", as Slack does.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch strings.Trim(string(data), `"`) {
	case "true":
		*b = true
	case "false", "null", "":
		*b = false
	default:
		return fmt.Errorf("not a boolean: %s", data)
	}
	return nil
}

// serveResponseURL records what the bot POSTs to a response_url.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, apiErr("method_not_allowed"))
		return
	}
	s.mu.Lock()
	hk, ok := s.hooks[r.URL.Path]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, apiErr("expired_url"))
		return
	}
	var rm responseMsg
	if err := json.NewDecoder(r.Body).Decode(&rm); err != nil {
		writeJSON(w, http.StatusBadRequest, apiErr("invalid_payload"))
		return
	}
	if code := s.respond(hk, rm); code != "" {
		writeJSON(w, http.StatusOK, apiErr(code))
		return
	}
	writeJSON(w, http.StatusOK, obj{"ok": true})
}

// respond applies a response_url message (or a slash command's immediate
// answer): delete_original and replace_original act on the clicked message,
// or for a slash command on the last message this response_url posted;
// anything else is a new message, ephemeral unless response_type is
// "in_channel". It returns a Slack error code, or "".
func (s *Server) respond(hk *hook, rm responseMsg) string {
	c := content{text: rm.Text, hasText: true, hasBlocks: true, hasAttached: true}
	if len([]rune(c.text)) > maxTextLen {
		return "msg_too_long"
	}
	var ok bool
	if c.blocks, ok = validArray(rm.Blocks, maxBlocks); !ok {
		return "invalid_blocks"
	}
	if c.attachments, ok = validArray(rm.Attachments, 100); !ok {
		return "invalid_attachments"
	}
	var code string
	s.change(func() []Event {
		target := hk.origin
		if target == nil {
			target = hk.last
		}
		if target != nil && target.Deleted {
			target = nil
		}
		switch {
		case bool(rm.DeleteOriginal):
			if target == nil {
				code = "message_not_found"
				return nil
			}
			target.Deleted = true
			return []Event{event("deleted", target)}
		case bool(rm.ReplaceOriginal) && target != nil:
			if c.empty() {
				code = "no_text"
				return nil
			}
			s.setContent(target, edited(target, c, true))
			return []Event{event("updated", target)}
		}
		if c.empty() {
			code = "no_text"
			return nil
		}
		m := s.newMessage(hk.channelID, rm.ThreadTS, c)
		if rm.ResponseType != "in_channel" {
			m.Ephemeral, m.ToUser = true, hk.userID
		}
		hk.last = m
		return []Event{event("posted", m)}
	})
	return code
}

// button is a button found in a message's blocks.
type button struct {
	blockID string
	text    any // the button's text object
	value   any // its value, if it has one
}

// findButton finds the button with this action_id in blocks.
func findButton(blocks json.RawMessage, actionID string) (button, bool) {
	if blocks == nil {
		return button{}, false
	}
	var list []map[string]any
	if json.Unmarshal(blocks, &list) != nil {
		return button{}, false
	}
	for i, b := range list {
		if el, ok := findElement(b, actionID); ok {
			return button{blockID: blockID(b, i), text: el["text"], value: el["value"]}, true
		}
	}
	return button{}, false
}

func findElement(v any, actionID string) (map[string]any, bool) {
	switch v := v.(type) {
	case map[string]any:
		if v["type"] == "button" && v["action_id"] == actionID {
			return v, true
		}
		for _, child := range v {
			if el, ok := findElement(child, actionID); ok {
				return el, true
			}
		}
	case []any:
		for _, child := range v {
			if el, ok := findElement(child, actionID); ok {
				return el, true
			}
		}
	}
	return nil, false
}

// blockID is a block's block_id, or, like Slack, one made up for it if the
// bot gave none.
func blockID(b map[string]any, i int) string {
	if id, ok := b["block_id"].(string); ok && id != "" {
		return id
	}
	return fmt.Sprintf("emu%02d", i)
}

// withBlockIDs returns blocks with made-up block_ids filled in where the bot
// gave none, as Slack returns them.
func withBlockIDs(blocks json.RawMessage) json.RawMessage {
	var list []map[string]json.RawMessage
	if json.Unmarshal(blocks, &list) != nil {
		return blocks
	}
	changed := false
	for i, b := range list {
		var id string
		if json.Unmarshal(b["block_id"], &id) != nil || id == "" {
			b["block_id"], _ = json.Marshal(fmt.Sprintf("emu%02d", i))
			changed = true
		}
	}
	if !changed {
		return blocks
	}
	out, err := json.Marshal(list)
	if err != nil {
		return blocks
	}
	return out
}
