package slack

import (
	"strings"
	"testing"

	"github.com/migratebot/migratebot/bot"
)

// TestLongMessagesSplitIntoSections: Slack refuses a section over 3000
// characters; a long plan (diffs) is cut at line ends, fences kept whole.
func TestLongMessagesSplitIntoSections(t *testing.T) {
	var b strings.Builder
	b.WriteString("*Remaining steps*\n```")
	for i := range 400 {
		b.WriteString("+    weight: ")
		b.WriteString(strings.Repeat("9", i%7))
		b.WriteString("\n")
	}
	b.WriteString("```\nthe end")
	text := b.String()
	parts := splitText(text, maxSectionText)
	if len(parts) < 2 {
		t.Fatalf("%d parts for %d bytes", len(parts), len(text))
	}
	var joined strings.Builder
	for i, p := range parts {
		if len(p) > maxSectionText {
			t.Errorf("part %d has %d bytes", i, len(p))
		}
		if strings.Count(p, "```")%2 != 0 {
			t.Errorf("part %d leaves a code fence open:\n%s", i, p)
		}
		joined.WriteString(strings.TrimSuffix(strings.TrimPrefix(p, "```\n"), "\n```"))
	}
	if !strings.Contains(joined.String(), "the end") || len(Blocks(bot.Message{Text: text})) != len(parts) {
		t.Error("text lost in the split")
	}
	if got := splitText("short", maxSectionText); len(got) != 1 || got[0] != "short" {
		t.Errorf("short text split: %q", got)
	}
}
