package slack

import (
	"context"
	"fmt"
	"testing"

	"github.com/migratebot/migratebot/bot"
)

// TestFindKeyedMessage: a message posted with a key is found in its thread
// by that key, past the first page of replies and after an update; another
// key, or another thread, finds nothing.
func TestFindKeyedMessage(t *testing.T) {
	chat, emu := emulated(t)
	emu.AddChannel("C0MIGRATE", "migrations")
	ctx := context.Background()

	root, err := chat.Post(ctx, "C0MIGRATE", "", bot.Message{Text: "search: old → new"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := chat.Post(ctx, "C0MIGRATE", "", bot.Message{Text: "billing: old → new"})
	if err != nil {
		t.Fatal(err)
	}
	var early string
	for i := range 250 { // more than a page
		ts, err := chat.Post(ctx, "C0MIGRATE", root, bot.Message{Text: fmt.Sprint("note ", i), Key: fmt.Sprint("note-", i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			early = ts
		}
	}
	step, err := chat.Post(ctx, "C0MIGRATE", root, bot.Message{Text: "weights-10 opened", Key: "m1/weights-10/1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := chat.Update(ctx, "C0MIGRATE", step, bot.Message{Text: "weights-10 merged", Key: "m1/weights-10/1"}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ thread, key, want string }{
		{root, "m1/weights-10/1", step},
		{root, "note-3", early},
		{root, "m1/weights-10/2", ""},
		{other, "m1/weights-10/1", ""},
	} {
		got, err := chat.FindInThread(ctx, "C0MIGRATE", tc.thread, tc.key)
		if err != nil || got != tc.want {
			t.Errorf("FindInThread(%s, %q) = %q, %v; want %q", tc.thread, tc.key, got, err, tc.want)
		}
	}
	if calls := emu.Calls()["conversations.replies"]; calls < 2 {
		t.Errorf("%d conversations.replies calls: the pages were not read", calls)
	}
	if _, err := chat.FindInThread(ctx, "C0MIGRATE", "1.000009", "k"); err == nil {
		t.Error("FindInThread in a thread that does not exist: no error")
	}
}

// TestFindKeyedMessageInChannel: a channel message posted with a key is
// found among the channel's latest messages, past the first page, and not
// in its threads; another key, or a message older than the latest
// thousand, is not found.
func TestFindKeyedMessageInChannel(t *testing.T) {
	chat, emu := emulated(t)
	emu.AddChannel("C0MIGRATE", "migrations")
	ctx := context.Background()
	post := func(thread string, m bot.Message) string {
		t.Helper()
		ts, err := chat.Post(ctx, "C0MIGRATE", thread, m)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	post("", bot.Message{Text: "billing: plan", Key: "plan/billing"})
	for i := range historyDepth {
		post("", bot.Message{Text: fmt.Sprint("other ", i)})
	}
	plan := post("", bot.Message{Text: "search: plan", Key: "plan/search"})
	post(plan, bot.Message{Text: "weights-10", Key: "step/search"})
	for i := range 250 {
		post("", bot.Message{Text: fmt.Sprint("more ", i)})
	}
	for _, tc := range []struct{ key, want string }{
		{"plan/search", plan},
		{"step/search", ""},  // a thread reply
		{"plan/billing", ""}, // more than a thousand messages back
		{"plan/nothing", ""},
	} {
		got, err := chat.FindInChannel(ctx, "C0MIGRATE", tc.key)
		if err != nil || got != tc.want {
			t.Errorf("FindInChannel(%q) = %q, %v; want %q", tc.key, got, err, tc.want)
		}
	}
	if _, err := chat.FindInChannel(ctx, "C0NOWHERE", "k"); err == nil {
		t.Error("FindInChannel in a channel that does not exist: no error")
	}
}
