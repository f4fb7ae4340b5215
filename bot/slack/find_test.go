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
		got, err := chat.Find(ctx, "C0MIGRATE", tc.thread, tc.key)
		if err != nil || got != tc.want {
			t.Errorf("Find(%s, %q) = %q, %v; want %q", tc.thread, tc.key, got, err, tc.want)
		}
	}
	if calls := emu.Calls()["conversations.replies"]; calls < 2 {
		t.Errorf("%d conversations.replies calls: the pages were not read", calls)
	}
	if _, err := chat.Find(ctx, "C0MIGRATE", "1.000009", "k"); err == nil {
		t.Error("Find in a thread that does not exist: no error")
	}
}
