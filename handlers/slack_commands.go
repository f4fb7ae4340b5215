package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	goslack "github.com/slack-go/slack"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/config"
)

// SlackCommands answers Slack's slash-command requests: it checks the
// signature, answers bad input and help at once (to the user alone), and
// queues everything else for a worker. It answers within milliseconds.
type SlackCommands struct {
	Secret string
	Config *config.Config
	Queue  bot.Queue
	Log    *slog.Logger
}

func (h *SlackCommands) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := verifySlack(w, r, h.Secret, h.Log)
	if !ok {
		return
	}
	cmd, err := goslack.SlashCommandParse(withBody(r, body))
	if err != nil {
		h.Log.WarnContext(r.Context(), "unreadable slash command", "err", err)
		http.Error(w, "unreadable slash command", http.StatusBadRequest)
		return
	}
	log := h.Log.With("slack_team", cmd.TeamID, "slack_user", cmd.UserID, "channel", cmd.ChannelID)
	parsed, err := bot.ParseCommand(cmd.Text)
	var usage *bot.UsageError
	switch {
	case errors.As(err, &usage):
		log.InfoContext(r.Context(), "bad command", "text", cmd.Text, "problem", usage.Problem)
		ephemeral(w, usage.Error())
		return
	case err != nil:
		ephemeral(w, err.Error())
		return
	case parsed.Verb == bot.VerbHelp:
		ephemeral(w, bot.HelpText())
		return
	case parsed.Service != "" && h.Config.Services[parsed.Service] == nil:
		ephemeral(w, (&bot.UsageError{
			Problem: fmt.Sprintf("%q is not a configured service. Configured: %s.", parsed.Service, joinNames(h.Config.ServiceNames())),
			Usage:   bot.Usage(parsed.Verb),
		}).Error())
		return
	}
	job := bot.Job{Kind: bot.JobCommand, Command: &bot.CommandRequest{
		Team: cmd.TeamID, Channel: cmd.ChannelID, User: cmd.UserID, Text: cmd.Text,
	}}
	if err := h.Queue.Enqueue(r.Context(), job); err != nil {
		log.ErrorContext(r.Context(), "could not queue a command", "err", err)
		ephemeral(w, "migratebot could not take your command just now (its queue is unavailable). Nothing was changed; please try again.")
		return
	}
	log.InfoContext(r.Context(), "command queued", "verb", parsed.Verb, "service", parsed.Service)
	// An empty 200 shows nothing: the worker answers in the thread, or to
	// the user alone.
	w.WriteHeader(http.StatusOK)
}

// ephemeral answers a slash command with a message only its user sees.
func ephemeral(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "application/json")
	// Encoding a string into a ResponseWriter cannot fail in a way the
	// client could still be told about.
	_ = json.NewEncoder(w).Encode(goslack.Msg{ResponseType: goslack.ResponseTypeEphemeral, Text: text})
}
