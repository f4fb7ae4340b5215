package slack

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	goslack "github.com/slack-go/slack"

	"github.com/migratebot/migratebot/test/slackemu"
)

// emulated returns a Chat talking to a Slack emulator of its own.
func emulated(t *testing.T) (*Chat, *slackemu.Server) {
	t.Helper()
	const token = "xoxb-test"
	emu := slackemu.New(slackemu.Options{BotToken: token})
	t.Cleanup(emu.Close)
	return New(token, emu.APIURL(), 5*time.Second, nil), emu
}

func TestGroupMembers(t *testing.T) {
	chat, emu := emulated(t)
	emu.AddUserGroup("S0APPROVERS", "change-approvers", "U0ALICE", "U0BOB")
	ctx := context.Background()

	got, err := chat.GroupMembers(ctx, "S0APPROVERS")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"U0ALICE", "U0BOB"}, got); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}

	_, err = chat.GroupMembers(ctx, "S0NOPE")
	var se goslack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "no_such_subteam" {
		t.Errorf("unknown group: %v, want no_such_subteam", err)
	}
}

func TestUserName(t *testing.T) {
	chat, emu := emulated(t)
	emu.AddUser("U0CAROL", "carol")
	ctx := context.Background()
	if got, err := chat.UserName(ctx, "U0CAROL"); err != nil || got != "carol" {
		t.Errorf("UserName(U0CAROL) = %q, %v; want carol", got, err)
	}
	var se goslack.SlackErrorResponse
	for range 2 { // a failure is not remembered
		if _, err := chat.UserName(ctx, "U0NOBODY"); !errors.As(err, &se) || se.Err != "user_not_found" {
			t.Errorf("unknown user: %v, want user_not_found", err)
		}
	}
	// Asked again, the name is remembered: no second users.info.
	for range 3 {
		if got, err := chat.UserName(ctx, "U0CAROL"); err != nil || got != "carol" {
			t.Errorf("UserName(U0CAROL) again = %q, %v; want carol", got, err)
		}
	}
	if calls := emu.Calls()["users.info"]; calls != 3 {
		t.Errorf("%d users.info calls, want 3 (carol once, the unknown user twice)", calls)
	}
}
