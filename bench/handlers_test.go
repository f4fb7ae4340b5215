package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	gh "github.com/google/go-github/v88/github"
	segjson "github.com/segmentio/encoding/json"
)

// The bot's HTTP handlers in-process (app.New's Handler, no network, a real
// redis-server): the CPU and allocations one request costs the bot, apart
// from the load generator's. round-trips/op are calls to Redis.

func BenchmarkSlackCommand(b *testing.B) {
	rdb, prefix := testRedis(b)
	hook := &CountingHook{}
	rdb.AddHook(hook)
	a, err := NewApp(context.Background(), rdb, prefix, "http://127.0.0.1:1/api/")
	if err != nil {
		b.Fatal(err)
	}
	cmds := SlashCommands(BenchSecret, "status search", b.N) // each taken once
	b.ReportAllocs()
	trips0 := hook.Count()
	b.ResetTimer()
	for i := range b.N {
		req, err := cmds[i%len(cmds)].request(context.Background(), "http://bot/slack/commands")
		if err != nil {
			b.Fatal(err)
		}
		rec := httptest.NewRecorder()
		a.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
			b.Fatalf("answered %d %q", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(hook.Count()-trips0)/float64(b.N), "round-trips/op")
}

func BenchmarkWebhook(b *testing.B) {
	for _, tc := range []struct {
		name       string
		redeliver  bool
		wantStatus int
	}{
		{"new delivery", false, http.StatusAccepted},
		{"redelivery", true, http.StatusOK},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rdb, prefix := testRedis(b)
			hook := &CountingHook{}
			rdb.AddHook(hook)
			a, err := NewApp(context.Background(), rdb, prefix, "http://127.0.0.1:1/api/")
			if err != nil {
				b.Fatal(err)
			}
			plan, err := PlanWebhooks("..", BenchSecret, 64, b.N, 0, 1)
			if err != nil {
				b.Fatal(err)
			}
			send := func(i int) int {
				d := plan.Deliveries[i]
				if tc.redeliver {
					d = plan.Deliveries[0]
				}
				req := plan.request(context.Background(), "http://bot/github/webhooks", d)
				rec := httptest.NewRecorder()
				a.Handler.ServeHTTP(rec, req)
				return rec.Code
			}
			if tc.redeliver {
				send(0)
			}
			b.ReportAllocs()
			trips0 := hook.Count()
			b.ResetTimer()
			for i := range b.N {
				if code := send(i); code != tc.wantStatus {
					b.Fatalf("answered %d, want %d", code, tc.wantStatus)
				}
			}
			b.ReportMetric(float64(hook.Count()-trips0)/float64(b.N), "round-trips/op")
		})
	}
}

// BenchmarkWebhookParts times, on the same 28 KB payload, the two steps of
// the webhook handler that read the whole body: checking its signature and
// decoding it, into go-github's event as the handler once did, and into
// the fields it uses as it does now.
func BenchmarkWebhookParts(b *testing.B) {
	plan, err := PlanWebhooks("..", BenchSecret, 1, 1, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	body := plan.bodies[0]
	b.Run("ValidatePayload", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := plan.request(context.Background(), "http://bot/github/webhooks", plan.Deliveries[0])
			if _, err := gh.ValidatePayload(req, []byte(BenchSecret)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParseWebHook", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := gh.ParseWebHook("pull_request", body.body); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What the handler uses of a pull_request event, decoded alone, as the
	// handler has done since (handlers/github_webhook_fields.go) instead of
	// ParseWebHook: with the standard library, and with segmentio's
	// encoding/json, which the handler uses.
	type prFields struct {
		Action      string `json:"action"`
		PullRequest struct {
			Number   int  `json:"number"`
			Merged   bool `json:"merged"`
			MergedBy struct {
				Login string `json:"login"`
			} `json:"merged_by"`
		} `json:"pull_request"`
		Sender struct {
			Login string `json:"login"`
		} `json:"sender"`
		Repository struct {
			FullName string `json:"full_name"`
			Owner    struct {
				Login string `json:"login"`
			} `json:"owner"`
		} `json:"repository"`
		Installation struct {
			ID int64 `json:"id"`
		} `json:"installation"`
	}
	for _, dec := range []struct {
		name      string
		unmarshal func([]byte, any) error
	}{
		{"decode the fields used", json.Unmarshal},
		{"decode the fields used, segmentio", segjson.Unmarshal},
	} {
		b.Run(dec.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var ev prFields
				if err := dec.unmarshal(body.body, &ev); err != nil || ev.Action != "closed" {
					b.Fatal(ev.Action, err)
				}
			}
		})
	}
}
