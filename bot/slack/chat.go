// Package slack is migratebot's adapter to Slack's Web API: it posts, updates
// and shows messages (bot.Chat), turning the domain's messages into Block Kit.
package slack

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/golang-lru/v2/expirable"
	goslack "github.com/slack-go/slack"

	"github.com/migratebot/migratebot/bot"
)

// Chat implements bot.Chat with slack-go.
type Chat struct {
	api *goslack.Client
	// names caches UserName's answers: each step names its requester on
	// its ticket, and a name seldom changes within the hour.
	names *expirable.LRU[string, string]
}

// Names are cached this long, for this many users.
const (
	nameTTL   = time.Hour
	nameCache = 10000
)

var _ bot.Chat = (*Chat)(nil)

// New returns a Chat posting with the bot token. apiURL is Slack's Web API
// base ("" for https://slack.com/api/); timeout bounds each call; transport
// carries the calls (nil: Go's default), for metrics.
func New(token, apiURL string, timeout time.Duration, transport http.RoundTripper) *Chat {
	opts := []goslack.Option{goslack.OptionHTTPClient(&http.Client{Timeout: timeout, Transport: transport})}
	if apiURL != "" {
		opts = append(opts, goslack.OptionAPIURL(apiURL))
	}
	// A 429 is retried after its Retry-After: Slack did nothing, and a
	// message dropped for a rate limit would leave a step unsaid.
	opts = append(opts, goslack.OptionRetry(3))
	return &Chat{api: goslack.New(token, opts...), names: expirable.NewLRU[string, string](nameCache, nil, nameTTL)}
}

// Post implements bot.Chat.
func (c *Chat) Post(ctx context.Context, channel, threadTS string, m bot.Message) (string, error) {
	opts := msgOptions(m)
	if threadTS != "" {
		opts = append(opts, goslack.MsgOptionTS(threadTS))
	}
	_, ts, err := c.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", fmt.Errorf("post in %s: %w", channel, err)
	}
	return ts, nil
}

// Update implements bot.Chat.
func (c *Chat) Update(ctx context.Context, channel, ts string, m bot.Message) error {
	if _, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts, msgOptions(m)...); err != nil {
		return fmt.Errorf("update %s in %s: %w", ts, channel, err)
	}
	return nil
}

// Ephemeral implements bot.Chat.
func (c *Chat) Ephemeral(ctx context.Context, channel, user string, m bot.Message) error {
	if _, err := c.api.PostEphemeralContext(ctx, channel, user, msgOptions(m)...); err != nil {
		return fmt.Errorf("tell %s in %s: %w", user, channel, err)
	}
	return nil
}

// UserName implements bot.Chat (users.info, remembered for an hour; the
// token needs users:read).
func (c *Chat) UserName(ctx context.Context, user string) (string, error) {
	if name, ok := c.names.Get(user); ok {
		return name, nil
	}
	u, err := c.api.GetUserInfoContext(ctx, user)
	if err != nil {
		return "", fmt.Errorf("read user %s: %w", user, err)
	}
	name := user
	for _, n := range []string{u.Profile.DisplayName, u.Profile.RealName, u.RealName, u.Name} {
		if n != "" {
			name = n
			break
		}
	}
	c.names.Add(user, name)
	return name, nil
}

// GroupMembers implements bot.Chat (usergroups.users.list; the token needs
// usergroups:read).
func (c *Chat) GroupMembers(ctx context.Context, group string) ([]string, error) {
	members, err := c.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("read the members of user group %s: %w", group, err)
	}
	return members, nil
}

// FindInThread implements bot.Chat: it reads the thread (conversations.replies, a
// page of 200 at a time; the token needs channels:history, and
// groups:history for private channels) for the bot's message whose metadata
// carries key.
func (c *Chat) FindInThread(ctx context.Context, channel, threadTS, key string) (string, error) {
	params := &goslack.GetConversationRepliesParameters{ChannelID: channel, Timestamp: threadTS, Limit: 200, IncludeAllMetadata: true}
	for {
		msgs, more, cursor, err := c.api.GetConversationRepliesContext(ctx, params)
		if err != nil {
			return "", fmt.Errorf("read the thread %s in %s: %w", threadTS, channel, err)
		}
		if ts := keyed(msgs, key); ts != "" {
			return ts, nil
		}
		if !more || cursor == "" {
			return "", nil
		}
		params.Cursor = cursor
	}
}

// FindInChannel implements bot.Chat: it reads the channel's latest
// messages, newest first (conversations.history, 200 at a time; the same
// scopes as FindInThread), for the bot's message whose metadata carries key. It
// reads no further back than historyDepth messages: the message sought was
// posted moments before the bot lost track of it, and the bot's clock and
// Slack's need not agree.
func (c *Chat) FindInChannel(ctx context.Context, channel, key string) (string, error) {
	params := &goslack.GetConversationHistoryParameters{ChannelID: channel, Limit: 200, IncludeAllMetadata: true}
	for read := 0; read < historyDepth; {
		resp, err := c.api.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return "", fmt.Errorf("read the history of %s: %w", channel, err)
		}
		if ts := keyed(resp.Messages, key); ts != "" {
			return ts, nil
		}
		read += len(resp.Messages)
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" || len(resp.Messages) == 0 {
			break
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	return "", nil
}

// historyDepth is how many of a channel's latest messages FindInChannel reads.
const historyDepth = 1000

// keyed returns the ts of the message whose metadata carries key, or "".
func keyed(msgs []goslack.Message, key string) string {
	for _, m := range msgs {
		if m.Metadata.EventType == metadataType && m.Metadata.EventPayload["key"] == key {
			return m.Timestamp
		}
	}
	return ""
}

// metadataType is the event_type of the metadata the bot's keyed messages
// carry.
const metadataType = "migratebot_message"

// msgOptions renders a message: its text as the notification fallback and as
// a section block, its buttons as an actions block, and its key as metadata.
func msgOptions(m bot.Message) []goslack.MsgOption {
	opts := []goslack.MsgOption{goslack.MsgOptionText(m.Text, false), goslack.MsgOptionBlocks(Blocks(m)...)}
	if m.Key != "" {
		opts = append(opts, goslack.MsgOptionMetadata(goslack.SlackMetadata{EventType: metadataType, EventPayload: map[string]any{"key": m.Key}}))
	}
	return opts
}

// Blocks renders a message as Block Kit.
func Blocks(m bot.Message) []goslack.Block {
	var blocks []goslack.Block
	for _, part := range splitText(m.Text, maxSectionText) {
		blocks = append(blocks, goslack.NewSectionBlock(goslack.NewTextBlockObject(goslack.MarkdownType, part, false, false), nil, nil))
	}
	if len(m.Buttons) > 0 {
		elems := make([]goslack.BlockElement, 0, len(m.Buttons))
		for _, b := range m.Buttons {
			btn := goslack.NewButtonBlockElement(b.ActionID, b.Value, goslack.NewTextBlockObject(goslack.PlainTextType, b.Text, false, false))
			if b.Style != "" {
				btn.Style = goslack.Style(b.Style)
			}
			elems = append(elems, btn)
		}
		blocks = append(blocks, goslack.NewActionBlock("migratebot_actions", elems...))
	}
	return blocks
}

// maxSectionText is Slack's limit on a section block's text.
const maxSectionText = 3000

// splitText cuts text into parts of at most limit bytes, at line ends where
// it can, keeping ``` code fences balanced in each part.
func splitText(text string, limit int) []string {
	if len(text) <= limit {
		return []string{text}
	}
	var parts []string
	var cur strings.Builder
	inFence := false
	flush := func() {
		s := cur.String()
		if inFence {
			s += "\n```"
		}
		parts = append(parts, s)
		cur.Reset()
		if inFence {
			cur.WriteString("```\n")
		}
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		for len(line) > limit-8 { // a line longer than a part: cut it
			if cur.Len() > 0 {
				flush()
			}
			cut := limit - 8 - cur.Len()
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			cur.WriteString(line[:cut])
			flush()
			line = line[cut:]
		}
		if cur.Len()+len(line) > limit-8 {
			flush()
		}
		cur.WriteString(line)
		if strings.Count(line, "```")%2 == 1 {
			inFence = !inFence
		}
	}
	if cur.Len() > 0 {
		inFence = false
		parts = append(parts, cur.String())
	}
	return parts
}
