// Package bench measures migratebot the way an SRE running it would: how
// fast a replica answers Slack's commands under a fixed arrival rate, next
// to a bare net/http floor; how many GitHub deliveries a replica takes, with
// redeliveries, and that each is queued once; how fast `migratebot serve`
// starts and how much memory it holds; what a migration costs Redis; what
// the scheduler costs as timers pile up; and how many calls to Slack and AWS
// a migration's steps make. `./scripts/bench.sh` runs it all (see
// BENCHMARKS.md for the figures); nothing here asserts a timing in tests.
package bench
