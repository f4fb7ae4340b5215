package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	goslack "github.com/slack-go/slack"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/config"
)

// SlackCommands answers Slack's slash commands: it answers bad input and
// help at once (to the user alone), and queues everything else for a
// worker. It answers within milliseconds. Over HTTP (ServeHTTP) it checks
// the signature first; in Socket Mode, SlackSocket hands it the commands.
type SlackCommands struct {
	// Secret is the signing secret; only ServeHTTP uses it.
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
	reply, err := h.Take(r.Context(), cmd)
	if err != nil {
		commandLog(h.Log, cmd).ErrorContext(r.Context(), "could not take a slash command", "err", err)
	}
	if reply == nil {
		// An empty 200 shows nothing: the worker answers in the thread, or
		// to the user alone.
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// Encoding a message into a ResponseWriter cannot fail in a way the
	// client could still be told about.
	_ = json.NewEncoder(w).Encode(reply)
}

// Take runs a slash command whose origin was already checked. A non-nil
// reply is for Slack to show at once, to the user alone: bad input, help,
// or an apology when the command could not be queued (err then says why,
// for the caller to log). A nil reply means the command is queued and Slack
// should show nothing; the worker answers.
func (h *SlackCommands) Take(ctx context.Context, cmd goslack.SlashCommand) (reply *goslack.Msg, err error) {
	log := commandLog(h.Log, cmd)
	if cmd.UserID == "" || cmd.ChannelID == "" || cmd.TeamID == "" {
		// Slack always says who sent a command from where; without it the
		// worker could neither check rights nor answer.
		log.WarnContext(ctx, "slash command without its user, channel or team")
		return ephemeral("migratebot could not tell who sent this command, or from where. Nothing was changed."), nil
	}
	parsed, err := bot.ParseCommand(cmd.Text)
	var usage *bot.UsageError
	switch {
	case errors.As(err, &usage):
		log.InfoContext(ctx, "bad command", "text", cmd.Text, "problem", usage.Problem)
		return ephemeral(usage.Error()), nil
	case err != nil:
		return ephemeral(err.Error()), nil
	case parsed.Verb == bot.VerbHelp:
		return ephemeral(bot.HelpText()), nil
	case parsed.Service != "" && h.Config.Services[parsed.Service] == nil:
		return ephemeral((&bot.UsageError{
			Problem: fmt.Sprintf("%q is not a configured service. Configured: %s.", parsed.Service, joinNames(h.Config.ServiceNames())),
			Usage:   bot.Usage(parsed.Verb),
		}).Error()), nil
	}
	job := bot.Job{Kind: bot.JobCommand, Command: &bot.CommandRequest{
		Team: cmd.TeamID, Channel: cmd.ChannelID, User: cmd.UserID, Text: cmd.Text,
	}}
	dup, err := enqueueOnce(ctx, h.Queue, cmd.TriggerID, job)
	if err != nil {
		return ephemeral("migratebot could not take your command just now (its queue is unavailable). Nothing was changed; please try again."),
			fmt.Errorf("queue /migrate %s: %w", parsed.Verb, err)
	}
	if dup {
		log.InfoContext(ctx, "command sent again ignored", "verb", parsed.Verb, "trigger_id", cmd.TriggerID)
		return nil, nil
	}
	log.InfoContext(ctx, "command queued", "verb", parsed.Verb, "service", parsed.Service)
	return nil, nil
}

// enqueueOnce queues job once per Slack trigger: a trigger_id is one
// command or one press. Slack sends a Socket Mode envelope again when its
// ack was late or lost, and a signed request can be replayed within the
// five minutes its signature holds; neither runs twice. dup reports a
// trigger already queued. Without a trigger id (Slack always sends one)
// the job is queued.
func enqueueOnce(ctx context.Context, q bot.Queue, trigger string, job bot.Job) (dup bool, err error) {
	if trigger == "" {
		return false, q.Enqueue(ctx, job)
	}
	err = q.EnqueueDelivery(ctx, "slack:"+trigger, job)
	if errors.Is(err, bot.ErrDuplicate) {
		return true, nil
	}
	return false, err
}

// commandLog is the logger for one slash command, with its ids.
func commandLog(log *slog.Logger, cmd goslack.SlashCommand) *slog.Logger {
	return log.With("slack_team", cmd.TeamID, "slack_user", cmd.UserID, "channel", cmd.ChannelID)
}

// ephemeral is an answer to a slash command only its user sees.
func ephemeral(text string) *goslack.Msg {
	return &goslack.Msg{ResponseType: goslack.ResponseTypeEphemeral, Text: text}
}
