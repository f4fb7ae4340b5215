// Package slack is migratebot's adapter to Slack's Web API: it posts, updates
// and shows messages (bot.Chat), turning the domain's messages into Block Kit.
package slack

import (
	"context"
	"fmt"
	"net/http"
	"time"

	goslack "github.com/slack-go/slack"

	"github.com/migratebot/migratebot/bot"
)

// Chat implements bot.Chat with slack-go.
type Chat struct {
	api *goslack.Client
}

var _ bot.Chat = (*Chat)(nil)

// New returns a Chat posting with the bot token. apiURL is Slack's Web API
// base ("" for https://slack.com/api/); timeout bounds each call.
func New(token, apiURL string, timeout time.Duration) *Chat {
	opts := []goslack.Option{goslack.OptionHTTPClient(&http.Client{Timeout: timeout})}
	if apiURL != "" {
		opts = append(opts, goslack.OptionAPIURL(apiURL))
	}
	return &Chat{api: goslack.New(token, opts...)}
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

// msgOptions renders a message: its text as the notification fallback and as
// a section block, and its buttons as an actions block.
func msgOptions(m bot.Message) []goslack.MsgOption {
	return []goslack.MsgOption{goslack.MsgOptionText(m.Text, false), goslack.MsgOptionBlocks(Blocks(m)...)}
}

// Blocks renders a message as Block Kit.
func Blocks(m bot.Message) []goslack.Block {
	blocks := []goslack.Block{
		goslack.NewSectionBlock(goslack.NewTextBlockObject(goslack.MarkdownType, m.Text, false, false), nil, nil),
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
