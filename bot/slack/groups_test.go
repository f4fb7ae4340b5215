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

func TestGroupMembers(t *testing.T) {
	const token = "xoxb-test"
	emu := slackemu.New(slackemu.Options{BotToken: token})
	t.Cleanup(emu.Close)
	emu.AddUserGroup("S0APPROVERS", "change-approvers", "U0ALICE", "U0BOB")
	chat := New(token, emu.APIURL(), 5*time.Second, nil)
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
	const token = "xoxb-test"
	emu := slackemu.New(slackemu.Options{BotToken: token})
	t.Cleanup(emu.Close)
	emu.AddUser("U0CAROL", "carol")
	chat := New(token, emu.APIURL(), 5*time.Second, nil)
	ctx := context.Background()
	if got, err := chat.UserName(ctx, "U0CAROL"); err != nil || got != "carol" {
		t.Errorf("UserName(U0CAROL) = %q, %v; want carol", got, err)
	}
	var se goslack.SlackErrorResponse
	if _, err := chat.UserName(ctx, "U0NOBODY"); !errors.As(err, &se) || se.Err != "user_not_found" {
		t.Errorf("unknown user: %v, want user_not_found", err)
	}
}
