// Package redact keeps secrets out of the texts adapters build from what
// outside systems send back (an error page may echo a header).
package redact

import (
	"errors"
	"strings"
)

// String replaces every non-empty secret in s with "[redacted]".
func String(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// Error returns err with its text scrubbed of secrets, or err itself when
// its text holds none. errors.Is still sees the original (say,
// context.DeadlineExceeded), but errors.As and Unwrap do not, since they
// would let the unscrubbed text out.
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	if s := String(err.Error(), secrets...); s != err.Error() {
		return &redacted{msg: s, err: err}
	}
	return err
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }

func (r *redacted) Is(target error) bool { return errors.Is(r.err, target) }
