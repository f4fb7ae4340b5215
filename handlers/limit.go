package handlers

import (
	"net/http"
	"time"
)

// Limiter bounds the requests the bot's POST endpoints serve at once, so a
// replica that falls behind answers some requests 503 instead of growing
// without bound until it is OOM-killed with its work in hand (each
// webhook's body is read whole: BENCHMARKS.md saw ~900 MiB when it fell
// behind). A request beyond the bound waits a moment for a slot, which
// absorbs bursts, then is shed: 503 with Retry-After. The health, ready
// and metrics endpoints are never held back.
type Limiter struct {
	slots chan struct{}
	wait  time.Duration
	// Shed, when set, is told of each request shed.
	Shed func(r *http.Request)
}

// NewLimiter lets n requests be served at once; one more waits up to wait
// for a slot.
func NewLimiter(n int, wait time.Duration) *Limiter {
	return &Limiter{slots: make(chan struct{}, max(n, 1)), wait: wait}
}

// InFlight is how many requests are being served now.
func (l *Limiter) InFlight() int { return len(l.slots) }

// Wrap serves next within the bound.
func (l *Limiter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.acquire(r) {
			if r.Context().Err() != nil {
				return // the caller went away while it waited
			}
			if l.Shed != nil {
				l.Shed(r)
			}
			w.Header().Set("Retry-After", "1")
			http.Error(w, "overloaded: too many requests in flight; try again in a moment", http.StatusServiceUnavailable)
			return
		}
		defer func() { <-l.slots }()
		next.ServeHTTP(w, r)
	})
}

// acquire takes a slot, waiting up to l.wait; it reports whether it got one.
func (l *Limiter) acquire(r *http.Request) bool {
	select {
	case l.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-r.Context().Done():
		return false
	}
}
