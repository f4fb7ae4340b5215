package httpretry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	at := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"-3", 0, false},
		{"soon", 0, false},
		{"Wed, 21 Oct 2015 07:28:00 GMT", 0, true}, // past: no wait
	} {
		resp := &http.Response{Header: http.Header{}}
		if tc.header != "" {
			resp.Header.Set("Retry-After", tc.header)
		}
		if got, ok := RetryAfter(resp); got != tc.want || ok != tc.ok {
			t.Errorf("Retry-After %q = %s, %v; want %s, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
	resp := &http.Response{Header: http.Header{"Retry-After": {at}}}
	if got, ok := RetryAfter(resp); !ok || got < 80*time.Second || got > 90*time.Second {
		t.Errorf("Retry-After %q = %s, %v; want about 90s", at, got, ok)
	}
	if _, ok := RetryAfter(nil); ok {
		t.Error("no answer has a Retry-After")
	}
}

func TestOutlasts(t *testing.T) {
	if Outlasts(context.Background(), time.Hour) {
		t.Error("a context without a deadline is outlasted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !Outlasts(ctx, 2*time.Minute) || Outlasts(ctx, time.Second) {
		t.Error("Outlasts misjudges a one-minute deadline")
	}
}

func TestNeverSent(t *testing.T) {
	if !NeverSent(&net.OpError{Op: "dial", Err: errors.New("refused")}) {
		t.Error("a refused dial was sent")
	}
	if NeverSent(&net.OpError{Op: "read", Err: errors.New("reset")}) || NeverSent(errors.New("other")) {
		t.Error("a failed read, or another error, counts as never sent")
	}
}
