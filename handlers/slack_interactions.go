package handlers

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	goslack "github.com/slack-go/slack"

	"github.com/migratebot/migratebot/bot"
)

// SlackInteractions answers Slack's interactivity requests: a button whose
// action id is "migrate:<verb>" and whose value is the migration's
// "env/service" runs `/migrate <verb> <service>` as the user who pressed it.
type SlackInteractions struct {
	Secret string
	Queue  bot.Queue
	Log    *slog.Logger
}

func (h *SlackInteractions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := verifySlack(w, r, h.Secret, h.Log)
	if !ok {
		return
	}
	if err := withBody(r, body).ParseForm(); err != nil {
		http.Error(w, "unreadable form", http.StatusBadRequest)
		return
	}
	var cb goslack.InteractionCallback
	if err := json.Unmarshal([]byte(r.PostForm.Get("payload")), &cb); err != nil {
		h.Log.WarnContext(r.Context(), "unreadable interaction payload", "err", err)
		http.Error(w, "unreadable payload", http.StatusBadRequest)
		return
	}
	if cb.Type != goslack.InteractionTypeBlockActions {
		w.WriteHeader(http.StatusOK)
		return
	}
	for _, a := range cb.ActionCallback.BlockActions {
		verb, ok := strings.CutPrefix(a.ActionID, "migrate:")
		if !ok {
			continue
		}
		key, err := bot.ParseServiceKey(a.Value)
		if err != nil {
			h.Log.WarnContext(r.Context(), "button without a migration", "action_id", a.ActionID, "value", a.Value)
			continue
		}
		job := bot.Job{Kind: bot.JobCommand, Command: &bot.CommandRequest{
			Team: cb.Team.ID, Channel: cb.Channel.ID, User: cb.User.ID, Text: verb, Service: key.Service,
		}}
		if err := h.Queue.Enqueue(r.Context(), job); err != nil {
			h.Log.ErrorContext(r.Context(), "could not queue a button press", "err", err)
			http.Error(w, "queue unavailable", http.StatusServiceUnavailable)
			return
		}
		h.Log.InfoContext(r.Context(), "button queued", "slack_user", cb.User.ID, "action_id", a.ActionID, "migration", key.String())
	}
	w.WriteHeader(http.StatusOK)
}
