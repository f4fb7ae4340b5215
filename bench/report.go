package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Markdown writes the report's figures as Markdown tables.
func (r *Report) Markdown(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\n## Machine\n\n%d CPUs (nproc), %s, %s RAM, Linux %s, %s, %s\n",
		m.CPUs, m.CPUModel, m.MemTotal, m.Kernel, m.GoVersion, m.RedisServer)

	if len(r.Commands) > 0 {
		fmt.Fprintf(w, "\n## 1. Slack command answer latency (open loop, signed `/migrate status search`, loopback; per target %s measured, in two halves each after a %s warm-up, ordered floor, bot, serve, serve, bot, floor)\n\n", r.Options.Measure, r.Options.Warmup)
		fmt.Fprintln(w, "| rate | target | p50 | p99 | max | errors | p99 ÷ floor p99 | queued | workers' backlog after each half | server CPU per command | CPU (cores): server, loader, emulators, redis | other processes |")
		fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---|---:|")
		floorP99 := map[float64]time.Duration{}
		for _, c := range r.Commands {
			if c.Target == targetFloor {
				floorP99[c.Rate] = c.P99
			}
		}
		for _, c := range r.Commands {
			ratio := "—"
			if c.Target != targetFloor && floorP99[c.Rate] > 0 {
				ratio = fmt.Sprintf("%.2f×", float64(c.P99)/float64(floorP99[c.Rate]))
			}
			backlog := "—"
			if len(c.Backlogs) > 0 {
				var parts []string
				for _, b := range c.Backlogs {
					parts = append(parts, fmt.Sprintf("%.1f s", b.Seconds()))
				}
				backlog = strings.Join(parts, ", ")
			}
			queued := "—"
			if c.How != "" {
				queued = fmt.Sprintf("%d of %d %s", c.Queued, c.Sent, c.How)
			}
			fmt.Fprintf(w, "| %.0f/s | %s | %s | %s | %s | %d / %d | %s | %s | %s | %s | %.2f, %.2f, %.2f, %.2f | %.2f cores |\n",
				c.Rate, c.Target, ms(c.P50), ms(c.P99), ms(c.Max), c.Errors, c.Count, ratio, queued, backlog,
				us(c.CPU.PerRequest(c.Proc, c.Sent)), c.CPU.ByProc[c.Proc], c.CPU.ByProc["loader"], c.CPU.ByProc["emulators"], c.CPU.ByProc["redis"], c.CPU.Others)
		}
		for _, c := range r.Commands {
			if c.FirstError != nil {
				fmt.Fprintf(w, "\nFirst error of %s at %.0f/s: %v\n", c.Target, c.Rate, c.FirstError)
			}
		}
		fmt.Fprintln(w, "\nGoal p99 ≤ 2× floor:")
		for _, c := range r.Commands {
			if c.Target == targetFloor || floorP99[c.Rate] == 0 {
				continue
			}
			ok := c.P99 <= 2*floorP99[c.Rate] && c.Errors == 0
			fmt.Fprintf(w, "- %.0f/s, %s: %s\n", c.Rate, c.Target, metOrNot(ok))
		}
	}
	if len(r.Webhooks) > 0 {
		fmt.Fprintln(w, "\n## 2. Webhook intake, one replica, signed `pull_request` closed (28 KB), 30% redelivered")
		fmt.Fprintln(w, "\n| run | target | sent | distinct ids | deliveries/s | p50 | p99 | max | errors | answers | queue | exactly once | server CPU per delivery | server cores | loader cores | other processes |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|---:|---:|---:|---:|")
		for _, h := range r.Webhooks {
			fmt.Fprintf(w, "| %s | %s | %d | %d | %.0f | %s | %s | %s | %d | %s | %s | %s | %s | %.2f | %.2f | %.2f cores |\n",
				h.Name, h.Target, h.Sent, h.Distinct, h.PerSecond, ms(h.Latencies.P50), ms(h.Latencies.P99), ms(h.Latencies.Max),
				h.Latencies.Errors, answers(h.Answers), h.Queue, yesNo(h.ExactlyOnce),
				us(h.CPU.PerRequest(h.Proc, h.Sent)), h.CPU.ByProc[h.Proc], h.CPU.ByProc["loader"], h.CPU.Others)
		}
		for _, h := range r.Webhooks {
			if h.Latencies.FirstError != nil {
				fmt.Fprintf(w, "\nFirst error of %s (%s): %v\n", h.Name, h.Target, h.Latencies.FirstError)
			}
		}
		fmt.Fprintln(w, "\nGoal ≥ 2,000 deliveries/s (an open-loop run at 2,000/s answered with no errors and p99 under 1 s, i.e. the replica kept up), effects once:")
		for _, h := range r.Webhooks {
			cpu := h.CPU.PerRequest(h.Proc, h.Sent)
			est := "—"
			if cpu > 0 {
				est = fmt.Sprintf("%.0f/s", float64(r.Machine.CPUs)/cpu.Seconds())
			}
			verdict := "—"
			if strings.HasPrefix(h.Name, "open loop") {
				verdict = metOrNot(h.PerSecond >= 2000 && h.Latencies.Errors == 0 && h.Latencies.P99 < time.Second)
			}
			fmt.Fprintf(w, "- %s, %s: 2,000/s %s; exactly once: %s; server CPU %s per delivery, so %d cores of its own would answer about %s\n",
				h.Name, h.Target, verdict, yesNo(h.ExactlyOnce), us(cpu), r.Machine.CPUs, est)
		}
		fmt.Fprintf(w, "\nA redelivery arriving while the first delivery's sender gives up (replayed in-process: queueing slowed to 300 ms, the sender's timeout 100 ms): %s. Delivery lost: %s.\n",
			r.Race, yesNo(r.Race.Lost()))
	}
	if len(r.Startups) > 0 {
		fmt.Fprintln(w, "\n## 3. `migratebot serve`: startup to ready, memory")
		fmt.Fprintln(w, "\n| exec → first 200 from /readyz (median of 5) | min – max | VmRSS after 5 s idle | VmHWM idle | VmRSS after the command runs | VmRSS (VmHWM) after the webhook runs |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|")
		fmt.Fprintf(w, "| %s | %s – %s | %s | %s | %s | %s (%s) |\n",
			ms(Median(r.Startups)), ms(slices.Min(r.Startups)), ms(slices.Max(r.Startups)),
			mibOr(r.IdleMemory.RSS), mibOr(r.IdleMemory.HWM), mibOr(r.ServeAfterCommands.RSS), mibOr(r.ServeAfterWebhooks.RSS), mibOr(r.ServeAfterWebhooks.HWM))
	}
	if r.Bytes.N > 0 {
		b := r.Bytes
		fmt.Fprintf(w, "\n## 4. Redis bytes per migration (%d copies of a mid-flight migration through bot/redisstore)\n\n", b.N)
		fmt.Fprintf(w, "The migration: %d B of JSON, %d changes in history and one open, %d reviews, %d tickets.\n\n", b.JSONBytes, b.History, b.Reviews, b.Tickets)
		fmt.Fprintln(w, "| MEMORY USAGE of the migration's hash (mean of N) | encoding | used_memory delta ÷ N | created + saved in |")
		fmt.Fprintln(w, "|---:|---|---:|---:|")
		fmt.Fprintf(w, "| %.0f B | %s | %.0f B | %.1f s |\n", b.KeyBytes, b.Encoding, b.PerMigration, b.Took.Seconds())
		fmt.Fprintln(w, "\nEvery key the sandbox flow left in Redis at that point (one migration, 2 merged steps, 1 open):")
		fmt.Fprintln(w, "\n| key | count | MEMORY USAGE | expires after |")
		fmt.Fprintln(w, "|---|---:|---:|---|")
		for _, g := range r.MidFlightKeys {
			fmt.Fprintf(w, "| `%s` | %d | %d B | %s |\n", g.Pattern, g.Count, g.Bytes, g.TTL)
		}
		fmt.Fprintf(w, "\nWhat reads every active migration, with %d active:\n\n", b.N)
		fmt.Fprintln(w, "| operation | took | Redis round trips | |")
		fmt.Fprintln(w, "|---|---:|---:|---|")
		for _, s := range r.Scans {
			fmt.Fprintf(w, "| %s | %s | %d | %s |\n", s.What, ms(s.Took), s.RoundTrips, s.Note)
		}
	}
	if len(r.Steps) > 0 {
		fmt.Fprintln(w, "\n## 6. Outside calls in a sandbox flow (search: 3 weight steps, each approved, merged and summarised, then `/migrate health`)")
		fmt.Fprintln(w, "\n| step | chat.postMessage | chat.update | chat.postEphemeral | messages posted | updates of the step's message | updates of the plan message | other updates | other calls |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|")
		for _, s := range r.Steps {
			fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %d | %d | %s |\n", s.Step, s.PostMessage, s.Update, s.Ephemeral,
				s.Posted, s.StepUpdates, s.PlanUpdates, s.OtherUpdates, calls(s.Other))
		}
		h := r.Health
		fmt.Fprintf(w, "\nHealth summaries: %d (3 after merges, 1 on demand). AWS calls for them:\n\n", h.Summaries)
		fmt.Fprintln(w, "| operation | calls | per summary |")
		fmt.Fprintln(w, "|---|---:|---:|")
		for _, k := range slices.Sorted(maps.Keys(h.Calls)) {
			fmt.Fprintf(w, "| %s | %d | %.2f |\n", k, h.Calls[k], float64(h.Calls[k])/float64(max(h.Summaries, 1)))
		}
	}
}

func metOrNot(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

func answers(by map[int]int) string {
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(by)) {
		parts = append(parts, fmt.Sprintf("%d×%d", by[code], code))
	}
	return strings.Join(parts, ", ")
}

func calls(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, ", ")
}

// mibOr formats bytes in MiB, or a dash for nothing measured.
func mibOr(b int64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f MiB", mib(b))
}
