package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	goslack "github.com/slack-go/slack"

	"github.com/migratebot/migratebot/bot"
)

// SlackInteractions answers Slack's interactivity requests: a button whose
// action id is "migrate:<verb>" and whose value is the migration's
// "env/service" runs `/migrate <verb> <service>` as the user who pressed it.
// Over HTTP (ServeHTTP) it checks the signature first; in Socket Mode,
// SlackSocket hands it the interactions.
type SlackInteractions struct {
	// Secret is the signing secret; only ServeHTTP uses it.
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
	if err := h.Take(r.Context(), cb); err != nil {
		h.Log.ErrorContext(r.Context(), "could not take a button press", "slack_team", cb.Team.ID, "slack_user", cb.User.ID, "err", err)
		// Slack shows the user that the press failed.
		http.Error(w, "queue unavailable", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Take runs an interaction whose origin was already checked: it queues a
// command for each migratebot button pressed and ignores everything else.
// An error means a press could not be queued; the caller should tell Slack
// it failed, so the user sees it and can press again.
func (h *SlackInteractions) Take(ctx context.Context, cb goslack.InteractionCallback) error {
	if cb.Type != goslack.InteractionTypeBlockActions {
		return nil
	}
	log := h.Log.With("slack_team", cb.Team.ID, "slack_user", cb.User.ID, "channel", cb.Channel.ID)
	for _, a := range cb.ActionCallback.BlockActions {
		verb, ok := strings.CutPrefix(a.ActionID, "migrate:")
		if !ok {
			continue
		}
		key, err := bot.ParseServiceKey(a.Value)
		if err != nil || !bot.ValidServiceName(key.Service) {
			log.WarnContext(ctx, "button without a migration", "action_id", a.ActionID, "value", a.Value)
			continue
		}
		if _, err := bot.ParseCommand(verb); err != nil || cb.User.ID == "" || cb.Channel.ID == "" || cb.Team.ID == "" {
			// The bot's buttons are its verbs, pressed by someone somewhere.
			log.WarnContext(ctx, "button that is no migratebot command", "action_id", a.ActionID)
			continue
		}
		job := bot.Job{Kind: bot.JobCommand, Command: &bot.CommandRequest{
			Team: cb.Team.ID, Channel: cb.Channel.ID, User: cb.User.ID, Text: verb, Service: key.Service,
		}}
		trigger := ""
		if cb.TriggerID != "" {
			trigger = cb.TriggerID + "/" + a.ActionID
		}
		dup, err := enqueueOnce(ctx, h.Queue, trigger, job)
		if err != nil {
			return fmt.Errorf("queue button %s for %s: %w", a.ActionID, key, err)
		}
		if dup {
			log.InfoContext(ctx, "button press sent again ignored", "action_id", a.ActionID, "trigger_id", cb.TriggerID)
			continue
		}
		log.InfoContext(ctx, "button queued", "action_id", a.ActionID, "migration", key.String())
	}
	return nil
}
