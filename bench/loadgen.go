package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Send sends the i-th request of a run and reports whether its answer was
// the expected one (an error otherwise).
type Send func(ctx context.Context, i int) error

// Latencies summarises one run's answer times.
type Latencies struct {
	// Count is how many requests were measured; Errors how many of them
	// failed (transport errors and unexpected answers).
	Count, Errors int
	P50, P99, Max time.Duration
	// FirstError is one error, to say what went wrong.
	FirstError error
}

func summarise(lat []time.Duration, errs []error) Latencies {
	s := Latencies{Count: len(lat)}
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	s.P50, s.P99 = Percentile(sorted, 50), Percentile(sorted, 99)
	if len(sorted) > 0 {
		s.Max = sorted[len(sorted)-1]
	}
	for _, err := range errs {
		if err != nil {
			s.Errors++
			if s.FirstError == nil {
				s.FirstError = err
			}
		}
	}
	return s
}

// Percentile returns the p-th percentile of sorted by the nearest-rank
// method: the smallest value with at least p% of the values at or below
// it. Zero for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// OpenLoopResult is what an open-loop run measured after its warm-up.
type OpenLoopResult struct {
	Rate     float64
	Duration time.Duration
	Latencies
	// MaxLate is how far behind its schedule the generator sent a request
	// (the machine's own scheduling delay); it is part of the latencies.
	MaxLate time.Duration
	// Sent counts every request, the warm-up's included.
	Sent int
	// samples and errs are the measured requests', for Merge.
	samples []time.Duration
	errs    []error
}

// Merge pools two runs at the same rate into one: their measured requests'
// latencies together, their durations and requests summed.
func (r OpenLoopResult) Merge(o OpenLoopResult) OpenLoopResult {
	m := OpenLoopResult{
		Rate: r.Rate, Duration: r.Duration + o.Duration, MaxLate: max(r.MaxLate, o.MaxLate), Sent: r.Sent + o.Sent,
		samples: append(slices.Clone(r.samples), o.samples...), errs: append(slices.Clone(r.errs), o.errs...),
	}
	m.Latencies = summarise(m.samples, m.errs)
	return m
}

// OpenLoop sends requests at a fixed arrival rate for warmup+measure,
// whatever the answers' speed: request i is due at start + i/rate and is sent
// then, on its own goroutine, however many requests are still waiting for
// their answer (as Slack or GitHub would send them). A request's latency runs
// from when it was due, not when it went out, so a generator or server that
// falls behind shows in the figures (no coordinated omission). Requests due
// during the warm-up are sent but not measured.
func OpenLoop(ctx context.Context, rate float64, warmup, measure time.Duration, send Send) OpenLoopResult {
	total := int(rate * (warmup + measure).Seconds())
	skip := int(rate * warmup.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]time.Duration, total)
	errs := make([]error, total)
	late := make([]time.Duration, total)
	var wg sync.WaitGroup
	start := time.Now().Add(5 * time.Millisecond)
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil {
			total = i
			break
		}
		late[i] = time.Since(due)
		wg.Go(func() {
			errs[i] = send(ctx, i)
			lat[i] = time.Since(due)
		})
	}
	wg.Wait()
	r := OpenLoopResult{Rate: rate, Duration: measure, Sent: total}
	if skip < total {
		r.samples, r.errs = lat[skip:total], errs[skip:total]
		r.Latencies = summarise(r.samples, r.errs)
		r.MaxLate = slices.Max(late[skip:total])
	}
	return r
}

// ClosedLoopResult is what a closed-loop run measured.
type ClosedLoopResult struct {
	Concurrency int
	Elapsed     time.Duration
	// Sent is how many requests were answered (or failed) in Elapsed.
	Sent int
	// PerSecond is Sent / Elapsed.
	PerSecond float64
	Latencies
}

// ClosedLoop has conc senders send requests 0, 1, 2 … back to back, each
// sending its next request when the last is answered, until n were sent or
// limit passed: the most the server answers with conc requests in flight.
func ClosedLoop(ctx context.Context, conc, n int, limit time.Duration, send Send) ClosedLoopResult {
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(limit)
	for range conc {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t := time.Now()
				errs[i] = send(ctx, i)
				lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	sent := min(int(next.Load()), n)
	return ClosedLoopResult{
		Concurrency: conc, Elapsed: elapsed, Sent: sent,
		PerSecond: float64(sent) / elapsed.Seconds(),
		Latencies: summarise(lat[:sent], errs[:sent]),
	}
}

// ms formats a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
