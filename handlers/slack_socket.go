package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	goslack "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// ackWithin is how long Slack waits for an envelope's ack before it gives
// up on it (and retries it, or shows the user an error). Work on an
// envelope is bounded by it: an ack sent later is wasted.
const ackWithin = 3 * time.Second

// SlackSocket receives slash commands and button presses over Slack's
// Socket Mode, for a bot that cannot expose a public URL: it opens a
// websocket to Slack (apps.connections.open with the app-level token) and
// acks each envelope it gets, after handing it to Commands or Interactions
// exactly as the HTTP endpoints do.
//
// It needs only the app-level token: the websocket is authenticated by it,
// so there is no signature to check, and it makes no Web API call. The bot
// token (MIGRATEBOT_SLACK_BOT_TOKEN) is still what the workers post with,
// and the Slack app still needs its slash command and interactivity turned
// on, with Socket Mode enabled instead of request URLs.
type SlackSocket struct {
	// AppToken is the app-level token (xapp-…) with the connections:write
	// scope.
	AppToken string
	// APIURL is Slack's Web API base, ending in "/"; empty means
	// https://slack.com/api/.
	APIURL       string
	Commands     *SlackCommands
	Interactions *SlackInteractions
	Log          *slog.Logger
}

// Run keeps a Socket Mode connection open and handles what arrives on it
// until ctx is done. A connection Slack asks to refresh, or that drops, is
// reopened, with backoff, as slack-go's client does. When ctx is done, Run
// stops taking envelopes, lets the ones in hand be acked, closes the
// connection and returns nil. It returns an error when the connection
// cannot be opened for a reason retrying will not fix, such as a wrong or
// revoked app token.
func (s *SlackSocket) Run(ctx context.Context) error {
	if !strings.HasPrefix(s.AppToken, "xapp-") {
		// A bot token (xoxb-) here would be refused as the wrong type.
		return errors.New("slack socket mode: the app-level token must be an xapp- token (Basic Information → App-Level Tokens, scope connections:write)")
	}
	opts := []goslack.Option{goslack.OptionAppLevelToken(s.AppToken)}
	if s.APIURL != "" {
		opts = append(opts, goslack.OptionAPIURL(s.APIURL))
	}
	// No bot token: this client only opens the connection and acks.
	client := socketmode.New(goslack.New("", opts...))

	// The connection outlives ctx until the envelopes in hand are acked.
	connCtx, closeConn := context.WithCancel(context.WithoutCancel(ctx))
	defer closeConn()
	runErr := make(chan error, 1)
	go func() { runErr <- client.RunContext(connCtx) }()

	var inHand sync.WaitGroup
	// stop lets the envelopes in hand be acked, then closes the connection.
	stop := func() {
		inHand.Wait()
		closeConn()
		// The client returns the cancellation once it has closed the
		// connection; that is the shutdown asked for, not a failure.
		<-runErr
	}
	for {
		select {
		case <-ctx.Done():
			stop()
			s.Log.InfoContext(ctx, "slack socket mode closed")
			return nil
		case err := <-runErr:
			inHand.Wait()
			return fmt.Errorf("slack socket mode: %w", err)
		case evt := <-client.Events:
			if evt.Request != nil && evt.Request.EnvelopeID != "" {
				inHand.Go(func() { s.handle(ctx, client, evt) })
				continue
			}
			if err := refusal(evt); err != nil {
				stop()
				return fmt.Errorf("slack socket mode: apps.connections.open: %w", err)
			}
			s.logConnection(ctx, evt)
		}
	}
}

// refusals are the apps.connections.open errors that no retry fixes.
// slack-go stops by itself on invalid_auth, not_authed, account_inactive and
// token_revoked, but retries these forever.
var refusals = map[string]bool{
	"not_allowed_token_type": true, // not an app-level token
	"missing_scope":          true, // the token lacks connections:write
	"token_expired":          true,
	"no_permission":          true,
}

// refusal returns the error of a failed connection attempt that no retry
// fixes, or nil.
func refusal(evt socketmode.Event) error {
	e, ok := evt.Data.(*goslack.ConnectionErrorEvent)
	if !ok || evt.Type != socketmode.EventTypeConnectionError {
		return nil
	}
	var se goslack.SlackErrorResponse
	if errors.As(e.ErrorObj, &se) && refusals[se.Err] {
		return e.ErrorObj
	}
	return nil
}

// handle takes one envelope and acks it. Each envelope gets its own
// goroutine, as each HTTP request does, so a slow queue delays no other.
// An envelope left without an ack makes Slack show the user an error.
func (s *SlackSocket) handle(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	req := evt.Request
	log := s.Log.With("envelope_id", req.EnvelopeID, "envelope_type", req.Type)
	// The work is bounded by Slack's deadline, not by ctx: an envelope taken
	// is finished and acked during shutdown.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackWithin)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			log.ErrorContext(ctx, "panic handling a Slack envelope; not acked", "panic", fmt.Sprint(p))
		}
	}()
	if req.RetryAttempt > 0 {
		log.WarnContext(ctx, "Slack redelivered an envelope", "retry_attempt", req.RetryAttempt, "retry_reason", req.RetryReason)
	}

	var payload any
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(goslack.SlashCommand)
		if !ok {
			log.ErrorContext(ctx, "slash command envelope without a command", "data", fmt.Sprintf("%T", evt.Data))
			return
		}
		reply, err := s.Commands.Take(ctx, cmd)
		if err != nil {
			commandLog(log, cmd).ErrorContext(ctx, "could not take a slash command", "err", err)
		}
		if reply != nil {
			// The ack carries what an HTTP answer's body would.
			payload = reply
		}
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(goslack.InteractionCallback)
		if !ok {
			log.ErrorContext(ctx, "interactive envelope without a callback", "data", fmt.Sprintf("%T", evt.Data))
			return
		}
		if err := s.Interactions.Take(ctx, cb); err != nil {
			// No ack, as over HTTP a 503: Slack shows the press failed.
			log.ErrorContext(ctx, "could not take a button press; not acked", "slack_team", cb.Team.ID, "slack_user", cb.User.ID, "err", err)
			return
		}
	default:
		// Events API envelopes: the app subscribes to none. Acked, so Slack
		// does not send it again.
		log.InfoContext(ctx, "ignored a Slack envelope")
	}
	if err := client.AckCtx(ctx, req.EnvelopeID, payload); err != nil {
		log.ErrorContext(ctx, "could not ack a Slack envelope", "err", err)
	}
}

// logConnection logs the client's own events: connecting, connected,
// errors.
func (s *SlackSocket) logConnection(ctx context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		if e, ok := evt.Data.(*goslack.ConnectingEvent); ok {
			s.Log.DebugContext(ctx, "slack socket mode connecting", "attempt", e.Attempt, "connection", e.ConnectionCount)
		}
	case socketmode.EventTypeConnected:
		count := 0
		if e, ok := evt.Data.(*socketmode.ConnectedEvent); ok {
			count = e.ConnectionCount
		}
		s.Log.InfoContext(ctx, "slack socket mode connected", "connection", count)
	case socketmode.EventTypeHello:
		s.Log.DebugContext(ctx, "slack socket mode hello")
	case socketmode.EventTypeConnectionError:
		if e, ok := evt.Data.(*goslack.ConnectionErrorEvent); ok {
			s.Log.WarnContext(ctx, "slack socket mode could not connect; retrying", "attempt", e.Attempt, "backoff", e.Backoff, "err", e.ErrorObj)
		}
	case socketmode.EventTypeInvalidAuth:
		s.Log.ErrorContext(ctx, "slack socket mode refused the app-level token")
	case socketmode.EventTypeIncomingError:
		if e, ok := evt.Data.(*goslack.IncomingEventError); ok {
			s.Log.WarnContext(ctx, "slack socket mode read failed", "err", e.ErrorObj)
		}
	case socketmode.EventTypeErrorBadMessage:
		if e, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
			s.Log.WarnContext(ctx, "unreadable message from Slack", "err", e.Cause, "bytes", len(e.Message))
		}
	case socketmode.EventTypeErrorWriteFailed:
		if e, ok := evt.Data.(*socketmode.ErrorWriteFailed); ok {
			id := ""
			if e.Response != nil {
				id = e.Response.EnvelopeID
			}
			s.Log.ErrorContext(ctx, "could not send an ack to Slack", "envelope_id", id, "err", e.Cause)
		}
	default:
		s.Log.DebugContext(ctx, "slack socket mode event", "type", string(evt.Type))
	}
}
