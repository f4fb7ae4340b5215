package redact

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestError(t *testing.T) {
	err := fmt.Errorf("GET https://u:hunter2@x/: %w", context.DeadlineExceeded)
	got := Error(err, "hunter2", "")
	if got.Error() != "GET https://u:[redacted]@x/: context deadline exceeded" {
		t.Errorf("text %q", got)
	}
	if !errors.Is(got, context.DeadlineExceeded) {
		t.Error("errors.Is no longer sees the cause")
	}
	if errors.Unwrap(got) != nil {
		t.Error("Unwrap lets the unscrubbed error out")
	}
	plain := errors.New("nothing secret")
	if Error(plain, "hunter2") != plain {
		t.Error("an error without secrets was wrapped")
	}
	if Error(nil, "x") != nil {
		t.Error("nil became an error")
	}
}
